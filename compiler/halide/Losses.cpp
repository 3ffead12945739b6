// Lowering of the losses and their gradients: softmax_cross_entropy over logits [N, K] with class
// indices held as floats (row max and row sum of exponentials are RowReduction stages shared by
// the loss and its gradient), and mse_loss. The losses are sums over the batch (Reductions.cpp) divided once.
#include "compiler/halide/Lowering.h"

#include "kiln/Dialect/NN/NNOps.h"

#include <limits>

using namespace mlir;

namespace kiln::halide {

/// The row max and the row sum of exp(logit - max) of logits [N, K], cached per value.
static RowStatistics softmaxStatisticsOf(LoweringState &state, Value value, const TensorRef &logits) {
  auto found = state.softmaxStatistics.find(value);
  if (found != state.softmaxStatistics.end())
    return found->second;
  Halide::Var n("n");
  Halide::RDom r(0, static_cast<int>(logits.shape[1]), "r");
  RowStatistics stats{Halide::Func(state.freshName("logits_max")), Halide::Func(state.freshName("logits_sum_exp"))};
  stats.max(n) = std::numeric_limits<float>::lowest();
  stats.max(n) = Halide::max(stats.max(n), logits.func(r, n));
  stats.sumExp(n) = 0.0f;
  stats.sumExp(n) += Halide::exp(logits.func(r, n) - stats.max(n));
  for (const Halide::Func &row : {stats.max, stats.sumExp}) {
    Stage stage;
    stage.kind = StageKind::RowReduction;
    stage.output = row;
    stage.extents = {logits.shape[0]};
    stage.rdom = r;
    state.stages.push_back(stage);
  }
  state.softmaxStatistics[value] = stats;
  return stats;
}

namespace {
/// The operands of a softmax_cross_entropy op or its gradient.
struct Classification {
  TensorRef logits;
  RowStatistics stats;
  Halide::Func label; ///< row n's class as an index into [0, K)
};
} // namespace

static FailureOr<Classification> classification(Value logitsValue, Value labelsValue, LoweringState &state,
                                                std::string &error) {
  auto logits = state.tensor(logitsValue, error);
  auto labels = state.tensor(labelsValue, error);
  if (failed(logits) || failed(labels))
    return failure();
  Classification c{*logits, softmaxStatisticsOf(state, logitsValue, *logits), Halide::Func(state.freshName("label"))};
  Halide::Var n("n");
  c.label(n) = Halide::clamp(Halide::cast<int>(labels->func(n)), 0, static_cast<int>(logits->shape[1] - 1));
  return c;
}

/// Binds `result` (tensor<1xf32>) to sum / count.
static void bindMean(Value result, Halide::Func sum, int64_t count, LoweringState &state, const std::string &name) {
  TensorRef ref;
  ref.shape = {1};
  Halide::Var i("i0");
  ref.func = Halide::Func(state.freshName(name));
  ref.func(i) = sum() / static_cast<float>(count);
  state.values[result] = ref;
}

LogicalResult lowerSoftmaxCrossEntropy(Operation *operation, LoweringState &state, std::string &error) {
  auto op = cast<nn::SoftmaxCrossEntropyOp>(operation);
  auto c = classification(op.getLogits(), op.getLabels(), state, error);
  if (failed(c))
    return failure();
  // Per row: logsumexp - logit of the label class.
  Halide::Var n("n");
  Halide::Func perRow(state.freshName("cross_entropy_row"));
  perRow(n) = Halide::log(c->stats.sumExp(n)) + c->stats.max(n) - c->logits.func(c->label(n), n);
  const int64_t N = c->logits.shape[0];
  bindMean(op.getLoss(), totalSum(state, "cross_entropy_sum", perRow, {N}), N, state, "cross_entropy");
  return success();
}

LogicalResult lowerSoftmaxCrossEntropyGrad(Operation *operation, LoweringState &state, std::string &error) {
  auto op = cast<nn::SoftmaxCrossEntropyGradOp>(operation);
  auto c = classification(op.getLogits(), op.getLabels(), state, error);
  if (failed(c))
    return failure();
  std::vector<Halide::Var> v = storageVars(2);
  Halide::Var k = v[0], n = v[1];
  Halide::Expr probability = Halide::exp(c->logits.func(k, n) - c->stats.max(n)) / c->stats.sumExp(n);
  Halide::Expr target = Halide::select(k == c->label(n), 1.0f, 0.0f);
  Halide::Func out(state.freshName("cross_entropy_grad"));
  out(k, n) = (probability - target) / static_cast<float>(c->logits.shape[0]);
  // Not fused into the logits' stage: the row statistics read the logits.
  state.values[op.getGradLogits()] = state.addStage(StageKind::Pointwise, out, c->logits.shape);
  return success();
}

LogicalResult lowerMseLoss(Operation *operation, LoweringState &state, std::string &error) {
  auto op = cast<nn::MseLossOp>(operation);
  auto prediction = state.tensor(op.getPrediction(), error);
  auto target = state.tensor(op.getTarget(), error);
  if (failed(prediction) || failed(target))
    return failure();
  std::vector<Halide::Var> v = storageVars(prediction->rank());
  Halide::Func squares(state.freshName("mse_squares"));
  Halide::Expr difference = prediction->func(v) - target->func(v);
  squares(v) = difference * difference;
  bindMean(op.getLoss(), totalSum(state, "mse_sum", squares, prediction->shape),
           HostTensor::numElements(prediction->shape), state, "mse");
  return success();
}

LogicalResult lowerMseLossGrad(Operation *operation, LoweringState &state, std::string &error) {
  auto op = cast<nn::MseLossGradOp>(operation);
  auto prediction = state.tensor(op.getPrediction(), error);
  auto target = state.tensor(op.getTarget(), error);
  if (failed(prediction) || failed(target))
    return failure();
  std::vector<Halide::Var> v = storageVars(prediction->rank());
  const float scale = 2.0f / static_cast<float>(HostTensor::numElements(prediction->shape));
  Halide::Func out(state.freshName("mse_grad"));
  out(v) = (prediction->func(v) - target->func(v)) * scale;
  int stage = state.fusableStage(op.getPrediction());
  if (stage < 0)
    stage = state.fusableStage(op.getTarget());
  state.bindElementwise(op.getGradPrediction(), out, prediction->shape, stage);
  return success();
}

} // namespace kiln::halide
