// The reference interpreter's driver: checks inputs and parameters, then walks a func (@forward,
// @train_step, ...) op by op, dispatching each nn op to its kernel in Kernels.h or
// TrainingKernels.h and keeping every value as a HostTensor.
#include "compiler/reference/Interpreter.h"
#include "compiler/reference/Kernels.h"
#include "compiler/reference/TrainingKernels.h"

#include "kiln/Dialect/NN/NNOps.h"
#include "kiln/Dialect/NN/ShapeRules.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>
#include <optional>

using namespace mlir;

namespace kiln {
namespace {

std::string shapeText(llvm::ArrayRef<int64_t> shape) { return "[" + nn::formatShape(shape) + "]"; }

std::string describe(Operation *op) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "'" << op->getName() << "' at " << op->getLoc();
  return text;
}

class Interpreter {
public:
  Interpreter(const WeightStore &weights, std::string &error) : weights(weights), error(error) {}

  FailureOr<std::vector<HostTensor>> run(func::FuncOp fn, const std::vector<HostTensor> &inputs) {
    if (fn.isExternal() || !fn.getBody().hasOneBlock())
      return fail("function @" + fn.getName().str() + " must have a body of exactly one block");
    if (failed(bindInputs(fn, inputs)))
      return failure();
    for (Operation &op : fn.getBody().front()) {
      if (auto ret = dyn_cast<func::ReturnOp>(op)) {
        std::vector<HostTensor> outputs;
        for (Value v : ret.getOperands())
          outputs.push_back(values.find(v)->second);
        return outputs;
      }
      if (failed(step(&op)))
        return failure();
    }
    return fail("function @" + fn.getName().str() + " has no func.return");
  }

private:
  LogicalResult fail(const std::string &message) {
    error = message;
    return failure();
  }

  LogicalResult bindInputs(func::FuncOp fn, const std::vector<HostTensor> &inputs) {
    if (inputs.size() != fn.getNumArguments())
      return fail("@" + fn.getName().str() + " takes " + std::to_string(fn.getNumArguments()) + " inputs, got " +
                  std::to_string(inputs.size()));
    for (unsigned i = 0; i < fn.getNumArguments(); ++i) {
      std::string name = "#" + std::to_string(i);
      for (const char *naming : {"nn.name", "nn.param", "nn.state"})
        if (auto nameAttr = fn.getArgAttrOfType<StringAttr>(i, naming)) {
          name = "'" + nameAttr.str() + "'";
          break;
        }
      auto type = dyn_cast<RankedTensorType>(fn.getArgument(i).getType());
      if (!type || !type.hasStaticShape())
        return fail("input " + name + " must be a statically shaped tensor");
      if (llvm::ArrayRef<int64_t>(inputs[i].shape) != type.getShape())
        return fail("input " + name + " must have shape " + shapeText(type.getShape()) + ", got " +
                    shapeText(inputs[i].shape));
      if (inputs[i].size() != HostTensor::numElements(inputs[i].shape))
        return fail("input " + name + " holds " + std::to_string(inputs[i].size()) + " values, shape " +
                    shapeText(inputs[i].shape) + " needs " +
                    std::to_string(HostTensor::numElements(inputs[i].shape)));
      values[fn.getArgument(i)] = inputs[i];
    }
    return success();
  }

  FailureOr<HostTensor> param(nn::ParamOp op) {
    std::string name = op.getName().str();
    auto it = weights.find(name);
    if (it == weights.end())
      return fail("parameter '" + name + "' is not in the weights");
    if (llvm::ArrayRef<int64_t>(it->second.shape) != op.getType().getShape())
      return fail("parameter '" + name + "': the model expects shape " + shapeText(op.getType().getShape()) +
                  " but the weights have " + shapeText(it->second.shape));
    if (it->second.size() != HostTensor::numElements(it->second.shape))
      return fail("parameter '" + name + "' holds " + std::to_string(it->second.size()) + " values for shape " +
                  shapeText(it->second.shape));
    return it->second;
  }

  /// Fails unless every label of `labels` is a class index of `logits` [N, K] (the kernels index
  /// with them).
  LogicalResult checkLabels(Operation *op, Value logits, Value labels) {
    const int64_t classes = at(logits).shape[1];
    for (float label : at(labels).data)
      if (!(label >= 0.0f && label < float(classes)))
        return fail("op " + describe(op) + ": label " + std::to_string(label) + " is not a class index in [0, " +
                    std::to_string(classes) + ")");
    return success();
  }

  /// Fails unless hyper[1], the step number, is a non-negative 32-bit count (dropout hashes it).
  LogicalResult checkStep(Operation *op, Value hyper) {
    const float step = at(hyper).data[1];
    if (!(step >= 0.0f && step < 4294967296.0f))
      return fail("op " + describe(op) + ": step hyper[1] = " + std::to_string(step) +
                  " is not a non-negative 32-bit count");
    return success();
  }

  static llvm::ArrayRef<int64_t> shapeOf(Value v) { return cast<RankedTensorType>(v.getType()).getShape(); }

  /// The sampling attributes of nn.resize or nn.resize_grad; `size` is the resized H x W.
  template <typename ResizeLike>
  static reference::ResizeAttributes resizeAttributes(ResizeLike op, llvm::ArrayRef<int64_t> size) {
    reference::ResizeAttributes attrs{op.getMode(), op.getCoordinateMode(), op.getNearestMode(), size};
    if (auto scales = op.getScales())
      attrs.scales.assign(scales->begin(), scales->end());
    attrs.cubicCoeffA = op.getCubicCoeffA().convertToFloat();
    attrs.excludeOutside = op.getExcludeOutside();
    return attrs;
  }

  const HostTensor &at(Value v) { return values.find(v)->second; }
  const HostTensor *ifPresent(Value v) { return v ? &at(v) : nullptr; }
  std::vector<const HostTensor *> all(ValueRange range) {
    std::vector<const HostTensor *> tensors;
    for (Value v : range)
      tensors.push_back(&at(v));
    return tensors;
  }

  /// Runs one op and records its result.
  LogicalResult step(Operation *op) {
    if (op->getNumResults() != 1)
      return fail("unsupported op " + describe(op) + " (the interpreter runs nn ops only)");
    for (Value v : op->getOperands())
      if (!values.count(v))
        return fail("op " + describe(op) + " uses a value the interpreter has not computed");
    using namespace reference;
    using Result = std::optional<HostTensor>;
    std::optional<HostTensor> result =
        llvm::TypeSwitch<Operation *, Result>(op)
            .Case([&](nn::ParamOp p) -> Result {
              auto value = param(p);
              return succeeded(value) ? Result(std::move(*value)) : Result();
            })
            .Case([&](nn::Conv2DOp c) -> Result {
              return conv2d(at(c.getInput()), at(c.getFilter()), ifPresent(c.getBias()), c.getStrides(),
                            c.getPadding(), c.getDilations(), static_cast<int64_t>(c.getGroups()));
            })
            .Case([&](nn::DenseOp d) -> Result {
              return dense(at(d.getInput()), at(d.getWeight()), ifPresent(d.getBias()));
            })
            .Case([&](nn::ConvTranspose2DOp c) -> Result {
              return convTranspose2d(at(c.getInput()), at(c.getFilter()), ifPresent(c.getBias()), c.getStrides(),
                                     c.getPadding(), c.getOutputPadding(), c.getDilations(),
                                     static_cast<int64_t>(c.getGroups()));
            })
            .Case([&](nn::MaxPool2DOp p) -> Result {
              return maxPool2d(at(p.getInput()), p.getKernel(), p.getStrides(), p.getPadding(), p.getCeilMode());
            })
            .Case([&](nn::AvgPool2DOp p) -> Result {
              return avgPool2d(at(p.getInput()), p.getKernel(), p.getStrides(), p.getPadding(),
                               p.getCountIncludePad(), p.getCeilMode());
            })
            .Case([&](nn::GlobalAvgPoolOp p) -> Result { return globalAvgPool(at(p.getInput())); })
            .Case([&](nn::GlobalMaxPoolOp p) -> Result { return globalMaxPool(at(p.getInput())); })
            .Case([&](nn::LRNOp l) -> Result {
              return lrn(at(l.getInput()), static_cast<int64_t>(l.getSize()), l.getAlpha().convertToFloat(),
                         l.getBeta().convertToFloat(), l.getBias().convertToFloat());
            })
            .Case([&](nn::LogSoftmaxOp s) -> Result {
              return logSoftmax(at(s.getInput()), static_cast<int64_t>(s.getAxis()));
            })
            .Case([&](nn::ClipOp c) -> Result {
              double lo = c.getMin().convertToFloat(), hi = c.getMax().convertToFloat();
              return map(at(c.getInput()), [lo, hi](double x) { return clip(x, lo, hi); });
            })
            .Case([&](nn::HardSigmoidOp h) -> Result {
              double alpha = h.getAlpha().convertToFloat(), beta = h.getBeta().convertToFloat();
              return map(at(h.getInput()), [alpha, beta](double x) { return hardSigmoid(x, alpha, beta); });
            })
            .Case([&](nn::HardSwishOp h) -> Result { return map(at(h.getInput()), hardSwish); })
            .Case([&](nn::BatchNormOp b) -> Result {
              return batchNorm(at(b.getInput()), at(b.getScale()), at(b.getShift()), at(b.getMean()),
                               at(b.getVariance()), double(b.getEpsilon().convertToFloat()));
            })
            .Case([&](nn::SoftmaxOp s) -> Result {
              return softmax(at(s.getInput()), static_cast<int64_t>(s.getAxis()));
            })
            .Case([&](nn::ReluOp r) -> Result { return map(at(r.getInput()), relu); })
            .Case([&](nn::TanhOp t) -> Result {
              return map(at(t.getInput()), [](double x) { return std::tanh(x); });
            })
            .Case([&](nn::SigmoidOp s) -> Result { return map(at(s.getInput()), sigmoid); })
            .Case([&](nn::LeakyReluOp l) -> Result {
              double alpha = l.getAlpha().convertToFloat();
              return map(at(l.getInput()), [alpha](double x) { return leakyRelu(x, alpha); });
            })
            .Case([&](nn::DropoutOp d) -> Result { return at(d.getInput()); }) // identity at inference
            .Case([&](nn::AddOp a) -> Result { return add(at(a.getLhs()), at(a.getRhs())); })
            .Case([&](nn::SubOp b) -> Result {
              return broadcast(at(b.getLhs()), at(b.getRhs()), [](double x, double y) { return x - y; });
            })
            .Case([&](nn::MulOp b) -> Result {
              return broadcast(at(b.getLhs()), at(b.getRhs()), [](double x, double y) { return x * y; });
            })
            .Case([&](nn::DivOp b) -> Result {
              return broadcast(at(b.getLhs()), at(b.getRhs()), [](double x, double y) { return x / y; });
            })
            .Case([&](nn::MaxOp b) -> Result { // NaN wins, as in ONNX Max / torch.maximum
              return broadcast(at(b.getLhs()), at(b.getRhs()),
                               [](double x, double y) { return std::isnan(x) || x > y ? x : y; });
            })
            .Case([&](nn::MinOp b) -> Result {
              return broadcast(at(b.getLhs()), at(b.getRhs()),
                               [](double x, double y) { return std::isnan(x) || x < y ? x : y; });
            })
            .Case([&](nn::PowOp b) -> Result {
              return broadcast(at(b.getLhs()), at(b.getRhs()), [](double x, double y) { return std::pow(x, y); });
            })
            .Case([&](nn::PReluOp b) -> Result {
              return broadcast(at(b.getLhs()), at(b.getRhs()), [](double x, double s) { return x > 0.0 ? x : s * x; });
            })
            .Case([&](nn::UnaryOp u) -> Result {
              std::string fn = u.getFn().str();
              double alpha = u.getAlpha().convertToFloat(), beta = u.getBeta().convertToFloat();
              return map(at(u.getInput()), [&](double x) { return unaryFunction(fn, x, alpha, beta); });
            })
            .Case([&](nn::TransposeOp t) -> Result { return transpose(at(t.getInput()), t.getPerm()); })
            .Case([&](nn::BroadcastOp b) -> Result { return broadcastTo(at(b.getInput()), shapeOf(b.getOutput())); })
            .Case([&](nn::ReduceOp r) -> Result { return reduce(at(r.getInput()), r.getKind(), r.getAxes()); })
            .Case([&](nn::MatMulOp m) -> Result { return matmul(at(m.getLhs()), at(m.getRhs())); })
            .Case([&](nn::SumOp s) -> Result { return sumOf(all(s.getInputs()), false); })
            .Case([&](nn::MeanOp m) -> Result { return sumOf(all(m.getInputs()), true); })
            .Case([&](nn::ReshapeOp r) -> Result { return reshape(at(r.getInput()), r.getShape()); })
            .Case([&](nn::PadOp p) -> Result {
              return pad(at(p.getInput()), p.getPads(), p.getValue().convertToFloat());
            })
            .Case([&](nn::ResizeOp r) -> Result { return resize(at(r.getInput()), resizeAttributes(r, r.getSize())); })
            .Case([&](nn::ResizeGradOp r) -> Result {
              return resizeGrad(at(r.getGradOutput()), resizeAttributes(r, shapeOf(r.getGradOutput()).drop_front(2)),
                                shapeOf(r.getGradInput()));
            })
            .Case([&](nn::FlattenOp f) -> Result { return flatten(at(f.getInput())); })
            .Case([&](nn::ConcatOp c) -> Result { return concat(all(c.getInputs()), static_cast<int64_t>(c.getAxis())); })
            // Training ops (NNTrainingOps.td).
            .Case([&](nn::Conv2DGradFilterOp c) -> Result {
              return conv2dGradFilter(at(c.getInput()), at(c.getGradOutput()), shapeOf(c.getGradFilter()).drop_front(2),
                                      c.getStrides(), c.getPadding(), c.getDilations(),
                                      static_cast<int64_t>(c.getGroups()));
            })
            .Case([&](nn::DenseGradInputOp d) -> Result {
              return denseGradInput(at(d.getGradOutput()), at(d.getWeight()));
            })
            .Case([&](nn::DenseGradWeightOp d) -> Result {
              return denseGradWeight(at(d.getInput()), at(d.getGradOutput()));
            })
            .Case([&](nn::BiasGradOp b) -> Result { return biasGrad(at(b.getGradOutput())); })
            .Case([&](nn::MaxPool2DGradOp p) -> Result {
              return maxPool2dGrad(at(p.getInput()), at(p.getGradOutput()), p.getKernel(), p.getStrides(),
                                   p.getPadding());
            })
            .Case([&](nn::AvgPool2DGradOp p) -> Result {
              return avgPool2dGrad(at(p.getGradOutput()), shapeOf(p.getGradInput()), p.getKernel(), p.getStrides(),
                                   p.getPadding(), p.getCountIncludePad());
            })
            .Case([&](nn::GlobalAvgPoolGradOp p) -> Result {
              return globalAvgPoolGrad(at(p.getGradOutput()), shapeOf(p.getGradInput()));
            })
            .Case([&](nn::ActivationGradOp a) -> Result {
              return activationGrad(at(a.getOutput()), at(a.getGradOutput()), a.getActivation(),
                                    a.getAlpha().convertToFloat());
            })
            .Case([&](nn::SoftmaxCrossEntropyOp l) -> Result {
              if (failed(checkLabels(op, l.getLogits(), l.getLabels())))
                return std::nullopt;
              return softmaxCrossEntropy(at(l.getLogits()), at(l.getLabels()));
            })
            .Case([&](nn::SoftmaxCrossEntropyGradOp l) -> Result {
              if (failed(checkLabels(op, l.getLogits(), l.getLabels())))
                return std::nullopt;
              return softmaxCrossEntropyGrad(at(l.getLogits()), at(l.getLabels()));
            })
            .Case([&](nn::MseLossOp l) -> Result { return mseLoss(at(l.getPrediction()), at(l.getTarget())); })
            .Case([&](nn::MseLossGradOp l) -> Result {
              return mseLossGrad(at(l.getPrediction()), at(l.getTarget()));
            })
            .Case([&](nn::DropoutTrainOp d) -> Result {
              if (failed(checkStep(op, d.getHyper())))
                return std::nullopt;
              return dropoutTrain(at(d.getInput()), at(d.getHyper()), d.getRate().convertToFloat(),
                                  static_cast<int64_t>(d.getSeed()));
            })
            .Case([&](nn::BatchNormTrainOp b) -> Result {
              return batchNormTrain(at(b.getInput()), at(b.getScale()), at(b.getShift()),
                                    double(b.getEpsilon().convertToFloat()));
            })
            .Case([&](nn::BatchNormGradInputOp b) -> Result {
              return batchNormGradInput(at(b.getInput()), at(b.getScale()), at(b.getGradOutput()),
                                        double(b.getEpsilon().convertToFloat()));
            })
            .Case([&](nn::BatchNormGradScaleOp b) -> Result {
              return batchNormGradScale(at(b.getInput()), at(b.getGradOutput()),
                                        double(b.getEpsilon().convertToFloat()));
            })
            .Case([&](nn::RunningStatUpdateOp r) -> Result {
              return runningStatUpdate(at(r.getRunning()), at(r.getInput()), double(r.getMomentum().convertToFloat()),
                                       r.getStatistic());
            })
            .Case([&](nn::SliceOp s) -> Result {
              return slice(at(s.getInput()), s.getStarts(), s.getSteps(), shapeOf(s.getOutput()));
            })
            .Case([&](nn::SliceGradOp s) -> Result {
              return sliceGrad(at(s.getGradOutput()), s.getStarts(), s.getSteps(), shapeOf(s.getGradInput()));
            })
            .Case([&](nn::UnaryGradOp u) -> Result {
              return unaryGrad(at(u.getInput()), at(u.getGradOutput()), u.getFn(), u.getAlpha().convertToFloat(),
                               u.getBeta().convertToFloat());
            })
            .Case([&](nn::ReduceGradOp r) -> Result {
              return reduceGrad(at(r.getInput()), at(r.getOutput()), at(r.getGradOutput()), r.getKind(), r.getAxes());
            })
            .Case([&](nn::OptimizerUpdateOp u) -> Result {
              OptimizerSettings settings;
              settings.optimizer = u.getOptimizer();
              settings.which = static_cast<int64_t>(u.getWhich());
              settings.momentum = u.getMomentum().convertToFloat();
              settings.weightDecay = u.getWeightDecay().convertToFloat();
              settings.alpha = u.getAlpha().convertToFloat();
              settings.beta1 = u.getBeta1().convertToFloat();
              settings.beta2 = u.getBeta2().convertToFloat();
              settings.epsilon = u.getEpsilon().convertToFloat();
              return optimizerUpdate(at(u.getParam()), at(u.getGrad()), at(u.getHyper()), all(u.getState()),
                                     settings);
            })
            .Default([&](Operation *) -> Result {
              (void)fail("unsupported op " + describe(op) + " (the interpreter runs nn ops only)");
              return std::nullopt;
            });
    if (!result)
      return failure();
    auto type = dyn_cast<RankedTensorType>(op->getResult(0).getType());
    if (!type || type.getShape() != llvm::ArrayRef<int64_t>(result->shape))
      return fail("internal error: op " + describe(op) + " computed shape " + shapeText(result->shape) +
                  " but its type says " + (type ? shapeText(type.getShape()) : std::string("unranked")));
    values[op->getResult(0)] = std::move(*result);
    return success();
  }

  const WeightStore &weights;
  std::string &error;
  llvm::DenseMap<Value, HostTensor> values;
};

} // namespace

FailureOr<std::vector<HostTensor>> interpret(func::FuncOp fn, const WeightStore &weights,
                                             const std::vector<HostTensor> &inputs, std::string &error) {
  // The kernels trust verified shapes and attributes, so verify first and keep the diagnostic.
  std::string diagnostics;
  {
    ScopedDiagnosticHandler handler(fn.getContext(), [&](Diagnostic &diag) {
      diagnostics += (diagnostics.empty() ? "" : "; ") + diag.str();
      return success();
    });
    if (failed(verify(fn))) {
      error = "invalid IR in @" + fn.getName().str() + ": " + diagnostics;
      return failure();
    }
  }
  return Interpreter(weights, error).run(fn, inputs);
}

} // namespace kiln
