// Tests optimizer_update: three steps of each optimizer (with weight decay, a changing learning
// rate and Adam's bias correction from hyper[1]) against an independent per-element loop written
// the way PyTorch's torch.optim implementations are.
#include "GradientCheck.h"
#include "run_model.h"

#include "compiler/reference/TrainingKernels.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>

using namespace kiln;
using namespace kiln::reference;
using namespace kiln::test;

namespace {

constexpr int kSteps = 3;
constexpr double kLearningRates[kSteps] = {0.1, 0.05, 0.02};

struct OptimizerCase {
  std::string name;
  int slots; ///< how many state tensors the optimizer keeps
  double weightDecay;

  friend void PrintTo(const OptimizerCase &c, std::ostream *os) { *os << c.name << ", weight decay " << c.weightDecay; }
};

/// One parameter's element and its optimizer state, updated in place as torch.optim does (state
/// starting at zero, dampening 0).
struct TorchElement {
  double param, buffer = 0.0, square = 0.0; ///< buffer: momentum_buffer or exp_avg
};

void torchStep(const std::string &optimizer, TorchElement &e, double grad, double lr, int step, double weightDecay) {
  const double momentum = 0.9, alpha = 0.99, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  grad += weightDecay * e.param;
  if (optimizer == "sgd") {
    e.param -= lr * grad;
  } else if (optimizer == "momentum" || optimizer == "nesterov") {
    e.buffer = step == 1 ? grad : momentum * e.buffer + grad; // torch clones grad on the first step
    e.param -= lr * (optimizer == "nesterov" ? grad + momentum * e.buffer : e.buffer);
  } else if (optimizer == "rmsprop") {
    e.square = alpha * e.square + (1 - alpha) * grad * grad;
    e.param -= lr * grad / (std::sqrt(e.square) + eps);
  } else if (optimizer == "adam") {
    e.buffer = beta1 * e.buffer + (1 - beta1) * grad;
    e.square = beta2 * e.square + (1 - beta2) * grad * grad;
    const double biasCorrection1 = 1 - std::pow(beta1, step), biasCorrection2 = 1 - std::pow(beta2, step);
    const double stepSize = lr / biasCorrection1;
    const double denominator = std::sqrt(e.square) / std::sqrt(biasCorrection2) + eps;
    e.param -= stepSize * e.buffer / denominator;
  }
}

class OptimizerUpdate : public ::testing::TestWithParam<OptimizerCase> {};

TEST_P(OptimizerUpdate, ThreeStepsMatchTorch) {
  const OptimizerCase &c = GetParam();
  std::mt19937 rng(static_cast<unsigned>(std::hash<std::string>{}(c.name)));
  HostTensor param = randomTensor({3, 5}, rng);
  std::vector<HostTensor> state(static_cast<size_t>(c.slots), HostTensor(param.shape));
  std::vector<TorchElement> expected;
  for (float p : param.data)
    expected.push_back({p});

  OptimizerSettings settings;
  settings.optimizer = c.name;
  settings.momentum = 0.9;
  settings.weightDecay = c.weightDecay;
  for (int step = 1; step <= kSteps; ++step) {
    const HostTensor grad = randomTensor(param.shape, rng);
    const HostTensor hyper = tensor({2}, {float(kLearningRates[step - 1]), float(step)});
    std::vector<const HostTensor *> oldState;
    for (const HostTensor &slot : state)
      oldState.push_back(&slot);
    // Every result of the step reads the values before it, as in @train_step.
    std::vector<HostTensor> updated;
    for (int which = 0; which <= c.slots; ++which) {
      settings.which = which;
      updated.push_back(optimizerUpdate(param, grad, hyper, oldState, settings));
    }
    param = updated[0];
    std::copy(updated.begin() + 1, updated.end(), state.begin());
    for (int64_t i = 0; i < param.size(); ++i)
      torchStep(c.name, expected[i], grad.data[i], kLearningRates[step - 1], step, c.weightDecay);
  }
  for (int64_t i = 0; i < param.size(); ++i) {
    EXPECT_NEAR(param.data[i], expected[i].param, 1e-5) << "parameter " << i;
    if (c.slots >= 1)
      EXPECT_NEAR(state[0].data[i], c.name == "rmsprop" ? expected[i].square : expected[i].buffer, 1e-5)
          << "slot 0 of " << i;
    if (c.slots == 2)
      EXPECT_NEAR(state[1].data[i], expected[i].square, 1e-6) << "slot 1 of " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Optimizers, OptimizerUpdate,
    ::testing::Values(OptimizerCase{"sgd", 0, 0.0}, OptimizerCase{"momentum", 1, 0.0},
                      OptimizerCase{"nesterov", 1, 0.0}, OptimizerCase{"rmsprop", 1, 0.0},
                      OptimizerCase{"adam", 2, 0.0}, OptimizerCase{"sgd", 0, 0.01},
                      OptimizerCase{"momentum", 1, 0.01}, OptimizerCase{"nesterov", 1, 0.01},
                      OptimizerCase{"rmsprop", 1, 0.01}, OptimizerCase{"adam", 2, 0.01}),
    [](const ::testing::TestParamInfo<OptimizerCase> &info) {
      return info.param.name + (info.param.weightDecay > 0.0 ? "_weight_decay" : "");
    });

} // namespace
