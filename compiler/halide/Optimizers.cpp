// Lowering of nn.optimizer_update: one elementwise Func per result (the new parameter or one new
// state slot), each recomputing what it needs from param, grad and state (sgd, momentum, nesterov,
// rmsprop, adam as in PyTorch). lr = hyper[0], t = hyper[1]; Adam's bias corrections 1 - beta^t are
// computed in double (loop invariant), as the reference does.
#include "compiler/halide/Lowering.h"

#include "kiln/Dialect/NN/NNOps.h"

using namespace mlir;

namespace kiln::halide {

LogicalResult lowerOptimizerUpdate(Operation *operation, LoweringState &state, std::string &error) {
  auto op = cast<nn::OptimizerUpdateOp>(operation);
  auto param = state.tensor(op.getParam(), error);
  auto grad = state.tensor(op.getGrad(), error);
  auto hyper = state.tensor(op.getHyper(), error);
  if (failed(param) || failed(grad) || failed(hyper))
    return failure();
  std::vector<TensorRef> slots;
  for (Value slot : op.getState()) {
    auto ref = state.tensor(slot, error);
    if (failed(ref))
      return failure();
    slots.push_back(*ref);
  }
  std::vector<Halide::Var> v = storageVars(param->rank());
  Halide::Expr p = param->func(v), lr = hyper->func(0), t = hyper->func(1);
  Halide::Expr g = grad->func(v);
  const float weightDecay = op.getWeightDecay().convertToFloat();
  if (weightDecay != 0.0f)
    g = g + weightDecay * p;

  // updated[0] is the new parameter, updated[k] the new state slot k - 1.
  std::vector<Halide::Expr> updated;
  StringRef optimizer = op.getOptimizer();
  const float momentum = op.getMomentum().convertToFloat(), epsilon = op.getEpsilon().convertToFloat();
  if (optimizer == "sgd") {
    updated = {p - lr * g};
  } else if (optimizer == "momentum" || optimizer == "nesterov") {
    Halide::Expr velocity = momentum * slots[0].func(v) + g;
    Halide::Expr step = optimizer == "momentum" ? velocity : g + momentum * velocity;
    updated = {p - lr * step, velocity};
  } else if (optimizer == "rmsprop") {
    const float alpha = op.getAlpha().convertToFloat();
    Halide::Expr square = alpha * slots[0].func(v) + (1.0f - alpha) * g * g;
    updated = {p - lr * g / (Halide::sqrt(square) + epsilon), square};
  } else {
    const float beta1 = op.getBeta1().convertToFloat(), beta2 = op.getBeta2().convertToFloat();
    Halide::Expr first = beta1 * slots[0].func(v) + (1.0f - beta1) * g;
    Halide::Expr second = beta2 * slots[1].func(v) + (1.0f - beta2) * g * g;
    auto correction = [&](float beta) {
      return Halide::cast<float>(Halide::Expr(1.0) -
                                 Halide::pow(Halide::Expr(static_cast<double>(beta)), Halide::cast<double>(t)));
    };
    Halide::Expr step = (first / correction(beta1)) / (Halide::sqrt(second / correction(beta2)) + epsilon);
    updated = {p - lr * step, first, second};
  }
  Halide::Func out(state.freshName(optimizer.str() + "_update"));
  out(v) = updated[static_cast<size_t>(op.getWhich())];
  int stage = state.fusableStage(op.getGrad());
  state.bindElementwise(op.getUpdated(), out, param->shape, stage);
  return success();
}

} // namespace kiln::halide
