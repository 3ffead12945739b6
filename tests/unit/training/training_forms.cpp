// Tests the training-form kernels: activation_grad per activation, batch_norm_train's gradients
// (input, scale, shift) and slice as concat's backward against central differences, and
// batch_norm_train and running_stat_update against formulas written out here.
#include "GradientCheck.h"
#include "run_model.h"

#include "compiler/reference/Kernels.h"
#include "compiler/reference/TrainingKernels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <utility>

using namespace kiln;
using namespace kiln::reference;
using namespace kiln::test;

namespace {

struct ActivationCase {
  std::string name;
  double (*apply)(double x, double alpha);

  friend void PrintTo(const ActivationCase &c, std::ostream *os) { *os << c.name; }
};

class ActivationGrad : public ::testing::TestWithParam<ActivationCase> {};

TEST_P(ActivationGrad, MatchesFiniteDifferences) {
  const ActivationCase &c = GetParam();
  const double alpha = 0.1;
  std::mt19937 rng(static_cast<unsigned>(std::hash<std::string>{}(c.name)));
  // |x| >= 0.1 keeps relu's and leaky_relu's kinks out of reach of a 0.01 step.
  const HostTensor x = scaled(randomAwayFromZero({3, 4, 5, 3}, rng, 0.05), 2.0);
  auto forward = [&](const HostTensor &input) { return map(input, [&](double v) { return c.apply(v, alpha); }); };
  auto backward = [&](const HostTensor &dy) { return activationGrad(forward(x), dy, c.name, alpha); };
  EXPECT_LE(gradientError(forward, backward, x, rng, kSmooth, x.size()), kSmooth.tolerance);
}

INSTANTIATE_TEST_SUITE_P(
    Activations, ActivationGrad,
    ::testing::Values(ActivationCase{"relu", [](double x, double) { return relu(x); }},
                      ActivationCase{"leaky_relu", [](double x, double alpha) { return leakyRelu(x, alpha); }},
                      ActivationCase{"tanh", [](double x, double) { return std::tanh(x); }},
                      ActivationCase{"sigmoid", [](double x, double) { return sigmoid(x); }}),
    [](const ::testing::TestParamInfo<ActivationCase> &info) { return info.param.name; });

class BatchNormTrainGrad : public ::testing::TestWithParam<std::vector<int64_t>> {
protected:
  const std::vector<int64_t> &shape = GetParam();
  std::mt19937 rng{static_cast<unsigned>(HostTensor::numElements(shape))};
  const double epsilon = 1e-5;
  HostTensor x = randomTensor(shape, rng, -2.0, 3.0);
  HostTensor scale = randomTensor({shape[1]}, rng, 0.5, 1.5);
  HostTensor shift = randomTensor({shape[1]}, rng);
};

TEST_P(BatchNormTrainGrad, InputGradientMatchesFiniteDifferences) {
  auto forward = [&](const HostTensor &input) { return batchNormTrain(input, scale, shift, epsilon); };
  auto backward = [&](const HostTensor &dy) { return batchNormGradInput(x, scale, dy, epsilon); };
  EXPECT_LE(gradientError(forward, backward, x, rng, kSmooth), kSmooth.tolerance);
}

TEST_P(BatchNormTrainGrad, ScaleGradientMatchesFiniteDifferences) {
  auto forward = [&](const HostTensor &g) { return batchNormTrain(x, g, shift, epsilon); };
  auto backward = [&](const HostTensor &dy) { return batchNormGradScale(x, dy, epsilon); };
  EXPECT_LE(gradientError(forward, backward, scale, rng, kLinear), kLinear.tolerance);
}

TEST_P(BatchNormTrainGrad, ShiftGradientIsBiasGrad) {
  auto forward = [&](const HostTensor &b) { return batchNormTrain(x, scale, b, epsilon); };
  EXPECT_LE(gradientError(forward, biasGrad, shift, rng, kLinear), kLinear.tolerance);
}

INSTANTIATE_TEST_SUITE_P(Shapes, BatchNormTrainGrad,
                         ::testing::Values(std::vector<int64_t>{5, 3}, std::vector<int64_t>{1, 2, 5, 7},
                                           std::vector<int64_t>{3, 4, 3, 5}));

/// Per channel of an [N, C, ...] tensor: the mean and the biased variance, by two passes.
std::pair<std::vector<double>, std::vector<double>> meanAndVariance(const HostTensor &x) {
  const int64_t C = x.shape[1], inner = x.size() / (x.shape[0] * C);
  std::vector<double> mean(C, 0.0), variance(C, 0.0);
  const double count = double(x.shape[0] * inner);
  for (int64_t n = 0; n < x.shape[0]; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < inner; ++i)
        mean[c] += x.data[(n * C + c) * inner + i] / count;
  for (int64_t n = 0; n < x.shape[0]; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < inner; ++i)
        variance[c] += std::pow(x.data[(n * C + c) * inner + i] - mean[c], 2) / count;
  return {mean, variance};
}

TEST(BatchNormTrain, NormalisesWithTheBatchStatistics) {
  std::mt19937 rng(21);
  const HostTensor x = randomTensor({3, 2, 3, 5}, rng, -1.0, 4.0);
  const HostTensor scale = tensor({2}, {2.0f, 0.5f}), shift = tensor({2}, {1.0f, -1.0f});
  const auto [mean, variance] = meanAndVariance(x);
  const HostTensor y = batchNormTrain(x, scale, shift, 1e-5);
  for (int64_t i = 0; i < x.size(); ++i) {
    const int64_t c = (i / (3 * 5)) % 2; // 3 x 5 values per (n, c)
    const double expected = (x.data[i] - mean[c]) / std::sqrt(variance[c] + 1e-5) * scale.data[c] + shift.data[c];
    EXPECT_NEAR(y.data[i], expected, 1e-5) << "at " << i;
  }
}

TEST(RunningStatUpdate, BlendsTheBatchMeanAndUnbiasedVariance) {
  std::mt19937 rng(22);
  const HostTensor x = randomTensor({3, 2, 1, 5}, rng, -1.0, 4.0);
  const HostTensor running = tensor({2}, {0.5f, 2.0f});
  const auto [mean, variance] = meanAndVariance(x);
  const double momentum = 0.1, count = 3 * 5; // values per channel
  const HostTensor newMean = runningStatUpdate(running, x, momentum, "mean");
  const HostTensor newVariance = runningStatUpdate(running, x, momentum, "var");
  for (int64_t c = 0; c < 2; ++c) {
    EXPECT_NEAR(newMean.data[c], (1 - momentum) * running.data[c] + momentum * mean[c], 1e-6);
    EXPECT_NEAR(newVariance.data[c],
                (1 - momentum) * running.data[c] + momentum * variance[c] * count / (count - 1.0), 1e-6);
  }
}

TEST(Slice, IsConcatsBackwardAlongEveryAxis) {
  std::mt19937 rng(23);
  for (int64_t axis = 0; axis < 4; ++axis) {
    std::vector<int64_t> shape{2, 3, 5, 3};
    std::vector<HostTensor> parts;
    std::vector<int64_t> starts;
    int64_t start = 0;
    for (int64_t size : {1, 3, 2}) {
      shape[axis] = size;
      parts.push_back(randomTensor(shape, rng));
      starts.push_back(start);
      start += size;
    }
    for (size_t part = 0; part < parts.size(); ++part) {
      auto forward = [&](const HostTensor &p) {
        std::vector<const HostTensor *> inputs{&parts[0], &parts[1], &parts[2]};
        inputs[part] = &p;
        return concat(inputs, axis);
      };
      auto backward = [&](const HostTensor &dy) {
        std::vector<int64_t> from(dy.shape.size(), 0), steps(dy.shape.size(), 1);
        from[axis] = starts[part];
        return slice(dy, from, steps, parts[part].shape);
      };
      EXPECT_LE(gradientError(forward, backward, parts[part], rng, kLinear), kLinear.tolerance)
          << "part " << part << " along axis " << axis;
    }
  }
}

} // namespace
