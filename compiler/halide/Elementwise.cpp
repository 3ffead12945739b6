// Lowering of the elementwise ops (batch_norm, activations, unary, the broadcasting binary ops,
// sum / mean), lrn, and softmax / log_softmax.
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
  if (failed(input))
    return failure();
  // y = x * a[c] + b[c] with a = scale / sqrt(variance + epsilon), b = shift - mean * a.
  const int channels = static_cast<int>(input->shape[1]);
  const double epsilon = op.getEpsilon().convertToDouble();
  Halide::Func a(state.freshName("batch_norm_factor")), b(state.freshName("batch_norm_offset"));
  Halide::Var c("c");
  Value parameters[] = {op.getScale(), op.getShift(), op.getMean(), op.getVariance()};
  if (llvm::all_of(parameters, [&](Value v) { return state.isConstant(v); })) {
    // Constants: folded on the host, in double.
    auto scale = state.constant(op.getScale(), error);
    auto shift = state.constant(op.getShift(), error);
    auto mean = state.constant(op.getMean(), error);
    auto variance = state.constant(op.getVariance(), error);
    if (failed(scale) || failed(shift) || failed(mean) || failed(variance))
      return failure();
    Halide::Buffer<float> factor(channels), offset(channels);
    for (int i = 0; i < channels; ++i) {
      double f = (*scale)->data[i] / std::sqrt(static_cast<double>((*variance)->data[i]) + epsilon);
      factor(i) = static_cast<float>(f);
      offset(i) = static_cast<float>((*shift)->data[i] - (*mean)->data[i] * f);
    }
    a(c) = factor(c);
    b(c) = offset(c);
  } else {
    // Run-time parameters: folded by two small root stages.
    std::vector<TensorRef> refs;
    for (Value v : parameters) {
      auto ref = state.tensor(v, error);
      if (failed(ref))
        return failure();
      refs.push_back(*ref);
    }
    a(c) = refs[0].func(c) / Halide::sqrt(refs[3].func(c) + static_cast<float>(epsilon));
    b(c) = refs[1].func(c) - refs[2].func(c) * a(c);
    for (const Halide::Func &fold : {a, b}) {
      Stage stage;
      stage.output = fold;
      stage.extents = {channels};
      state.stages.push_back(stage);
    }
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
    y = rationalTanh(x), name = "tanh";
  } else if (isa<nn::SigmoidOp>(operation)) {
    y = sigmoid(x), name = "sigmoid";
  } else if (auto leaky = dyn_cast<nn::LeakyReluOp>(operation)) {
    float alpha = leaky.getAlpha().convertToFloat();
    y = Halide::select(x > 0.0f, x, x * alpha), name = "leaky_relu";
  } else if (auto clip = dyn_cast<nn::ClipOp>(operation)) {
    y = Halide::clamp(x, clip.getMin().convertToFloat(), clip.getMax().convertToFloat()), name = "clip";
  } else if (auto hard = dyn_cast<nn::HardSigmoidOp>(operation)) {
    y = Halide::clamp(x * hard.getAlpha().convertToFloat() + hard.getBeta().convertToFloat(), 0.0f, 1.0f);
    name = "hard_sigmoid";
  } else {
    assert(isa<nn::HardSwishOp>(operation) && "activation missing from lowerActivation");
    y = x * Halide::clamp(x * (1.0f / 6.0f) + 0.5f, 0.0f, 1.0f), name = "hard_swish";
  }
  Halide::Func out(state.freshName(name));
  out(v) = y;
  state.bindElementwise(operation->getResult(0), out, input->shape, state.fusableStage(operation->getOperand(0)));
  return success();
}

LogicalResult lowerUnary(Operation *operation, LoweringState &state, std::string &error) {
  auto op = cast<nn::UnaryOp>(operation);
  auto input = state.tensor(op.getInput(), error);
  if (failed(input))
    return failure();
  std::vector<Halide::Var> v = storageVars(input->rank());
  auto y = unaryFunction(op.getFn(), input->func(v), op.getAlpha().convertToFloat(), op.getBeta().convertToFloat(),
                         false, error);
  if (failed(y))
    return failure();
  Halide::Func out(state.freshName(op.getFn().str()));
  out(v) = *y;
  state.bindElementwise(op.getResult(), out, input->shape, state.fusableStage(op.getInput()));
  return success();
}

/// The value of every element of `value` when it is an nn.param whose elements are all equal.
static std::optional<float> uniformConstant(Value value, LoweringState &state) {
  std::string ignored;
  if (!state.isConstant(value))
    return std::nullopt;
  auto data = state.constant(value, ignored);
  if (failed(data) || (*data)->data.empty())
    return std::nullopt;
  const std::vector<float> &elements = (*data)->data;
  if (llvm::any_of(elements, [&](float e) { return e != elements.front(); }))
    return std::nullopt;
  return elements.front();
}

Halide::Expr broadcastRead(const TensorRef &operand, const std::vector<Halide::Expr> &outLogical) {
  const size_t offset = outLogical.size() - operand.shape.size();
  std::vector<Halide::Expr> at(operand.shape.size());
  for (size_t d = 0; d < at.size(); ++d)
    at[d] = operand.shape[d] == 1 ? Halide::Expr(0) : outLogical[d + offset];
  return operand.at(at);
}

LogicalResult lowerBinary(Operation *operation, LoweringState &state, std::string &error) {
  Value lhsValue = operation->getOperand(0), rhsValue = operation->getOperand(1);
  auto lhs = state.tensor(lhsValue, error);
  auto rhs = state.tensor(rhsValue, error);
  if (failed(lhs) || failed(rhs))
    return failure();
  auto type = cast<RankedTensorType>(operation->getResult(0).getType());
  std::vector<int64_t> shape(type.getShape().begin(), type.getShape().end());
  std::vector<Halide::Var> v = storageVars(static_cast<int>(shape.size()));
  std::vector<Halide::Expr> logical = logicalOf(v);
  Halide::Expr a = broadcastRead(*lhs, logical), b = broadcastRead(*rhs, logical), y;
  std::string name = operation->getName().stripDialect().str();
  if (isa<nn::AddOp>(operation))
    y = a + b;
  else if (isa<nn::SubOp>(operation))
    y = a - b;
  else if (isa<nn::MulOp>(operation))
    y = a * b;
  else if (isa<nn::DivOp>(operation))
    y = a / b;
  else if (isa<nn::MaxOp>(operation))
    y = Halide::max(a, b);
  else if (isa<nn::MinOp>(operation))
    y = Halide::min(a, b);
  else if (isa<nn::PReluOp>(operation))
    y = Halide::select(a > 0.0f, a, b * a);
  else if (std::optional<float> exponent = uniformConstant(rhsValue, state))
    y = power(a, *exponent); // x ^ 2 as x * x, x ^ 0.5 as sqrt(x), ...
  else
    y = power(a, b);
  Halide::Func out(state.freshName(name));
  out(v) = y;
  // Fuse into an operand's stage only when that operand has the output's shape (same loop nest).
  int stage = lhs->shape == shape ? state.fusableStage(lhsValue) : -1;
  if (stage < 0 && rhs->shape == shape)
    stage = state.fusableStage(rhsValue);
  state.bindElementwise(operation->getResult(0), out, shape, stage);
  return success();
}

LogicalResult lowerSumMean(Operation *operation, LoweringState &state, std::string &error) {
  std::vector<TensorRef> inputs;
  for (Value value : operation->getOperands()) {
    auto input = state.tensor(value, error);
    if (failed(input))
      return failure();
    inputs.push_back(*input);
  }
  std::vector<Halide::Var> v = storageVars(inputs[0].rank());
  Halide::Expr total = inputs[0].func(v);
  for (size_t i = 1; i < inputs.size(); ++i)
    total = total + inputs[i].func(v);
  bool mean = isa<nn::MeanOp>(operation);
  Halide::Func out(state.freshName(mean ? "mean" : "sum"));
  out(v) = mean ? total * (1.0f / static_cast<float>(inputs.size())) : total;
  state.bindElementwise(operation->getResult(0), out, inputs[0].shape,
                        state.fusableStage(operation->getOperand(0)));
  return success();
}

LogicalResult lowerLRN(Operation *operation, LoweringState &state, std::string &error) {
  auto op = cast<nn::LRNOp>(operation);
  auto input = state.tensor(op.getInput(), error);
  if (failed(input))
    return failure();
  const int C = static_cast<int>(input->shape[1]), size = static_cast<int>(op.getSize());
  const int before = (size - 1) / 2;
  std::vector<Halide::Var> v = storageVars(4);
  // Squares over the channel window [c - before, c - before + size), out-of-range channels skipped.
  Halide::RDom r(0, size, "r");
  Halide::Expr k = v[0] - before + r;
  Halide::Expr cell = input->func(Halide::clamp(k, 0, C - 1), v[1], v[2], v[3]);
  Halide::Func squares(state.freshName("lrn_squares"));
  squares(v) = Halide::sum(Halide::select(k >= 0 && k < C, cell * cell, 0.0f));
  Halide::Expr scale = op.getBias().convertToFloat() +
                       (op.getAlpha().convertToFloat() / static_cast<float>(size)) * squares(exprs(v));
  Halide::Func out(state.freshName("lrn"));
  out(v) = input->func(v) / Halide::pow(scale, op.getBeta().convertToFloat());
  state.values[op.getResult()] = state.addStage(StageKind::Pointwise, out, input->shape);
  return success();
}

LogicalResult lowerSoftmax(Operation *operation, LoweringState &state, std::string &error) {
  auto input = state.tensor(operation->getOperand(0), error);
  if (failed(input))
    return failure();
  bool log = isa<nn::LogSoftmaxOp>(operation);
  int64_t axisAttr = log ? static_cast<int64_t>(cast<nn::LogSoftmaxOp>(operation).getAxis())
                         : static_cast<int64_t>(cast<nn::SoftmaxOp>(operation).getAxis());
  const int rank = input->rank();
  const int axis = static_cast<int>(axisAttr < 0 ? axisAttr + rank : axisAttr);
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
  Halide::Func out(state.freshName(log ? "log_softmax" : "softmax"));
  Halide::Expr shifted = input->func(v) - max(exprs(rest));
  out(v) = log ? shifted - Halide::log(total(exprs(rest))) : Halide::exp(shifted) / total(exprs(rest));
  for (const Halide::Func &helper : {max, total}) {
    Stage stage;
    stage.output = helper;
    stage.extents = restExtents;
    state.stages.push_back(stage);
  }
  state.values[operation->getResult(0)] = state.addStage(StageKind::Pointwise, out, input->shape);
  return success();
}

} // namespace kiln::halide
