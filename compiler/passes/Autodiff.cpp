// nn-autodiff: reverse-mode differentiation of @forward into func @train_step (forward in training
// form, loss, one backward rule per op from BackwardRules.cpp, optimizer update), as
// docs/training.md describes.
// Expects @forward after nn-params-to-arguments; leaves @forward unchanged.
#include "compiler/passes/Passes.h"

#include "compiler/passes/BackwardRules.h"

#include "kiln/Dialect/NN/NNOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"

#include "llvm/ADT/DenseSet.h"

using namespace mlir;

namespace kiln {

std::vector<std::string> optimizerSlotNames(StringRef optimizer) {
  if (optimizer == "adam")
    return {"exp_avg", "exp_avg_sq"};
  if (optimizer == "rmsprop")
    return {"square_avg"};
  if (optimizer == "momentum" || optimizer == "nesterov")
    return {"momentum_buffer"};
  return {};
}

namespace {

/// Builds @train_step from @forward.
class Differentiator {
public:
  Differentiator(func::FuncOp forward, const AutodiffOptions &options)
      : forward(forward), options(options), builder(forward.getContext()) {}

  LogicalResult run();

private:
  func::FuncOp forward;
  const AutodiffOptions &options;
  OpBuilder builder;
  func::FuncOp step;
  Value labels, hyper;
  IRMapping mapping;                         ///< forward values -> train_step values
  SmallVector<Operation *> tape;             ///< train_step's forward ops, in order
  llvm::DenseSet<Value> needsGrad;           ///< train_step values that depend on a trained parameter
  llvm::DenseMap<Value, Value> grads;        ///< train_step value -> dLoss/dValue
  llvm::DenseMap<Value, Value> runningStats; ///< running mean/var argument -> its updated value
  int64_t dropoutSeed = 0;

  LogicalResult createFunction();
  LogicalResult cloneForward();
  FailureOr<Value> addLoss(Value output);
  LogicalResult differentiate(Operation *op);
  void accumulate(Value value, Value grad);
  LogicalResult finish(Value loss);

  bool isStatistic(BlockArgument param) const;
  NamedAttribute named(StringRef name, Attribute value) { return builder.getNamedAttr(name, value); }
};

bool Differentiator::isStatistic(BlockArgument param) const {
  return llvm::any_of(param.getUses(), [](OpOperand &use) {
    auto bn = dyn_cast<nn::BatchNormOp>(use.getOwner());
    return bn && (use.get() == bn.getMean() || use.get() == bn.getVariance());
  });
}

LogicalResult Differentiator::createFunction() {
  MLIRContext *ctx = forward.getContext();
  if (forward.getNumResults() != 1)
    return forward.emitError("nn-autodiff: training needs a model with one output, this one has ")
           << forward.getNumResults();
  Type output = forward.getResultTypes()[0];
  auto outputType = cast<RankedTensorType>(output);
  Type labelsType;
  if (options.loss == "softmax_cross_entropy") {
    if (outputType.getRank() != 2)
      return forward.emitError("nn-autodiff: softmax_cross_entropy needs a [N, classes] output, the model's is ")
             << output << "; flatten it or use --loss mse";
    labelsType = RankedTensorType::get({outputType.getDimSize(0)}, builder.getF32Type());
  } else if (options.loss == "mse") {
    labelsType = output;
  } else {
    return forward.emitError("nn-autodiff: unknown loss '") << options.loss << "' (softmax_cross_entropy or mse)";
  }
  std::vector<std::string> slots = optimizerSlotNames(options.optimizer);
  if (nn::OptimizerUpdateOp::stateCount(options.optimizer) < 0)
    return forward.emitError("nn-autodiff: unknown optimizer '")
           << options.optimizer << "' (sgd, momentum, nesterov, rmsprop or adam)";

  SmallVector<Type> argTypes, resultTypes;
  SmallVector<DictionaryAttr> argAttrs, resultAttrs;
  auto dict = [&](StringRef key, StringRef value) {
    return DictionaryAttr::get(ctx, {builder.getNamedAttr(key, builder.getStringAttr(value))});
  };
  auto paramName = [&](unsigned i) { return forward.getArgAttrOfType<StringAttr>(i, "nn.param"); };
  for (unsigned i = 0; i < forward.getNumArguments(); ++i)
    if (!paramName(i)) {
      argTypes.push_back(forward.getArgument(i).getType());
      argAttrs.push_back(forward.getArgAttrDict(i) ? forward.getArgAttrDict(i) : DictionaryAttr::get(ctx));
    }
  argTypes.append({labelsType, RankedTensorType::get({2}, builder.getF32Type())});
  argAttrs.append({dict("nn.name", "labels"), dict("nn.name", "hyper")});
  resultTypes.push_back(RankedTensorType::get({1}, builder.getF32Type()));
  resultAttrs.push_back(dict("nn.name", "loss"));
  SmallVector<std::pair<Type, std::string>> state;
  for (unsigned i = 0; i < forward.getNumArguments(); ++i) {
    if (!paramName(i))
      continue;
    Type type = forward.getArgument(i).getType();
    argTypes.push_back(type);
    argAttrs.push_back(dict("nn.param", paramName(i)));
    resultTypes.push_back(type);
    resultAttrs.push_back(dict("nn.param", paramName(i)));
    if (!isStatistic(forward.getArgument(i)))
      for (const std::string &slot : slots)
        state.push_back({type, (paramName(i).getValue() + "." + slot).str()});
  }
  for (auto &[type, name] : state) {
    argTypes.push_back(type);
    argAttrs.push_back(dict("nn.state", name));
    resultTypes.push_back(type);
    resultAttrs.push_back(dict("nn.state", name));
  }

  builder.setInsertionPointAfter(forward);
  step = func::FuncOp::create(builder, forward.getLoc(), "train_step", builder.getFunctionType(argTypes, resultTypes));
  step.setAllArgAttrs(argAttrs);
  step.setAllResultAttrs(resultAttrs);
  Block *entry = step.addEntryBlock();
  builder.setInsertionPointToStart(entry);

  // Map forward arguments: inputs first, then parameters.
  unsigned next = 0, nonParams = 0;
  for (unsigned i = 0; i < forward.getNumArguments(); ++i)
    nonParams += paramName(i) ? 0 : 1;
  labels = step.getArgument(nonParams);
  hyper = step.getArgument(nonParams + 1);
  unsigned paramIndex = nonParams + 2;
  for (unsigned i = 0; i < forward.getNumArguments(); ++i) {
    BlockArgument arg = step.getArgument(paramName(i) ? paramIndex++ : next++);
    mapping.map(forward.getArgument(i), arg);
    if (paramName(i) && !isStatistic(forward.getArgument(i)))
      needsGrad.insert(arg);
  }
  return success();
}

LogicalResult Differentiator::cloneForward() {
  for (Operation &op : forward.getBody().front().without_terminator()) {
    Operation *clone = nullptr;
    if (auto dropout = dyn_cast<nn::DropoutOp>(op)) {
      clone = nn::DropoutTrainOp::create(builder, op.getLoc(), dropout.getType(), mapping.lookup(dropout.getInput()),
                                         hyper, dropout.getRateAttr(), builder.getI64IntegerAttr(dropoutSeed++));
    } else if (auto bn = dyn_cast<nn::BatchNormOp>(op)) {
      Value x = mapping.lookup(bn.getInput());
      clone = nn::BatchNormTrainOp::create(builder, op.getLoc(), bn.getType(), x, mapping.lookup(bn.getScale()),
                                           mapping.lookup(bn.getShift()), bn.getEpsilonAttr());
      for (auto [running, statistic] : {std::pair{bn.getMean(), "mean"}, std::pair{bn.getVariance(), "var"}}) {
        Value arg = mapping.lookup(running);
        if (runningStats.count(arg))
          return bn.emitError("nn-autodiff: running statistic used by two batch norms");
        runningStats[arg] = nn::RunningStatUpdateOp::create(
            builder, op.getLoc(), arg.getType(), arg, x, builder.getF32FloatAttr(options.batchNormMomentum),
            builder.getStringAttr(statistic));
      }
    } else {
      clone = builder.clone(op, mapping);
    }
    mapping.map(op.getResults(), clone->getResults());
    tape.push_back(clone);
    if (llvm::any_of(clone->getOperands(), [&](Value v) { return needsGrad.contains(v); }))
      needsGrad.insert(clone->getResult(0));
  }
  return success();
}

FailureOr<Value> Differentiator::addLoss(Value output) {
  Location loc = output.getLoc();
  auto lossType = RankedTensorType::get({1}, builder.getF32Type());
  if (options.loss == "mse") {
    Value loss = nn::MseLossOp::create(builder, loc, lossType, output, labels);
    accumulate(output, nn::MseLossGradOp::create(builder, loc, output.getType(), output, labels));
    return loss;
  }
  // A trailing softmax is part of the loss: cross-entropy takes the logits before it.
  Value logits = output;
  if (auto softmax = output.getDefiningOp<nn::SoftmaxOp>()) {
    logits = softmax.getInput();
    llvm::erase(tape, softmax.getOperation());
    softmax.erase();
  }
  Value loss = nn::SoftmaxCrossEntropyOp::create(builder, loc, lossType, logits, labels);
  accumulate(logits, nn::SoftmaxCrossEntropyGradOp::create(builder, loc, logits.getType(), logits, labels));
  return loss;
}

void Differentiator::accumulate(Value value, Value grad) {
  if (!needsGrad.contains(value))
    return;
  Value &sum = grads[value];
  sum = sum ? nn::AddOp::create(builder, grad.getLoc(), sum.getType(), sum, grad).getResult() : grad;
}

LogicalResult Differentiator::differentiate(Operation *op) {
  Value dy = grads.lookup(op->getResult(0));
  if (!dy)
    return success(); // nothing downstream depends on this op
  auto wanted = [&](Value value) { return needsGrad.contains(value); };
  auto add = [&](Value value, Value grad) { accumulate(value, grad); };
  return buildBackwardRule(builder, op, dy, GradientTable{wanted, add});
}

LogicalResult Differentiator::finish(Value loss) {
  SmallVector<Value> results{loss}, newState;
  unsigned stateIndex = step.getNumArguments();
  unsigned slots = static_cast<unsigned>(nn::OptimizerUpdateOp::stateCount(options.optimizer));
  // Count state arguments to find where they start.
  for (unsigned i = 0; i < step.getNumArguments(); ++i)
    if (step.getArgAttr(i, "nn.state")) {
      stateIndex = i;
      break;
    }
  for (unsigned i = 0; i < step.getNumArguments(); ++i) {
    auto name = step.getArgAttrOfType<StringAttr>(i, "nn.param");
    if (!name)
      continue;
    BlockArgument param = step.getArgument(i);
    if (runningStats.count(param)) {
      results.push_back(runningStats.lookup(param));
      continue;
    }
    if (!needsGrad.contains(param)) { // a running statistic of no batch norm: unchanged
      results.push_back(param);
      continue;
    }
    Value grad = grads.lookup(param);
    if (!grad)
      return forward.emitError("nn-autodiff: parameter '") << name.getValue() << "' does not affect the loss";
    SmallVector<Value> state;
    for (unsigned s = 0; s < slots; ++s)
      state.push_back(step.getArgument(stateIndex++));
    auto update = [&](int64_t which) {
      SmallVector<NamedAttribute> attrs{
          named("optimizer", builder.getStringAttr(options.optimizer)), named("which", builder.getI64IntegerAttr(which)),
          named("momentum", builder.getF32FloatAttr(options.momentum)),
          named("weight_decay", builder.getF32FloatAttr(options.weightDecay)),
          named("alpha", builder.getF32FloatAttr(options.alpha)), named("beta1", builder.getF32FloatAttr(options.beta1)),
          named("beta2", builder.getF32FloatAttr(options.beta2)), named("epsilon", builder.getF32FloatAttr(options.epsilon))};
      SmallVector<Value> operands{param, grad, hyper};
      operands.append(state);
      return nn::OptimizerUpdateOp::create(builder, param.getLoc(), TypeRange{param.getType()}, operands, attrs)
          .getResult();
    };
    results.push_back(update(0));
    for (unsigned s = 0; s < slots; ++s)
      newState.push_back(update(s + 1));
  }
  results.append(newState);
  func::ReturnOp::create(builder, forward.getLoc(), results);
  return success();
}

LogicalResult Differentiator::run() {
  if (failed(createFunction()) || failed(cloneForward()))
    return failure();
  auto ret = cast<func::ReturnOp>(forward.getBody().front().getTerminator());
  FailureOr<Value> loss = addLoss(mapping.lookup(ret.getOperand(0)));
  if (failed(loss))
    return failure();
  for (Operation *op : llvm::reverse(tape))
    if (failed(differentiate(op)))
      return failure();
  return finish(*loss);
}

struct AutodiffPass : PassWrapper<AutodiffPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(AutodiffPass)

  AutodiffPass() = default;
  AutodiffPass(const AutodiffPass &other) : PassWrapper(other) {}
  explicit AutodiffPass(const AutodiffOptions &options) {
    loss = options.loss;
    optimizer = options.optimizer;
    momentum = options.momentum;
    weightDecay = options.weightDecay;
    alpha = options.alpha;
    beta1 = options.beta1;
    beta2 = options.beta2;
    epsilon = options.epsilon;
    batchNormMomentum = options.batchNormMomentum;
  }

  StringRef getArgument() const override { return "nn-autodiff"; }
  StringRef getDescription() const override {
    return "Add func @train_step: forward in training form, loss, backward rules, optimizer update";
  }

  Option<std::string> loss{*this, "loss", llvm::cl::desc("softmax_cross_entropy or mse"),
                           llvm::cl::init("softmax_cross_entropy")};
  Option<std::string> optimizer{*this, "optimizer", llvm::cl::desc("sgd, momentum, nesterov, rmsprop or adam"),
                                llvm::cl::init("sgd")};
  Option<float> momentum{*this, "momentum", llvm::cl::init(0.9f)};
  Option<float> weightDecay{*this, "weight-decay", llvm::cl::init(0.0f)};
  Option<float> alpha{*this, "alpha", llvm::cl::desc("rmsprop's smoothing constant"), llvm::cl::init(0.99f)};
  Option<float> beta1{*this, "beta1", llvm::cl::init(0.9f)};
  Option<float> beta2{*this, "beta2", llvm::cl::init(0.999f)};
  Option<float> epsilon{*this, "epsilon", llvm::cl::init(1e-8f)};
  Option<float> batchNormMomentum{*this, "bn-momentum", llvm::cl::init(0.1f)};

  void runOnOperation() override {
    auto forward = getOperation().lookupSymbol<func::FuncOp>("forward");
    if (!forward) {
      getOperation().emitError("nn-autodiff: the module has no func @forward");
      return signalPassFailure();
    }
    AutodiffOptions options{loss, optimizer, momentum, weightDecay, alpha, beta1, beta2, epsilon, batchNormMomentum};
    if (failed(Differentiator(forward, options).run()))
      signalPassFailure();
  }
};

} // namespace

std::unique_ptr<Pass> createAutodiffPass(const AutodiffOptions &options) {
  return std::make_unique<AutodiffPass>(options);
}
std::unique_ptr<Pass> createAutodiffPass() { return std::make_unique<AutodiffPass>(); }

} // namespace kiln
