// Reference max, average, global average and global max pooling over NCHW inputs (ceil_mode too).
#include "compiler/reference/Kernels.h"

#include "kiln/Dialect/NN/ShapeRules.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace kiln::reference {
namespace {

/// Calls `visit(value)` for each in-bounds cell of the window of output (oh, ow) in plane `plane`
/// (the H x W values of one n, c); padded cells are skipped.
template <typename Visit>
void forWindow(const float *plane, int64_t H, int64_t W, int64_t oh, int64_t ow, llvm::ArrayRef<int64_t> kernel,
               llvm::ArrayRef<int64_t> strides, llvm::ArrayRef<int64_t> padding, Visit visit) {
  for (int64_t kh = 0; kh < kernel[0]; ++kh)
    for (int64_t kw = 0; kw < kernel[1]; ++kw) {
      const int64_t ih = oh * strides[0] - padding[0] + kh;
      const int64_t iw = ow * strides[1] - padding[1] + kw;
      if (ih >= 0 && ih < H && iw >= 0 && iw < W)
        visit(double(plane[ih * W + iw]));
    }
}

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
    forWindow(plane, H, W, oh, ow, kernel, strides, padding, [&](double x) {
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
    int64_t inBounds = 0;
    forWindow(plane, H, W, oh, ow, kernel, strides, padding, [&](double x) {
      sum += x;
      ++inBounds;
    });
    // count_include_pad counts the window's cells inside input + padding (PyTorch): all KH * KW
    // except where a ceil_mode window runs past the bottom/right padding.
    const int64_t top = oh * strides[0] - padding[0], left = ow * strides[1] - padding[1];
    const int64_t rows = std::min(top + kernel[0], H + padding[2]) - top;
    const int64_t cols = std::min(left + kernel[1], W + padding[3]) - left;
    const int64_t divisor = countIncludePad ? rows * cols : inBounds;
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
