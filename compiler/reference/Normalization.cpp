// Reference batch_norm (inference form, channel on dimension 1) and softmax along one axis.
#include "compiler/reference/Kernels.h"

#include <cmath>

namespace kiln::reference {

namespace {
/// Product of shape[begin, end).
int64_t extent(const std::vector<int64_t> &shape, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t i = begin; i < end; ++i)
    p *= shape[i];
  return p;
}
} // namespace

HostTensor batchNorm(const HostTensor &input, const HostTensor &scale, const HostTensor &shift,
                     const HostTensor &mean, const HostTensor &variance, double epsilon) {
  const int64_t N = input.shape[0], C = input.shape[1];
  const int64_t inner = extent(input.shape, 2, input.shape.size());
  HostTensor out(input.shape);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c) {
      const double invStd = 1.0 / std::sqrt(double(variance.data[c]) + epsilon);
      for (int64_t i = 0; i < inner; ++i) {
        const int64_t at = (n * C + c) * inner + i;
        const double normalized = (double(input.data[at]) - mean.data[c]) * invStd;
        out.data[at] = static_cast<float>(normalized * scale.data[c] + shift.data[c]);
      }
    }
  return out;
}

HostTensor softmax(const HostTensor &input, int64_t axis) {
  const int64_t outer = extent(input.shape, 0, axis), len = input.shape[axis];
  const int64_t inner = extent(input.shape, axis + 1, input.shape.size());
  HostTensor out(input.shape);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      auto at = [&](int64_t k) { return (o * len + k) * inner + i; };
      double maxValue = input.data[at(0)]; // subtracted first so large inputs cannot overflow exp
      for (int64_t k = 1; k < len; ++k)
        maxValue = std::max(maxValue, double(input.data[at(k)]));
      double sum = 0.0;
      for (int64_t k = 0; k < len; ++k)
        sum += std::exp(double(input.data[at(k)]) - maxValue);
      for (int64_t k = 0; k < len; ++k)
        out.data[at(k)] = static_cast<float>(std::exp(double(input.data[at(k)]) - maxValue) / sum);
    }
  return out;
}

} // namespace kiln::reference
