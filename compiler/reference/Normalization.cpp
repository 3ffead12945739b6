// Reference batch_norm (inference form, channel on dimension 1), softmax and log_softmax along one
// axis, and lrn (across channels).
#include "compiler/reference/Kernels.h"

#include <algorithm>
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

namespace {
/// softmax (or its log) along `axis`, with the maximum subtracted first so exp cannot overflow.
HostTensor softmaxImpl(const HostTensor &input, int64_t axis, bool log) {
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
      const double logSum = std::log(sum);
      for (int64_t k = 0; k < len; ++k) {
        const double shifted = double(input.data[at(k)]) - maxValue;
        out.data[at(k)] = static_cast<float>(log ? shifted - logSum : std::exp(shifted) / sum);
      }
    }
  return out;
}
} // namespace

HostTensor softmax(const HostTensor &input, int64_t axis) { return softmaxImpl(input, axis, false); }

HostTensor logSoftmax(const HostTensor &input, int64_t axis) { return softmaxImpl(input, axis, true); }

HostTensor lrn(const HostTensor &input, int64_t size, double alpha, double beta, double bias) {
  const int64_t N = input.shape[0], C = input.shape[1], HW = input.shape[2] * input.shape[3];
  const int64_t before = (size - 1) / 2, after = size - 1 - before;
  HostTensor out(input.shape);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < HW; ++i) {
        double squares = 0.0;
        for (int64_t k = std::max<int64_t>(0, c - before); k <= std::min(C - 1, c + after); ++k) {
          const double x = input.data[(n * C + k) * HW + i];
          squares += x * x;
        }
        const int64_t at = (n * C + c) * HW + i;
        out.data[at] = static_cast<float>(input.data[at] / std::pow(bias + alpha / double(size) * squares, beta));
      }
  return out;
}

} // namespace kiln::reference
