// Tests the loss kernels: softmax_cross_entropy_grad and mse_loss_grad against central differences
// of their losses, and both losses against values worked out by hand.
#include "GradientCheck.h"
#include "run_model.h"

#include "compiler/reference/TrainingKernels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <utility>

using namespace kiln;
using namespace kiln::reference;
using namespace kiln::test;

namespace {

/// Random class indices in [0, classes) as floats.
HostTensor randomLabels(int64_t n, int64_t classes, std::mt19937 &rng) {
  HostTensor labels({n});
  std::uniform_int_distribution<int64_t> label(0, classes - 1);
  for (float &v : labels.data)
    v = static_cast<float>(label(rng));
  return labels;
}

TEST(SoftmaxCrossEntropyGrad, MatchesFiniteDifferences) {
  std::mt19937 rng(11);
  for (auto [n, classes] : {std::pair<int64_t, int64_t>{1, 3}, {3, 5}, {4, 10}}) {
    const HostTensor labels = randomLabels(n, classes, rng);
    const HostTensor logits = randomTensor({n, classes}, rng, -2.0, 2.0);
    auto forward = [&](const HostTensor &z) { return softmaxCrossEntropy(z, labels); };
    // The loss is the end of the chain: its gradient scales by the incoming dL/dloss.
    auto backward = [&](const HostTensor &dLoss) {
      return scaled(softmaxCrossEntropyGrad(logits, labels), dLoss.data[0]);
    };
    EXPECT_LE(gradientError(forward, backward, logits, rng, kSmooth), kSmooth.tolerance)
        << n << " samples of " << classes << " classes";
  }
}

TEST(SoftmaxCrossEntropy, IsTheMeanNegativeLogLikelihood) {
  // Sample 0: logits (0, ln 3), label 1: -log(3/4). Sample 1: (0, 0), label 0: log 2.
  const HostTensor loss = softmaxCrossEntropy(tensor({2, 2}, {0.0f, float(std::log(3.0)), 0.0f, 0.0f}),
                                              tensor({2}, {1.0f, 0.0f}));
  ASSERT_EQ(loss.shape, std::vector<int64_t>{1});
  EXPECT_NEAR(loss.data[0], (-std::log(0.75) + std::log(2.0)) / 2.0, 1e-6);
}

TEST(SoftmaxCrossEntropy, LargeLogitsDoNotOverflow) {
  const HostTensor loss = softmaxCrossEntropy(tensor({1, 2}, {1000.0f, 0.0f}), tensor({1}, {1.0f}));
  EXPECT_NEAR(loss.data[0], 1000.0, 1e-3);
}

TEST(MseLossGrad, MatchesFiniteDifferences) {
  std::mt19937 rng(12);
  for (std::vector<int64_t> shape : {std::vector<int64_t>{1, 1}, std::vector<int64_t>{3, 5},
                                     std::vector<int64_t>{2, 3, 3, 5}}) {
    const HostTensor target = randomTensor(shape, rng);
    const HostTensor prediction = randomTensor(shape, rng);
    auto forward = [&](const HostTensor &p) { return mseLoss(p, target); };
    auto backward = [&](const HostTensor &dLoss) { return scaled(mseLossGrad(prediction, target), dLoss.data[0]); };
    EXPECT_LE(gradientError(forward, backward, prediction, rng, kLinear), kLinear.tolerance);
  }
}

TEST(MseLoss, IsTheMeanOfSquaredErrors) {
  const HostTensor loss = mseLoss(tensor({1, 3}, {1.0f, 2.0f, 3.0f}), tensor({1, 3}, {0.0f, 2.0f, 5.0f}));
  EXPECT_NEAR(loss.data[0], (1.0 + 0.0 + 4.0) / 3.0, 1e-6);
}

} // namespace
