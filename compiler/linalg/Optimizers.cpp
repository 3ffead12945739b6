// convert-nn-to-linalg, nn.optimizer_update (as compiler/halide/Optimizers.cpp): one elementwise
// generic per result (the new parameter or one new state slot), each recomputing what it needs
// from param, grad and state (sgd, momentum, nesterov, rmsprop, adam as in PyTorch). lr = hyper[0]
// and t = hyper[1] are read once outside the loop; Adam's bias corrections 1 - beta^t are computed
// there in double, as the reference does.
#include "compiler/linalg/PopulatePatterns.h"

#include "kiln/Dialect/NN/NNOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

using namespace mlir;

namespace kiln::linalg_backend {
namespace {

/// 1 - beta^t as an f32, computed in double.
Value biasCorrection(OpBuilder &b, Location loc, float beta, Value t) {
  Value power = math::PowFOp::create(b, loc, arith::ConstantOp::create(b, loc, b.getF64FloatAttr(beta)),
                                     arith::ExtFOp::create(b, loc, b.getF64Type(), t));
  Value one = arith::ConstantOp::create(b, loc, b.getF64FloatAttr(1.0));
  return arith::TruncFOp::create(b, loc, b.getF32Type(), arith::SubFOp::create(b, loc, one, power));
}

struct OptimizerUpdateLowering : OpConversionPattern<nn::OptimizerUpdateOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(nn::OptimizerUpdateOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &b) const override {
    Location loc = op.getLoc();
    StringRef optimizer = op.getOptimizer();
    int slots = nn::OptimizerUpdateOp::stateCount(optimizer);
    if (slots < 0 || static_cast<int>(adaptor.getState().size()) != slots || op.getWhich() < 0 || op.getWhich() > slots)
      return b.notifyMatchFailure(op, "nn.optimizer_update: unsupported optimizer '" + optimizer + "' or operands");
    Value lr = scalarAt(b, loc, adaptor.getHyper(), 0), t = scalarAt(b, loc, adaptor.getHyper(), 1);
    const float weightDecay = op.getWeightDecay().convertToFloat(), momentum = op.getMomentum().convertToFloat(),
                epsilon = op.getEpsilon().convertToFloat(), alpha = op.getAlpha().convertToFloat(),
                beta1 = op.getBeta1().convertToFloat(), beta2 = op.getBeta2().convertToFloat();
    Value correction1, correction2;
    if (optimizer == "adam") {
      correction1 = biasCorrection(b, loc, beta1, t);
      correction2 = biasCorrection(b, loc, beta2, t);
    }
    const size_t which = static_cast<size_t>(op.getWhich());
    SmallVector<Value> inputs{adaptor.getParam(), adaptor.getGrad()};
    llvm::append_range(inputs, adaptor.getState());
    b.replaceOp(
        op, elementwise(b, loc, cast<RankedTensorType>(op.getType()), inputs,
                        [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                          auto c = [&](float v) { return f32Constant(nb, l, v); };
                          auto add = [&](Value x, Value y) { return arith::AddFOp::create(nb, l, x, y).getResult(); };
                          auto sub = [&](Value x, Value y) { return arith::SubFOp::create(nb, l, x, y).getResult(); };
                          auto mul = [&](Value x, Value y) { return arith::MulFOp::create(nb, l, x, y).getResult(); };
                          auto div = [&](Value x, Value y) { return arith::DivFOp::create(nb, l, x, y).getResult(); };
                          auto sqrt = [&](Value x) { return math::SqrtOp::create(nb, l, x).getResult(); };
                          Value p = a[0], g = a[1];
                          if (weightDecay != 0.0f)
                            g = add(g, mul(c(weightDecay), p));
                          // updated[0] is the new parameter, updated[k] the new state slot k - 1.
                          SmallVector<Value> updated;
                          if (optimizer == "sgd") {
                            updated = {sub(p, mul(lr, g))};
                          } else if (optimizer == "momentum" || optimizer == "nesterov") {
                            Value velocity = add(mul(c(momentum), a[2]), g);
                            Value step = optimizer == "momentum" ? velocity : add(g, mul(c(momentum), velocity));
                            updated = {sub(p, mul(lr, step)), velocity};
                          } else if (optimizer == "rmsprop") {
                            Value square = add(mul(c(alpha), a[2]), mul(mul(c(1.0f - alpha), g), g));
                            updated = {sub(p, div(mul(lr, g), add(sqrt(square), c(epsilon)))), square};
                          } else {
                            Value first = add(mul(c(beta1), a[2]), mul(c(1.0f - beta1), g));
                            Value second = add(mul(c(beta2), a[3]), mul(mul(c(1.0f - beta2), g), g));
                            Value step = div(div(first, correction1), add(sqrt(div(second, correction2)), c(epsilon)));
                            updated = {sub(p, mul(lr, step)), first, second};
                          }
                          return updated[which];
                        }));
    return success();
  }
};

} // namespace

void populateOptimizerPatterns(RewritePatternSet &patterns) {
  patterns.add<OptimizerUpdateLowering>(patterns.getContext());
}

} // namespace kiln::linalg_backend
