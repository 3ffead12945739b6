// Reference max, average, global average and global max pooling over NCHW inputs (ceil_mode too).
#include "compiler/reference/Kernels.h"
#include "compiler/reference/PoolWindow.h"

#include "kiln/Dialect/NN/ShapeRules.h"

#include <cmath>
#include <limits>

namespace kiln::reference {
namespace {

/// Applies `reduce(plane, oh, ow)` to every output cell of a pooling with the given window.
template <typename Reduce>
HostTensor pool(const HostTensor &input, llvm::ArrayRef<int64_t> kernel, llvm::ArrayRef<int64_t> strides,
                llvm::ArrayRef<int64_t> padding, bool ceilMode, Reduce reduce) {
  const int64_t N = input.shape[0], C = input.shape[1], H = input.shape[2], W = input.shape[3];
  const int64_t OH = nn::poolOutputSize(H, kernel[0], strides[0], padding[0], padding[2], ceilMode);
  const int64_t OW = nn::poolOutputSize(W, kernel[1], strides[1], padding[1], padding[3], ceilMode);
  HostTensor out({N, C, OH, OW});
  for (int64_t nc = 0; nc < N * C; ++nc)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow)
        out.data[(nc * OH + oh) * OW + ow] = static_cast<float>(reduce(&input.data[nc * H * W], H, W, oh, ow));
  return out;
}

} // namespace

HostTensor maxPool2d(const HostTensor &input, llvm::ArrayRef<int64_t> kernel, llvm::ArrayRef<int64_t> strides,
                     llvm::ArrayRef<int64_t> padding, bool ceilMode) {
  return pool(input, kernel, strides, padding, ceilMode, [&](const float *plane, int64_t H, int64_t W, int64_t oh, int64_t ow) {
    // NaN wins (as in PyTorch); a window wholly in the padding (which the shape rules should
    // exclude) gives -inf.
    double best = -std::numeric_limits<double>::infinity();
    forWindowCells(H, W, oh, ow, kernel, strides, padding, [&](int64_t at) {
      const double x = plane[at];
      if (x > best || std::isnan(x))
        best = x;
    });
    return best;
  });
}

HostTensor avgPool2d(const HostTensor &input, llvm::ArrayRef<int64_t> kernel, llvm::ArrayRef<int64_t> strides,
                     llvm::ArrayRef<int64_t> padding, bool countIncludePad, bool ceilMode) {
  return pool(input, kernel, strides, padding, ceilMode,
              [&](const float *plane, int64_t H, int64_t W, int64_t oh, int64_t ow) {
    double sum = 0.0;
    forWindowCells(H, W, oh, ow, kernel, strides, padding, [&](int64_t at) { sum += plane[at]; });
    const int64_t divisor = avgPoolDivisor(H, W, oh, ow, kernel, strides, padding, countIncludePad);
    return divisor == 0 ? 0.0 : sum / double(divisor);
  });
}

HostTensor globalAvgPool(const HostTensor &input) {
  const int64_t N = input.shape[0], C = input.shape[1], HW = input.shape[2] * input.shape[3];
  HostTensor out({N, C, 1, 1});
  for (int64_t nc = 0; nc < N * C; ++nc) {
    double sum = 0.0;
    for (int64_t i = 0; i < HW; ++i)
      sum += input.data[nc * HW + i];
    out.data[nc] = static_cast<float>(sum / double(HW));
  }
  return out;
}

HostTensor globalMaxPool(const HostTensor &input) {
  const int64_t N = input.shape[0], C = input.shape[1], HW = input.shape[2] * input.shape[3];
  HostTensor out({N, C, 1, 1});
  for (int64_t nc = 0; nc < N * C; ++nc) {
    double best = input.data[nc * HW];
    for (int64_t i = 1; i < HW; ++i) {
      const double x = input.data[nc * HW + i];
      if (x > best || std::isnan(x))
        best = x;
    }
    out.data[nc] = static_cast<float>(best);
  }
  return out;
}

} // namespace kiln::reference
