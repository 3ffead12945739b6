// Reference nn.optimizer_update: one optimizer step (sgd, momentum, nesterov, rmsprop, adam, with
// PyTorch's formulas) per element, in double, yielding the new parameter or one new state slot.
#include "compiler/reference/TrainingKernels.h"

#include "llvm/Support/ErrorHandling.h"

#include <array>
#include <cmath>

namespace kiln::reference {
namespace {

/// One element after the step: [0] the parameter, [k] state slot k-1.
using StepResult = std::array<double, 3>;

/// The step of one element: parameter p, gradient grad, state slots `slots` (as many as the
/// optimizer keeps), learning rate lr and step number t (1-based).
StepResult stepElement(double p, double grad, const std::array<double, 2> &slots, double lr, double t,
                       const OptimizerSettings &s) {
  const double g = grad + s.weightDecay * p;
  if (s.optimizer == "sgd")
    return {p - lr * g, 0.0, 0.0};
  if (s.optimizer == "momentum" || s.optimizer == "nesterov") {
    const double v = s.momentum * slots[0] + g;
    const double direction = s.optimizer == "momentum" ? v : g + s.momentum * v;
    return {p - lr * direction, v, 0.0};
  }
  if (s.optimizer == "rmsprop") {
    const double squareAvg = s.alpha * slots[0] + (1.0 - s.alpha) * g * g;
    return {p - lr * g / (std::sqrt(squareAvg) + s.epsilon), squareAvg, 0.0};
  }
  if (s.optimizer == "adam") {
    const double m = s.beta1 * slots[0] + (1.0 - s.beta1) * g;
    const double v = s.beta2 * slots[1] + (1.0 - s.beta2) * g * g;
    const double mHat = m / (1.0 - std::pow(s.beta1, t)), vHat = v / (1.0 - std::pow(s.beta2, t));
    return {p - lr * mHat / (std::sqrt(vHat) + s.epsilon), m, v};
  }
  llvm_unreachable("the verifier accepts sgd, momentum, nesterov, rmsprop and adam only");
}

} // namespace

HostTensor optimizerUpdate(const HostTensor &param, const HostTensor &grad, const HostTensor &hyper,
                           llvm::ArrayRef<const HostTensor *> state, const OptimizerSettings &settings) {
  const double lr = hyper.data[0], t = hyper.data[1];
  HostTensor out(param.shape);
  for (int64_t i = 0; i < out.size(); ++i) {
    std::array<double, 2> slots{0.0, 0.0};
    for (size_t k = 0; k < state.size(); ++k)
      slots[k] = state[k]->data[i];
    out.data[i] = static_cast<float>(stepElement(param.data[i], grad.data[i], slots, lr, t, settings)[settings.which]);
  }
  return out;
}

} // namespace kiln::reference
