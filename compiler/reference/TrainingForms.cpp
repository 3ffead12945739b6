// Reference kernels of the training-mode forms and small backward rules: activation_grad,
// dropout_train, batch_norm_train and its gradients, running_stat_update, and the gradients
// of slice and of nn.unary.
#include "compiler/reference/TrainingKernels.h"
#include "compiler/reference/Indexing.h"
#include "compiler/reference/Kernels.h"

#include "kiln/Dialect/NN/DropoutHash.h"

#include "llvm/Support/ErrorHandling.h"

#include <cmath>
#include <vector>

namespace kiln::reference {
namespace {

/// The channel (dimension 1) of flat index i of an [N, C, ...] tensor.
int64_t channelOf(const HostTensor &t, int64_t i) {
  const int64_t C = t.shape[1], inner = t.size() / (t.shape[0] * C);
  return (i / inner) % C;
}

/// The batch's statistics per channel: over every dimension but 1, `count` values each.
struct ChannelStatistics {
  std::vector<double> mean, variance; ///< variance is the biased one
  int64_t count;

  double inverseStd(int64_t c, double epsilon) const { return 1.0 / std::sqrt(variance[c] + epsilon); }
};

ChannelStatistics channelStatistics(const HostTensor &input) {
  const int64_t C = input.shape[1];
  ChannelStatistics stats{std::vector<double>(C, 0.0), std::vector<double>(C, 0.0), input.size() / C};
  for (int64_t i = 0; i < input.size(); ++i)
    stats.mean[channelOf(input, i)] += input.data[i];
  for (double &m : stats.mean)
    m /= double(stats.count);
  for (int64_t i = 0; i < input.size(); ++i) {
    const double centered = input.data[i] - stats.mean[channelOf(input, i)];
    stats.variance[channelOf(input, i)] += centered * centered;
  }
  for (double &v : stats.variance)
    v /= double(stats.count);
  return stats;
}

/// The per-channel means of dy and of dy * xhat (xhat the normalised input), batch_norm_grad_input's
/// two reductions.
struct GradMeans {
  std::vector<double> gradOutput, gradOutputTimesNormalized;
};

GradMeans gradMeans(const HostTensor &input, const ChannelStatistics &stats, const HostTensor &gradOutput,
                    double epsilon) {
  const int64_t C = input.shape[1];
  GradMeans means{std::vector<double>(C, 0.0), std::vector<double>(C, 0.0)};
  for (int64_t i = 0; i < input.size(); ++i) {
    const int64_t c = channelOf(input, i);
    const double normalized = (input.data[i] - stats.mean[c]) * stats.inverseStd(c, epsilon);
    means.gradOutput[c] += gradOutput.data[i];
    means.gradOutputTimesNormalized[c] += gradOutput.data[i] * normalized;
  }
  for (int64_t c = 0; c < C; ++c) {
    means.gradOutput[c] /= double(stats.count);
    means.gradOutputTimesNormalized[c] /= double(stats.count);
  }
  return means;
}

/// d activation / dx as a function of the activation's output y.
double activationDerivative(llvm::StringRef activation, double alpha, double y) {
  if (activation == "relu")
    return y > 0.0 ? 1.0 : 0.0;
  if (activation == "leaky_relu")
    return y > 0.0 ? 1.0 : alpha;
  if (activation == "tanh")
    return 1.0 - y * y;
  if (activation == "sigmoid")
    return y * (1.0 - y);
  llvm_unreachable("the verifier accepts relu, leaky_relu, tanh and sigmoid only");
}

} // namespace

HostTensor activationGrad(const HostTensor &output, const HostTensor &gradOutput, llvm::StringRef activation,
                          double alpha) {
  HostTensor out(output.shape);
  for (int64_t i = 0; i < out.size(); ++i)
    out.data[i] = static_cast<float>(gradOutput.data[i] * activationDerivative(activation, alpha, output.data[i]));
  return out;
}

HostTensor dropoutTrain(const HostTensor &input, const HostTensor &hyper, float rate, int64_t seed) {
  const uint32_t step = static_cast<uint32_t>(hyper.data[1]);
  HostTensor out(input.shape);
  for (int64_t i = 0; i < out.size(); ++i)
    if (nn::dropoutKeeps(step, static_cast<uint32_t>(seed), static_cast<uint32_t>(i), rate))
      out.data[i] = static_cast<float>(double(input.data[i]) / (1.0 - double(rate)));
  return out;
}

HostTensor batchNormTrain(const HostTensor &input, const HostTensor &scale, const HostTensor &shift, double epsilon) {
  const ChannelStatistics stats = channelStatistics(input);
  HostTensor out(input.shape);
  for (int64_t i = 0; i < out.size(); ++i) {
    const int64_t c = channelOf(input, i);
    const double normalized = (input.data[i] - stats.mean[c]) * stats.inverseStd(c, epsilon);
    out.data[i] = static_cast<float>(normalized * scale.data[c] + shift.data[c]);
  }
  return out;
}

HostTensor batchNormGradInput(const HostTensor &input, const HostTensor &scale, const HostTensor &gradOutput,
                              double epsilon) {
  const ChannelStatistics stats = channelStatistics(input);
  const GradMeans means = gradMeans(input, stats, gradOutput, epsilon);
  HostTensor out(input.shape);
  for (int64_t i = 0; i < out.size(); ++i) {
    const int64_t c = channelOf(input, i);
    const double inverseStd = stats.inverseStd(c, epsilon);
    const double normalized = (input.data[i] - stats.mean[c]) * inverseStd;
    out.data[i] = static_cast<float>(scale.data[c] * inverseStd *
                                     (gradOutput.data[i] - means.gradOutput[c] -
                                      normalized * means.gradOutputTimesNormalized[c]));
  }
  return out;
}

HostTensor batchNormGradScale(const HostTensor &input, const HostTensor &gradOutput, double epsilon) {
  const ChannelStatistics stats = channelStatistics(input);
  const GradMeans means = gradMeans(input, stats, gradOutput, epsilon);
  HostTensor out({input.shape[1]});
  for (int64_t c = 0; c < out.size(); ++c)
    out.data[c] = static_cast<float>(means.gradOutputTimesNormalized[c] * double(stats.count));
  return out;
}

HostTensor runningStatUpdate(const HostTensor &running, const HostTensor &input, double momentum,
                             llvm::StringRef statistic) {
  const ChannelStatistics stats = channelStatistics(input);
  const double besselCorrection = double(stats.count) / double(stats.count - 1);
  HostTensor out(running.shape);
  for (int64_t c = 0; c < out.size(); ++c) {
    const double batchValue = statistic == "mean" ? stats.mean[c] : stats.variance[c] * besselCorrection;
    out.data[c] = static_cast<float>((1.0 - momentum) * running.data[c] + momentum * batchValue);
  }
  return out;
}

HostTensor sliceGrad(const HostTensor &gradOutput, llvm::ArrayRef<int64_t> starts, llvm::ArrayRef<int64_t> steps,
                     llvm::ArrayRef<int64_t> inputShape) {
  HostTensor out(std::vector<int64_t>(inputShape.begin(), inputShape.end()));
  const std::vector<int64_t> strides = stridesOf(out.shape);
  forEachIndex(gradOutput.shape, [&](const std::vector<int64_t> &index, int64_t i) {
    int64_t to = 0;
    for (size_t d = 0; d < index.size(); ++d)
      to += (starts[d] + index[d] * steps[d]) * strides[d];
    out.data[to] = gradOutput.data[i];
  });
  return out;
}

HostTensor unaryGrad(const HostTensor &input, const HostTensor &gradOutput, llvm::StringRef fn, double alpha,
                     double beta) {
  HostTensor out(input.shape);
  for (int64_t i = 0; i < out.size(); ++i)
    out.data[i] = static_cast<float>(gradOutput.data[i] * unaryDerivative(fn, input.data[i], alpha, beta));
  return out;
}

} // namespace kiln::reference
