// Reference backward rules of max_pool2d, avg_pool2d and global_avg_pool: each output cell's
// gradient scattered back over the cells of its window (PoolWindow.h, the forward's windows).
#include "compiler/reference/PoolWindow.h"
#include "compiler/reference/TrainingKernels.h"

#include <cmath>
#include <vector>

namespace kiln::reference {
namespace {

/// Calls `scatter(plane, oh, ow, dy, acc)` for every cell of `gradOutput`, where `plane` is the
/// index of its (n, c) plane and `acc` the H * W double accumulators of that plane of the input
/// gradient [N, C, H, W], which it returns.
template <typename Scatter>
HostTensor scatterPoolGrad(const HostTensor &gradOutput, llvm::ArrayRef<int64_t> inputShape, Scatter scatter) {
  const int64_t NC = inputShape[0] * inputShape[1], HW = inputShape[2] * inputShape[3];
  const int64_t OH = gradOutput.shape[2], OW = gradOutput.shape[3];
  std::vector<double> acc(static_cast<size_t>(NC * HW), 0.0);
  for (int64_t plane = 0; plane < NC; ++plane)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow)
        scatter(plane, oh, ow, double(gradOutput.data[(plane * OH + oh) * OW + ow]), &acc[plane * HW]);
  HostTensor out(std::vector<int64_t>(inputShape.begin(), inputShape.end()));
  for (size_t i = 0; i < acc.size(); ++i)
    out.data[i] = static_cast<float>(acc[i]);
  return out;
}

} // namespace

HostTensor maxPool2dGrad(const HostTensor &input, const HostTensor &gradOutput, llvm::ArrayRef<int64_t> kernel,
                         llvm::ArrayRef<int64_t> strides, llvm::ArrayRef<int64_t> padding) {
  const int64_t H = input.shape[2], W = input.shape[3];
  return scatterPoolGrad(gradOutput, input.shape, [&](int64_t plane, int64_t oh, int64_t ow, double dy, double *acc) {
    // The first cell holding the window's maximum, a NaN counting as the maximum (as the forward).
    const float *x = &input.data[plane * H * W];
    int64_t argmax = -1;
    forWindowCells(H, W, oh, ow, kernel, strides, padding, [&](int64_t at) {
      if (argmax < 0 || (!std::isnan(x[argmax]) && (x[at] > x[argmax] || std::isnan(x[at]))))
        argmax = at;
    });
    if (argmax >= 0)
      acc[argmax] += dy;
  });
}

HostTensor avgPool2dGrad(const HostTensor &gradOutput, llvm::ArrayRef<int64_t> inputShape,
                         llvm::ArrayRef<int64_t> kernel, llvm::ArrayRef<int64_t> strides,
                         llvm::ArrayRef<int64_t> padding, bool countIncludePad) {
  const int64_t H = inputShape[2], W = inputShape[3];
  return scatterPoolGrad(gradOutput, inputShape, [&](int64_t, int64_t oh, int64_t ow, double dy, double *acc) {
    const int64_t divisor = avgPoolDivisor(H, W, oh, ow, kernel, strides, padding, countIncludePad);
    if (divisor == 0)
      return;
    forWindowCells(H, W, oh, ow, kernel, strides, padding, [&](int64_t at) { acc[at] += dy / double(divisor); });
  });
}

HostTensor globalAvgPoolGrad(const HostTensor &gradOutput, llvm::ArrayRef<int64_t> inputShape) {
  const int64_t HW = inputShape[2] * inputShape[3];
  HostTensor out(std::vector<int64_t>(inputShape.begin(), inputShape.end()));
  for (int64_t i = 0; i < out.size(); ++i)
    out.data[i] = static_cast<float>(double(gradOutput.data[i / HW]) / double(HW));
  return out;
}

} // namespace kiln::reference
