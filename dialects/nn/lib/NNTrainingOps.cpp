// Verifiers of the nn training ops (NNTrainingOps.td): each checks its operands and explicit
// result type against the forward op's shape rule, and says what it expected.
#include "kiln/Dialect/NN/NNOps.h"
#include "kiln/Dialect/NN/ShapeRules.h"

#include "llvm/ADT/StringSwitch.h"

using namespace mlir;
using namespace kiln::nn;

static ArrayRef<int64_t> shapeOf(Value v) { return cast<RankedTensorType>(v.getType()).getShape(); }

/// Fails with "expected <what> <want>, got <got>" unless the shapes are equal.
static LogicalResult expectShape(Operation *op, StringRef what, ArrayRef<int64_t> want, ArrayRef<int64_t> got) {
  if (want == got)
    return success();
  return op->emitOpError("expected ") << what << " " << formatShape(want) << ", got " << formatShape(got);
}

/// Fails with the shape rule's reason, or unless the rule's shape is `got`.
static LogicalResult expectRule(Operation *op, StringRef what, FailureOr<Shape> rule, const std::string &why,
                                ArrayRef<int64_t> got) {
  if (failed(rule))
    return op->emitOpError(why);
  return expectShape(op, what, *rule, got);
}

/// The per-channel shape [C] of an [N, C, ...] tensor.
static LogicalResult expectChannels(Operation *op, StringRef what, Value tensor, Value perChannel) {
  ArrayRef<int64_t> shape = shapeOf(tensor);
  if (shape.size() < 2)
    return op->emitOpError("expected an [N, C, ...] tensor, got ") << formatShape(shape);
  return expectShape(op, what, {shape[1]}, shapeOf(perChannel));
}

static LogicalResult expectHyper(Operation *op, Value hyper) {
  return expectShape(op, "hyper (learning rate, step) of shape", {2}, shapeOf(hyper));
}

LogicalResult Conv2DGradFilterOp::verify() {
  std::string why;
  auto out = inferConv2DShape(shapeOf(getInput()), shapeOf(getGradFilter()), std::nullopt, getStrides(),
                              getPadding(), getDilations(), static_cast<int64_t>(getGroups()), why);
  return expectRule(*this, "grad_output (the convolution's output shape)", out, why, shapeOf(getGradOutput()));
}

LogicalResult DenseGradInputOp::verify() {
  ArrayRef<int64_t> dy = shapeOf(getGradOutput()), w = shapeOf(getWeight());
  if (dy[1] != w[0])
    return emitOpError("expected grad_output [N, M] and weight [M, K] to agree on M, got ")
           << formatShape(dy) << " and " << formatShape(w);
  return expectShape(*this, "result", {dy[0], w[1]}, shapeOf(getGradInput()));
}

LogicalResult DenseGradWeightOp::verify() {
  ArrayRef<int64_t> x = shapeOf(getInput()), dy = shapeOf(getGradOutput());
  if (x[0] != dy[0])
    return emitOpError("expected input [N, K] and grad_output [N, M] to agree on N, got ")
           << formatShape(x) << " and " << formatShape(dy);
  return expectShape(*this, "result", {dy[1], x[1]}, shapeOf(getGradWeight()));
}

LogicalResult BiasGradOp::verify() { return expectChannels(*this, "result", getGradOutput(), getGradBias()); }

LogicalResult MaxPool2DGradOp::verify() {
  std::string why;
  auto out = inferPool2DShape(shapeOf(getInput()), getKernel(), getStrides(), getPadding(), why, getCeilMode());
  if (failed(expectRule(*this, "grad_output (the pool's output shape)", out, why, shapeOf(getGradOutput()))))
    return failure();
  return expectShape(*this, "result (the input shape)", shapeOf(getInput()), shapeOf(getGradInput()));
}

LogicalResult AvgPool2DGradOp::verify() {
  std::string why;
  auto out = inferPool2DShape(shapeOf(getGradInput()), getKernel(), getStrides(), getPadding(), why, getCeilMode());
  return expectRule(*this, "grad_output (the pool's output shape)", out, why, shapeOf(getGradOutput()));
}

LogicalResult ResizeGradOp::verify() {
  ArrayRef<int64_t> in = shapeOf(getGradInput()), out = shapeOf(getGradOutput());
  std::string why;
  auto rule = inferResizeShape(in, getMode(), out.drop_front(2), why);
  return expectRule(*this, "grad_output (the resize's output shape)", rule, why, out);
}

LogicalResult GlobalAvgPoolGradOp::verify() {
  std::string why;
  return expectRule(*this, "grad_output", inferGlobalPoolShape(shapeOf(getGradInput()), why), why,
                    shapeOf(getGradOutput()));
}

LogicalResult ActivationGradOp::verify() {
  if (!llvm::is_contained({"relu", "leaky_relu", "tanh", "sigmoid"}, getActivation()))
    return emitOpError("expected activation relu, leaky_relu, tanh or sigmoid, got '") << getActivation() << "'";
  return success();
}

/// Logits [N, K] and labels [N].
static LogicalResult verifyClassification(Operation *op, Value logits, Value labels) {
  return expectShape(op, "labels (one class index per sample) of shape", {shapeOf(logits)[0]}, shapeOf(labels));
}

LogicalResult SoftmaxCrossEntropyOp::verify() {
  if (failed(verifyClassification(*this, getLogits(), getLabels())))
    return failure();
  return expectShape(*this, "result", {1}, shapeOf(getLoss()));
}

LogicalResult SoftmaxCrossEntropyGradOp::verify() {
  if (failed(verifyClassification(*this, getLogits(), getLabels())))
    return failure();
  return expectShape(*this, "result", shapeOf(getLogits()), shapeOf(getGradLogits()));
}

LogicalResult MseLossOp::verify() {
  if (failed(expectShape(*this, "target of the prediction's shape", shapeOf(getPrediction()), shapeOf(getTarget()))))
    return failure();
  return expectShape(*this, "result", {1}, shapeOf(getLoss()));
}

LogicalResult MseLossGradOp::verify() { return success(); }

LogicalResult DropoutTrainOp::verify() {
  float rate = getRate().convertToFloat();
  if (!(rate >= 0.0f && rate < 1.0f))
    return emitOpError("expected rate in [0, 1), got ") << rate;
  return expectHyper(*this, getHyper());
}

LogicalResult BatchNormTrainOp::verify() {
  if (failed(expectChannels(*this, "scale", getInput(), getScale())) ||
      failed(expectChannels(*this, "shift", getInput(), getShift())))
    return failure();
  return expectShape(*this, "result", shapeOf(getInput()), shapeOf(getOutput()));
}

LogicalResult BatchNormGradInputOp::verify() {
  if (failed(expectChannels(*this, "scale", getInput(), getScale())) ||
      failed(expectShape(*this, "grad_output", shapeOf(getInput()), shapeOf(getGradOutput()))))
    return failure();
  return expectShape(*this, "result", shapeOf(getInput()), shapeOf(getGradInput()));
}

LogicalResult BatchNormGradScaleOp::verify() {
  if (failed(expectShape(*this, "grad_output", shapeOf(getInput()), shapeOf(getGradOutput()))))
    return failure();
  return expectChannels(*this, "result", getInput(), getGradScale());
}

LogicalResult RunningStatUpdateOp::verify() {
  if (getStatistic() != "mean" && getStatistic() != "var")
    return emitOpError("expected statistic \"mean\" or \"var\", got '") << getStatistic() << "'";
  if (failed(expectChannels(*this, "running statistic", getInput(), getRunning())))
    return failure();
  return expectShape(*this, "result", shapeOf(getRunning()), shapeOf(getUpdated()));
}

LogicalResult UnaryGradOp::verify() {
  if (!llvm::is_contained(unaryFunctions(), getFn()))
    return emitOpError("unknown function '") << getFn() << "'";
  return success();
}

LogicalResult ReduceGradOp::verify() {
  std::string why;
  auto out = inferReduceShape(shapeOf(getInput()), getKind(), getAxes(), why);
  if (failed(expectRule(*this, "output (the reduction's result shape)", out, why, shapeOf(getOutput()))) ||
      failed(expectShape(*this, "grad_output", *out, shapeOf(getGradOutput()))))
    return failure();
  return expectShape(*this, "result (the input shape)", shapeOf(getInput()), shapeOf(getGradInput()));
}

LogicalResult SliceGradOp::verify() {
  std::string why;
  if (failed(checkSlice(shapeOf(getGradInput()), getStarts(), getSteps(), shapeOf(getGradOutput()), why)))
    return emitOpError(why);
  return success();
}

int OptimizerUpdateOp::stateCount(StringRef optimizer) {
  return llvm::StringSwitch<int>(optimizer)
      .Case("sgd", 0)
      .Cases("momentum", "nesterov", "rmsprop", 1)
      .Case("adam", 2)
      .Default(-1);
}

LogicalResult OptimizerUpdateOp::verify() {
  int slots = stateCount(getOptimizer());
  if (slots < 0)
    return emitOpError("expected optimizer sgd, momentum, nesterov, rmsprop or adam, got '") << getOptimizer() << "'";
  if (static_cast<int>(getState().size()) != slots)
    return emitOpError("expected ") << slots << " state tensors for " << getOptimizer() << ", got "
                                    << getState().size();
  if (static_cast<int64_t>(getWhich()) < 0 || static_cast<int64_t>(getWhich()) > slots)
    return emitOpError("expected which in [0, ") << slots << "], got " << getWhich();
  if (failed(expectHyper(*this, getHyper())))
    return failure();
  ArrayRef<int64_t> p = shapeOf(getParam());
  for (Value v : llvm::concat<Value>(ValueRange{getGrad(), getUpdated()}, getState()))
    if (failed(expectShape(*this, "the parameter's shape", p, shapeOf(v))))
      return failure();
  return success();
}
