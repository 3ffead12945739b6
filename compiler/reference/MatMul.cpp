// Reference nn.matmul: a plain triple loop per batch element, the batch dimensions broadcast,
// accumulated in double.
#include "compiler/reference/Indexing.h"
#include "compiler/reference/Kernels.h"

#include "kiln/Dialect/NN/ShapeRules.h"

namespace kiln::reference {

HostTensor matmul(const HostTensor &lhs, const HostTensor &rhs) {
  std::string why;
  nn::Shape shape = *nn::inferMatMulShape(lhs.shape, rhs.shape, why);
  HostTensor out(std::vector<int64_t>(shape.begin(), shape.end()));
  const int64_t M = lhs.shape[lhs.shape.size() - 2], K = lhs.shape.back(), N = rhs.shape.back();
  const std::vector<int64_t> batch(shape.begin(), shape.end() - 2);
  const std::vector<int64_t> lhsBatch(lhs.shape.begin(), lhs.shape.end() - 2),
      rhsBatch(rhs.shape.begin(), rhs.shape.end() - 2);
  forEachIndex(batch, [&](const std::vector<int64_t> &index, int64_t b) {
    const float *a = lhs.data.data() + broadcastOffset(lhsBatch, index) * M * K;
    const float *c = rhs.data.data() + broadcastOffset(rhsBatch, index) * K * N;
    float *y = out.data.data() + b * M * N;
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        double total = 0.0;
        for (int64_t k = 0; k < K; ++k)
          total += double(a[m * K + k]) * double(c[k * N + n]);
        y[m * N + n] = static_cast<float>(total);
      }
  });
  return out;
}

} // namespace kiln::reference
