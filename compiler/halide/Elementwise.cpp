// Lowering of the elementwise ops (batch_norm, relu, tanh, sigmoid, leaky_relu, add) and softmax.
// An elementwise op whose operand is a stage output used only here is fused into that stage (it
// becomes the stage's output, computed in the producer's tiles); otherwise it is its own stage.
#include "compiler/halide/Lowering.h"

#include "kiln/Dialect/NN/NNOps.h"

#include <cmath>

using namespace mlir;

namespace kiln::halide {

static std::vector<Halide::Expr> exprs(const std::vector<Halide::Var> &vars) {
  return std::vector<Halide::Expr>(vars.begin(), vars.end());
}

LogicalResult lowerBatchNorm(Operation *operation, LoweringState &state, std::string &error) {
  auto op = cast<nn::BatchNormOp>(operation);
  auto input = state.tensor(op.getInput(), error);
  auto scale = state.constant(op.getScale(), error);
  auto shift = state.constant(op.getShift(), error);
  auto mean = state.constant(op.getMean(), error);
  auto variance = state.constant(op.getVariance(), error);
  if (failed(input) || failed(scale) || failed(shift) || failed(mean) || failed(variance))
    return failure();
  // Folded on the host (in double): y = x * a[c] + b[c].
  const int channels = static_cast<int>((*scale)->size());
  const double epsilon = op.getEpsilon().convertToDouble();
  Halide::Buffer<float> a(channels), b(channels);
  for (int i = 0; i < channels; ++i) {
    double factor = (*scale)->data[i] / std::sqrt(static_cast<double>((*variance)->data[i]) + epsilon);
    a(i) = static_cast<float>(factor);
    b(i) = static_cast<float>((*shift)->data[i] - (*mean)->data[i] * factor);
  }
  std::vector<Halide::Var> v = storageVars(input->rank());
  Halide::Expr channel = logicalOf(v)[1];
  Halide::Func out(state.freshName("batch_norm"));
  out(v) = input->func(v) * a(channel) + b(channel);
  state.bindElementwise(op.getResult(), out, input->shape, state.fusableStage(op.getInput()));
  return success();
}

LogicalResult lowerActivation(Operation *operation, LoweringState &state, std::string &error) {
  auto input = state.tensor(operation->getOperand(0), error);
  if (failed(input))
    return failure();
  std::vector<Halide::Var> v = storageVars(input->rank());
  Halide::Expr x = input->func(v), y;
  std::string name;
  if (isa<nn::ReluOp>(operation)) {
    y = Halide::max(x, 0.0f), name = "relu";
  } else if (isa<nn::TanhOp>(operation)) {
    y = Halide::tanh(x), name = "tanh";
  } else if (isa<nn::SigmoidOp>(operation)) {
    y = 1.0f / (1.0f + Halide::exp(-x)), name = "sigmoid";
  } else {
    float alpha = cast<nn::LeakyReluOp>(operation).getAlpha().convertToFloat();
    y = Halide::select(x > 0.0f, x, x * alpha), name = "leaky_relu";
  }
  Halide::Func out(state.freshName(name));
  out(v) = y;
  state.bindElementwise(operation->getResult(0), out, input->shape, state.fusableStage(operation->getOperand(0)));
  return success();
}

LogicalResult lowerAdd(Operation *operation, LoweringState &state, std::string &error) {
  auto op = cast<nn::AddOp>(operation);
  auto lhs = state.tensor(op.getLhs(), error);
  auto rhs = state.tensor(op.getRhs(), error);
  if (failed(lhs) || failed(rhs))
    return failure();
  std::vector<Halide::Var> v = storageVars(lhs->rank());
  Halide::Func out(state.freshName("add"));
  out(v) = lhs->func(v) + rhs->func(v);
  int stage = state.fusableStage(op.getLhs());
  if (stage < 0)
    stage = state.fusableStage(op.getRhs());
  state.bindElementwise(op.getResult(), out, lhs->shape, stage);
  return success();
}

LogicalResult lowerSoftmax(Operation *operation, LoweringState &state, std::string &error) {
  auto op = cast<nn::SoftmaxOp>(operation);
  auto input = state.tensor(op.getInput(), error);
  if (failed(input))
    return failure();
  const int rank = input->rank();
  const int axis = static_cast<int>(op.getAxis() < 0 ? op.getAxis() + rank : op.getAxis());
  std::vector<Halide::Var> v = storageVars(rank);
  std::vector<Halide::Expr> logical = logicalOf(v);
  // The max and the sum are indexed by the arguments other than the axis.
  std::vector<Halide::Var> rest;
  std::vector<int64_t> restExtents;
  std::vector<int> perm = storagePerm(rank);
  for (int i = 0; i < rank; ++i)
    if (perm[i] != axis) {
      rest.push_back(v[i]);
      restExtents.push_back(input->shape[perm[i]]);
    }
  Halide::RDom r(0, static_cast<int>(input->shape[axis]), "r");
  std::vector<Halide::Expr> along = logical;
  along[axis] = r;

  Halide::Func max(state.freshName("softmax_max")), total(state.freshName("softmax_sum"));
  max(rest) = Halide::maximum(input->at(along));
  total(rest) = Halide::sum(Halide::exp(input->at(along) - max(exprs(rest))));
  Halide::Func out(state.freshName("softmax"));
  out(v) = Halide::exp(input->func(v) - max(exprs(rest))) / total(exprs(rest));
  for (const Halide::Func &helper : {max, total}) {
    Stage stage;
    stage.output = helper;
    stage.extents = restExtents;
    state.stages.push_back(stage);
  }
  state.values[op.getResult()] = state.addStage(StageKind::Pointwise, out, input->shape);
  return success();
}

} // namespace kiln::halide
