// Lowering of the training-mode forms and their backward rules: activation_grad, unary_grad and
// dropout_train (elementwise, fused into their operand's stage), batch_norm_train /
// batch_norm_grad_input / batch_norm_grad_scale / running_stat_update (per-channel statistics as
// root stages, shared through Reductions.cpp).
#include "compiler/halide/Lowering.h"

#include "kiln/Dialect/NN/DropoutHash.h"
#include "kiln/Dialect/NN/NNOps.h"

using namespace mlir;

namespace kiln::halide {

LogicalResult lowerActivationGrad(Operation *operation, LoweringState &state, std::string &error) {
  auto op = cast<nn::ActivationGradOp>(operation);
  auto output = state.tensor(op.getOutput(), error);
  auto gradOutput = state.tensor(op.getGradOutput(), error);
  if (failed(output) || failed(gradOutput))
    return failure();
  std::vector<Halide::Var> v = storageVars(output->rank());
  Halide::Expr y = output->func(v), dy = gradOutput->func(v), dx;
  StringRef activation = op.getActivation();
  if (activation == "relu")
    dx = Halide::select(y > 0.0f, dy, 0.0f);
  else if (activation == "leaky_relu")
    dx = Halide::select(y > 0.0f, dy, dy * op.getAlpha().convertToFloat());
  else if (activation == "tanh")
    dx = dy * (1.0f - y * y);
  else
    dx = dy * y * (1.0f - y);
  Halide::Func out(state.freshName(activation.str() + "_grad"));
  out(v) = dx;
  int stage = state.fusableStage(op.getGradOutput());
  if (stage < 0)
    stage = state.fusableStage(op.getOutput());
  state.bindElementwise(op.getGradInput(), out, output->shape, stage);
  return success();
}

LogicalResult lowerUnaryGrad(Operation *operation, LoweringState &state, std::string &error) {
  auto op = cast<nn::UnaryGradOp>(operation);
  auto input = state.tensor(op.getInput(), error);
  auto gradOutput = state.tensor(op.getGradOutput(), error);
  if (failed(input) || failed(gradOutput))
    return failure();
  std::vector<Halide::Var> v = storageVars(input->rank());
  auto derivative = unaryFunction(op.getFn(), input->func(v), op.getAlpha().convertToFloat(),
                                  op.getBeta().convertToFloat(), true, error);
  if (failed(derivative))
    return failure();
  Halide::Func out(state.freshName(op.getFn().str() + "_grad"));
  out(v) = gradOutput->func(v) * *derivative;
  int stage = state.fusableStage(op.getGradOutput());
  if (stage < 0)
    stage = state.fusableStage(op.getInput());
  state.bindElementwise(op.getGradInput(), out, input->shape, stage);
  return success();
}

/// nn::dropoutHash of DropoutHash.h on UInt(32) expressions (multiplication wraps mod 2^32).
static Halide::Expr dropoutHash(Halide::Expr step, uint32_t seed, Halide::Expr index) {
  auto constant = [](uint32_t value) { return Halide::Expr(value); };
  Halide::Expr h = (index * constant(0x9E3779B1u)) ^ constant(seed * 0x85EBCA77u) ^ (step * constant(0xC2B2AE3Du));
  h = h ^ (h >> constant(16));
  h = h * constant(0x7FEB352Du);
  h = h ^ (h >> constant(15));
  h = h * constant(0x846CA68Bu);
  h = h ^ (h >> constant(16));
  return h;
}

LogicalResult lowerDropoutTrain(Operation *operation, LoweringState &state, std::string &error) {
  auto op = cast<nn::DropoutTrainOp>(operation);
  auto input = state.tensor(op.getInput(), error);
  auto hyper = state.tensor(op.getHyper(), error);
  if (failed(input) || failed(hyper))
    return failure();
  std::vector<Halide::Var> v = storageVars(input->rank());
  std::vector<Halide::Expr> logical = logicalOf(v);
  Halide::Expr index = logical[0];
  for (int d = 1; d < input->rank(); ++d)
    index = index * static_cast<int>(input->shape[d]) + logical[d];
  const float rate = op.getRate().convertToFloat();
  Halide::Expr step = Halide::cast<uint32_t>(hyper->func(1));
  Halide::Expr hash = dropoutHash(step, static_cast<uint32_t>(op.getSeed()), Halide::cast<uint32_t>(index));
  Halide::Expr keeps = hash >= Halide::Expr(nn::dropoutThreshold(rate));
  Halide::Func out(state.freshName("dropout_train"));
  out(v) = Halide::select(keeps, input->func(v) / (1.0f - rate), 0.0f);
  state.bindElementwise(op.getOutput(), out, input->shape, state.fusableStage(op.getInput()));
  return success();
}

/// A root stage (one value per channel) of 1 / sqrt(variance + epsilon).
static Halide::Func inverseStd(LoweringState &state, const ChannelStatistics &stats, int64_t channels, float epsilon) {
  Halide::Var c("c");
  Halide::Func istd(state.freshName("batch_inverse_std"));
  istd(c) = 1.0f / Halide::sqrt(stats.variance(c) + epsilon);
  Stage stage;
  stage.output = istd;
  stage.extents = {channels};
  state.stages.push_back(stage);
  return istd;
}

namespace {
/// The operands shared by the batch-norm training ops: input x, its statistics and 1 / std.
struct Normalised {
  TensorRef input;
  ChannelStatistics stats;
  Halide::Func istd;
  std::vector<Halide::Var> v; ///< storage Vars of the input
  Halide::Expr channel;       ///< the channel index among v
  Halide::Expr xhat;          ///< the normalised input at v
};
} // namespace

static FailureOr<Normalised> normalised(Value input, float epsilon, LoweringState &state, std::string &error) {
  auto x = state.tensor(input, error);
  if (failed(x))
    return failure();
  Normalised n;
  n.input = *x;
  n.stats = batchStatisticsOf(state, input, *x);
  n.istd = inverseStd(state, n.stats, x->shape[1], epsilon);
  n.v = storageVars(x->rank());
  n.channel = logicalOf(n.v)[1];
  n.xhat = (x->func(n.v) - n.stats.mean(n.channel)) * n.istd(n.channel);
  return n;
}

LogicalResult lowerBatchNormTrain(Operation *operation, LoweringState &state, std::string &error) {
  auto op = cast<nn::BatchNormTrainOp>(operation);
  auto x = normalised(op.getInput(), op.getEpsilon().convertToFloat(), state, error);
  auto scale = state.tensor(op.getScale(), error);
  auto shift = state.tensor(op.getShift(), error);
  if (failed(x) || failed(scale) || failed(shift))
    return failure();
  Halide::Func out(state.freshName("batch_norm_train"));
  out(x->v) = x->xhat * scale->func(x->channel) + shift->func(x->channel);
  // Its own stage: the statistics read the input, so it cannot fuse into the input's stage.
  state.values[op.getOutput()] = state.addStage(StageKind::Pointwise, out, x->input.shape);
  return success();
}

/// The per-channel sum of grad_output * xhat.
static Halide::Func scaleGradient(LoweringState &state, const Normalised &x, const TensorRef &gradOutput) {
  Halide::Func products(state.freshName("batch_grad_xhat"));
  products(x.v) = gradOutput.func(x.v) * x.xhat;
  return channelSum(state, "batch_grad_scale", products, x.input.shape);
}

LogicalResult lowerBatchNormGradInput(Operation *operation, LoweringState &state, std::string &error) {
  auto op = cast<nn::BatchNormGradInputOp>(operation);
  auto x = normalised(op.getInput(), op.getEpsilon().convertToFloat(), state, error);
  auto scale = state.tensor(op.getScale(), error);
  auto gradOutput = state.tensor(op.getGradOutput(), error);
  if (failed(x) || failed(scale) || failed(gradOutput))
    return failure();
  const float count = perChannelCount(x->input.shape);
  Halide::Func sumDy = channelSumOf(state, op.getGradOutput(), *gradOutput);
  Halide::Func sumDyXhat = scaleGradient(state, *x, *gradOutput);
  Halide::Expr c = x->channel;
  Halide::Func out(state.freshName("batch_norm_grad_input"));
  out(x->v) =
      scale->func(c) * x->istd(c) * (gradOutput->func(x->v) - sumDy(c) / count - x->xhat * (sumDyXhat(c) / count));
  state.values[op.getGradInput()] = state.addStage(StageKind::Pointwise, out, x->input.shape);
  return success();
}

LogicalResult lowerBatchNormGradScale(Operation *operation, LoweringState &state, std::string &error) {
  auto op = cast<nn::BatchNormGradScaleOp>(operation);
  auto x = normalised(op.getInput(), op.getEpsilon().convertToFloat(), state, error);
  auto gradOutput = state.tensor(op.getGradOutput(), error);
  if (failed(x) || failed(gradOutput))
    return failure();
  TensorRef ref;
  ref.func = scaleGradient(state, *x, *gradOutput);
  ref.shape = shapeOf(op.getGradScale());
  state.values[op.getGradScale()] = ref;
  return success();
}

LogicalResult lowerRunningStatUpdate(Operation *operation, LoweringState &state, std::string &error) {
  auto op = cast<nn::RunningStatUpdateOp>(operation);
  auto running = state.tensor(op.getRunning(), error);
  auto input = state.tensor(op.getInput(), error);
  if (failed(running) || failed(input))
    return failure();
  ChannelStatistics stats = batchStatisticsOf(state, op.getInput(), *input);
  const float count = perChannelCount(input->shape), momentum = op.getMomentum().convertToFloat();
  Halide::Var c("c");
  Halide::Expr statistic = op.getStatistic() == "mean" ? stats.mean(c) : stats.variance(c) * (count / (count - 1.0f));
  Halide::Func out(state.freshName("running_" + op.getStatistic().str()));
  out(c) = (1.0f - momentum) * running->func(c) + momentum * statistic;
  state.values[op.getUpdated()] = state.addStage(StageKind::Pointwise, out, running->shape);
  return success();
}

} // namespace kiln::halide
