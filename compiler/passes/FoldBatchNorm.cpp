// nn-fold-batch-norm: folds an inference batch_norm into the conv2d or dense that feeds it.
// Expects verified nn IR; with a weight store, every parameter of a folded pair must be bound.
// Guarantees the same function values (up to float rounding of the new parameters).
//
// For output channel f, with s[f] = scale[f] / sqrt(var[f] + epsilon):
//   weight'[f, ...] = weight[f, ...] * s[f]                 (dimension 0 is the output channel
//   bias'[f]        = (bias[f] - mean[f]) * s[f] + shift[f]  for conv2d at any groups, and dense)
// with bias = 0 when the conv/dense has none. A pair is folded only when the conv/dense result
// has the batch_norm as its single user and every parameter is an nn.param (otherwise another
// user would see normalised values, or there is no data to fold).
//
// Names of the new parameters: the old name, '+', the batch_norm's layer name (its NameLoc, else
// its scale parameter's name without ".weight"):
//   c1.weight -> c1.weight+bn1      c1.bias -> c1.bias+bn1
// A conv/dense without bias gets the bias name of its weight (".weight" -> ".bias", else
// "<weight>.bias"), so `c1.weight` without bias gives `c1.bias+bn1` too. A chain conv -> bn1 ->
// bn2 folds twice: c1.weight+bn1+bn2. The old parameters stay in the store (another layer may
// share them); their nn.param ops are erased once unused.
#include "compiler/passes/ParamData.h"
#include "compiler/passes/Passes.h"

#include "kiln/Dialect/NN/NNOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"

#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/SmallVector.h"

#include <cmath>
#include <optional>
#include <string>

using namespace mlir;

namespace kiln {
namespace {

/// The nn.param producing `value`, or null.
nn::ParamOp paramOf(Value value) { return value ? value.getDefiningOp<nn::ParamOp>() : nn::ParamOp(); }

/// The layer name of `bn`: its NameLoc, else its scale parameter's name without ".weight".
std::string layerName(nn::BatchNormOp bn, nn::ParamOp scale) {
  if (auto name = dyn_cast<NameLoc>(bn.getLoc()))
    return name.getName().str();
  StringRef text = scale.getName();
  text.consume_back(".weight");
  return text.str();
}

/// The name of the bias belonging to weight `weight` when the layer has none.
std::string biasNameFor(StringRef weight) {
  if (weight.consume_back(".weight"))
    return (weight + ".bias").str();
  return (weight + ".bias").str();
}

/// One foldable conv2d/dense + batch_norm pair.
struct Candidate {
  Operation *producer; // nn.conv2d or nn.dense; operand 1 is the weight, optional operand 2 the bias
  nn::BatchNormOp bn;
  nn::ParamOp weight, bias; // bias may be null
  nn::ParamOp scale, shift, mean, variance;
};

std::optional<Candidate> match(nn::BatchNormOp bn) {
  Operation *producer = bn.getInput().getDefiningOp();
  if (!producer || !isa<nn::Conv2DOp, nn::DenseOp>(producer) || !producer->getResult(0).hasOneUse())
    return std::nullopt;
  Candidate c{producer,
              bn,
              paramOf(producer->getOperand(1)),
              producer->getNumOperands() > 2 ? paramOf(producer->getOperand(2)) : nn::ParamOp(),
              paramOf(bn.getScale()),
              paramOf(bn.getShift()),
              paramOf(bn.getMean()),
              paramOf(bn.getVariance())};
  bool biasOk = producer->getNumOperands() <= 2 || c.bias;
  if (!c.weight || !biasOk || !c.scale || !c.shift || !c.mean || !c.variance)
    return std::nullopt;
  return c;
}

class FoldBatchNormPass : public PassWrapper<FoldBatchNormPass, OperationPass<>> {
public:
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(FoldBatchNormPass)

  explicit FoldBatchNormPass(WeightStore *weights) : weights(weights) {}

  StringRef getArgument() const override { return "nn-fold-batch-norm"; }
  StringRef getDescription() const override {
    return "Fold inference batch_norm into the conv2d/dense that feeds it (new named parameters)";
  }

  void runOnOperation() override {
    SmallVector<nn::BatchNormOp> bns;
    getOperation()->walk([&](nn::BatchNormOp bn) { bns.push_back(bn); });
    for (nn::BatchNormOp bn : bns) // in order, so conv -> bn1 -> bn2 folds bn1 then bn2
      if (std::optional<Candidate> c = match(bn))
        if (failed(fold(*c)))
          return signalPassFailure();
  }

private:
  const HostTensor *dataOf(nn::ParamOp param, nn::BatchNormOp bn) {
    return paramData(*weights, param, bn, "nn-fold-batch-norm");
  }

  /// Computes the folded weight and bias into the store under the given names.
  LogicalResult foldData(Candidate c, const std::string &weightName, const std::string &biasName) {
    const HostTensor *w = dataOf(c.weight, c.bn), *b = c.bias ? dataOf(c.bias, c.bn) : nullptr;
    const HostTensor *scale = dataOf(c.scale, c.bn), *shift = dataOf(c.shift, c.bn);
    const HostTensor *mean = dataOf(c.mean, c.bn), *var = dataOf(c.variance, c.bn);
    if (!w || (c.bias && !b) || !scale || !shift || !mean || !var)
      return failure();
    const int64_t channels = w->shape[0], perChannel = w->size() / channels;
    const double epsilon = c.bn.getEpsilon().convertToDouble();
    HostTensor newWeight(w->shape), newBias({channels});
    for (int64_t f = 0; f < channels; ++f) {
      const double s = double(scale->data[f]) / std::sqrt(double(var->data[f]) + epsilon);
      for (int64_t i = 0; i < perChannel; ++i)
        newWeight.data[f * perChannel + i] = static_cast<float>(w->data[f * perChannel + i] * s);
      const double bias = b ? b->data[f] : 0.0;
      newBias.data[f] = static_cast<float>((bias - mean->data[f]) * s + shift->data[f]);
    }
    (*weights)[weightName] = std::move(newWeight);
    (*weights)[biasName] = std::move(newBias);
    return success();
  }

  LogicalResult fold(Candidate c) {
    std::string bnName = layerName(c.bn, c.scale);
    std::string weightName = (c.weight.getName() + "+" + bnName).str();
    std::string biasName = (c.bias ? c.bias.getName().str() : biasNameFor(c.weight.getName())) + "+" + bnName;
    if (weights && failed(foldData(c, weightName, biasName)))
      return failure();

    // The new parameters and layer take the places of the old ones; the batch_norm goes.
    OpBuilder builder(c.producer);
    RankedTensorType weightType = c.weight.getType();
    auto biasType = RankedTensorType::get({weightType.getDimSize(0)}, weightType.getElementType());
    Value newWeight = nn::ParamOp::create(builder, c.weight.getLoc(), weightType, builder.getStringAttr(weightName));
    Value newBias = nn::ParamOp::create(builder, c.bias ? c.bias.getLoc() : c.weight.getLoc(), biasType,
                                        builder.getStringAttr(biasName));
    Operation *folded = builder.clone(*c.producer);
    folded->setOperand(1, newWeight);
    if (c.bias)
      folded->setOperand(2, newBias);
    else
      folded->insertOperands(2, newBias);
    c.bn.getResult().replaceAllUsesWith(folded->getResult(0));
    c.bn.erase();
    c.producer->erase();
    llvm::SmallSetVector<Operation *, 6> params; // one op may feed several operands
    for (nn::ParamOp param : {c.weight, c.bias, c.scale, c.shift, c.mean, c.variance})
      if (param)
        params.insert(param);
    for (Operation *param : params)
      if (param->use_empty())
        param->erase();
    return success();
  }

  WeightStore *weights;
};

} // namespace

std::unique_ptr<Pass> createFoldBatchNormPass(WeightStore *weights) {
  return std::make_unique<FoldBatchNormPass>(weights);
}

} // namespace kiln
