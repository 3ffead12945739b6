// The window of one 2-D pooling output cell and avg_pool2d's divisor, shared by the pools
// (Pooling.cpp) and their gradients (PoolingGrad.cpp) so both read exactly the same cells.
#ifndef KILN_REFERENCE_POOLWINDOW_H
#define KILN_REFERENCE_POOLWINDOW_H

#include "llvm/ADT/ArrayRef.h"

#include <algorithm>
#include <cstdint>

namespace kiln::reference {

/// Calls `visit(ih * W + iw)` for each in-bounds cell of the window of output (oh, ow) over an
/// H x W plane, in row-major window order; padded cells are skipped.
template <typename Visit>
void forWindowCells(int64_t H, int64_t W, int64_t oh, int64_t ow, llvm::ArrayRef<int64_t> kernel,
                    llvm::ArrayRef<int64_t> strides, llvm::ArrayRef<int64_t> padding, Visit visit) {
  for (int64_t kh = 0; kh < kernel[0]; ++kh)
    for (int64_t kw = 0; kw < kernel[1]; ++kw) {
      const int64_t ih = oh * strides[0] - padding[0] + kh;
      const int64_t iw = ow * strides[1] - padding[1] + kw;
      if (ih >= 0 && ih < H && iw >= 0 && iw < W)
        visit(ih * W + iw);
    }
}

/// What avg_pool2d divides the window sum of output (oh, ow) by: with count_include_pad, the
/// window's cells inside input + padding (PyTorch: all KH * KW except where a ceil_mode window runs
/// past the bottom/right padding); otherwise its in-bounds cells.
inline int64_t avgPoolDivisor(int64_t H, int64_t W, int64_t oh, int64_t ow, llvm::ArrayRef<int64_t> kernel,
                              llvm::ArrayRef<int64_t> strides, llvm::ArrayRef<int64_t> padding,
                              bool countIncludePad) {
  const int64_t top = oh * strides[0] - padding[0], left = ow * strides[1] - padding[1];
  if (countIncludePad)
    return (std::min(top + kernel[0], H + padding[2]) - top) * (std::min(left + kernel[1], W + padding[3]) - left);
  const int64_t rows = std::min(top + kernel[0], H) - std::max<int64_t>(top, 0);
  const int64_t cols = std::min(left + kernel[1], W) - std::max<int64_t>(left, 0);
  return std::max<int64_t>(rows, 0) * std::max<int64_t>(cols, 0);
}

} // namespace kiln::reference

#endif
