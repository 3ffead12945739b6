// Lowering of the weight-gradient ops of the linear layers: conv2d_grad_filter (a FilterGrad stage:
// the filter gradient register-tiled like a conv, reducing over batch and output pixels),
// dense_grad_input and dense_grad_weight (Dense stages, the contiguous dimension in vectors) and
// bias_grad (a per-channel sum). The conv's input gradient is an nn.conv_transpose2d (Linear.cpp).
#include "compiler/halide/Lowering.h"

#include "kiln/Dialect/NN/NNOps.h"

using namespace mlir;

namespace kiln::halide {

/// Binds `result` to a stage `out(vars) = acc(vars)` of `kind` whose accumulator sums over `r`.
static void bindAccumulated(Value result, StageKind kind, Halide::Func acc, Halide::RDom r, LoweringState &state,
                            const std::string &name) {
  std::vector<Halide::Var> vars = acc.args();
  Halide::Func out(state.freshName(name));
  out(vars) = acc(vars);
  TensorRef ref = state.addStage(kind, out, shapeOf(result));
  state.stages[ref.stage].accumulator = acc;
  state.stages[ref.stage].rdom = r;
  state.values[result] = ref;
}

LogicalResult lowerConv2DGradFilter(Operation *operation, LoweringState &state, std::string &error) {
  auto op = cast<nn::Conv2DGradFilterOp>(operation);
  auto input = state.tensor(op.getInput(), error);
  auto gradOutput = state.tensor(op.getGradOutput(), error);
  if (failed(input) || failed(gradOutput))
    return failure();
  const std::vector<int64_t> wShape = shapeOf(op.getGradFilter());
  const int64_t F = wShape[0], Cg = wShape[1], KH = wShape[2], KW = wShape[3], Fg = F / op.getGroups();
  const std::vector<int64_t> &dyShape = gradOutput->shape;
  ArrayRef<int64_t> strides = op.getStrides(), pad = op.getPadding(), dil = op.getDilations();
  Halide::Func source = convInput(state, op.getInput(), *input, pad, strides, dil, KH, KW, dyShape);
  // grad_output is read once per tap and channel: materialised in the internal layout if inline.
  Halide::Func dy = gradOutput->func;
  if (gradOutput->stage < 0) {
    std::vector<Halide::Var> v = storageVars(4);
    dy = Halide::Func(state.freshName("grad_output"));
    dy(v) = gradOutput->func(v);
    state.addStage(StageKind::Pointwise, dy, dyShape);
  }

  // The result [F, Cg, KH, KW] is indexed (ci, kx, ky, f); the reduction runs over (ow, oh, n).
  std::vector<Halide::Var> v = storageVars(4);
  Halide::Var ci = v[0], kx = v[1], ky = v[2], f = v[3];
  Halide::RDom r(0, static_cast<int>(dyShape[3]), 0, static_cast<int>(dyShape[2]), 0, static_cast<int>(dyShape[0]),
                 "r");
  Halide::Expr channel = ci;
  if (op.getGroups() > 1)
    channel = (f / static_cast<int>(Fg)) * static_cast<int>(Cg) + ci;
  Halide::Expr ix = r.x * static_cast<int>(strides[1]) + kx * static_cast<int>(dil[1]) - static_cast<int>(pad[1]);
  Halide::Expr iy = r.y * static_cast<int>(strides[0]) + ky * static_cast<int>(dil[0]) - static_cast<int>(pad[0]);
  Halide::Func acc(state.freshName("conv_grad_filter"));
  acc(v) = 0.0f;
  acc(v) += dy(f, r.x, r.y, r.z) * source(channel, ix, iy, r.z);
  bindAccumulated(op.getGradFilter(), StageKind::FilterGrad, acc, r, state, "conv_grad_filter_out");
  return success();
}

LogicalResult lowerDenseGradInput(Operation *operation, LoweringState &state, std::string &error) {
  auto op = cast<nn::DenseGradInputOp>(operation);
  auto gradOutput = state.tensor(op.getGradOutput(), error);
  auto weight = state.tensor(op.getWeight(), error);
  if (failed(gradOutput) || failed(weight))
    return failure();
  // dx[n, k] = sum over m of dy[n, m] * w[m, k]; k is contiguous in both dx and w.
  std::vector<Halide::Var> v = storageVars(2);
  Halide::Var k = v[0], n = v[1];
  Halide::RDom r(0, static_cast<int>(weight->shape[0]), "r");
  Halide::Func acc(state.freshName("dense_grad_input"));
  acc(k, n) = 0.0f;
  acc(k, n) += weight->func(k, r) * gradOutput->func(r, n);
  bindAccumulated(op.getGradInput(), StageKind::Dense, acc, r, state, "dense_grad_input_out");
  return success();
}

LogicalResult lowerDenseGradWeight(Operation *operation, LoweringState &state, std::string &error) {
  auto op = cast<nn::DenseGradWeightOp>(operation);
  auto input = state.tensor(op.getInput(), error);
  auto gradOutput = state.tensor(op.getGradOutput(), error);
  if (failed(input) || failed(gradOutput))
    return failure();
  // dw[m, k] = sum over n of dy[n, m] * x[n, k]; k is contiguous in both dw and x.
  std::vector<Halide::Var> v = storageVars(2);
  Halide::Var k = v[0], m = v[1];
  Halide::RDom r(0, static_cast<int>(input->shape[0]), "r");
  Halide::Func acc(state.freshName("dense_grad_weight"));
  acc(k, m) = 0.0f;
  acc(k, m) += input->func(k, r) * gradOutput->func(m, r);
  bindAccumulated(op.getGradWeight(), StageKind::Dense, acc, r, state, "dense_grad_weight_out");
  return success();
}

LogicalResult lowerBiasGrad(Operation *operation, LoweringState &state, std::string &error) {
  auto op = cast<nn::BiasGradOp>(operation);
  auto gradOutput = state.tensor(op.getGradOutput(), error);
  if (failed(gradOutput))
    return failure();
  // The sum is a root stage that other ops may share (channelSumOf), so consumers never fuse into it.
  TensorRef ref;
  ref.func = channelSumOf(state, op.getGradOutput(), *gradOutput);
  ref.shape = shapeOf(op.getGradBias());
  state.values[op.getGradBias()] = ref;
  return success();
}

} // namespace kiln::halide
