// Reference losses and their gradients: mean softmax cross-entropy against class indices and mean
// squared error, in double.
#include "compiler/reference/TrainingKernels.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

namespace kiln::reference {
namespace {

/// The class index of sample n (labels hold them as floats).
int64_t labelOf(const HostTensor &labels, int64_t n) { return static_cast<int64_t>(labels.data[n]); }

struct RowSoftmax {
  std::vector<double> probabilities;
  double logSumExp;
};

/// softmax and logsumexp of logits[n, :] in double, the maximum subtracted first so exp cannot
/// overflow.
RowSoftmax softmaxRow(const HostTensor &logits, int64_t n) {
  const int64_t K = logits.shape[1];
  const float *row = &logits.data[n * K];
  const double maxValue = *std::max_element(row, row + K);
  std::vector<double> p(static_cast<size_t>(K));
  double sum = 0.0;
  for (int64_t k = 0; k < K; ++k)
    sum += p[k] = std::exp(double(row[k]) - maxValue);
  for (double &v : p)
    v /= sum;
  return {std::move(p), maxValue + std::log(sum)};
}

HostTensor scalar(double value) {
  HostTensor out({1});
  out.data[0] = static_cast<float>(value);
  return out;
}

} // namespace

HostTensor softmaxCrossEntropy(const HostTensor &logits, const HostTensor &labels) {
  const int64_t N = logits.shape[0], K = logits.shape[1];
  double total = 0.0;
  for (int64_t n = 0; n < N; ++n) {
    total += softmaxRow(logits, n).logSumExp - double(logits.data[n * K + labelOf(labels, n)]);
  }
  return scalar(total / double(N));
}

HostTensor softmaxCrossEntropyGrad(const HostTensor &logits, const HostTensor &labels) {
  const int64_t N = logits.shape[0], K = logits.shape[1];
  HostTensor out(logits.shape);
  for (int64_t n = 0; n < N; ++n) {
    std::vector<double> p = softmaxRow(logits, n).probabilities;
    p[labelOf(labels, n)] -= 1.0;
    for (int64_t k = 0; k < K; ++k)
      out.data[n * K + k] = static_cast<float>(p[k] / double(N));
  }
  return out;
}

HostTensor mseLoss(const HostTensor &prediction, const HostTensor &target) {
  double total = 0.0;
  for (int64_t i = 0; i < prediction.size(); ++i) {
    const double diff = double(prediction.data[i]) - double(target.data[i]);
    total += diff * diff;
  }
  return scalar(total / double(prediction.size()));
}

HostTensor mseLossGrad(const HostTensor &prediction, const HostTensor &target) {
  HostTensor out(prediction.shape);
  for (int64_t i = 0; i < prediction.size(); ++i)
    out.data[i] = static_cast<float>(2.0 * (double(prediction.data[i]) - double(target.data[i])) /
                                     double(prediction.size()));
  return out;
}

} // namespace kiln::reference
