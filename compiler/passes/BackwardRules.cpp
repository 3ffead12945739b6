// The backward rules of nn-autodiff (BackwardRules.h): one TypeSwitch case per forward op, each
// a few nn ops. Operands that broadcast get the gradient at the result's shape summed back to
// their own shape; a rule builds nothing for an operand whose gradient is not wanted.
#include "compiler/passes/BackwardRules.h"

#include "kiln/Dialect/NN/NNOps.h"

#include "mlir/IR/ImplicitLocOpBuilder.h"

#include "llvm/ADT/TypeSwitch.h"

#include <numeric>

using namespace mlir;

namespace kiln {
namespace {

RankedTensorType typeOf(Value v) { return cast<RankedTensorType>(v.getType()); }
ArrayRef<int64_t> shapeOf(Value v) { return typeOf(v).getShape(); }
APFloat f32(double value) { return APFloat(static_cast<float>(value)); }

/// The ops one rule builds, at the forward op's location.
class RuleBuilder {
public:
  RuleBuilder(OpBuilder &builder, Location loc, const GradientTable &grads) : b(loc, builder), grads(grads) {}

  ImplicitLocOpBuilder b;

  bool wanted(Value x) const { return grads.wanted(x); }

  /// Adds the value `grad` builds to the gradient of `x`, when x's gradient is wanted.
  void give(Value x, llvm::function_ref<Value()> grad) {
    if (wanted(x))
      grads.accumulate(x, grad());
  }
  /// The same for an operand that broadcasts: `grad` builds its gradient at the result's shape.
  void giveBroadcast(Value x, llvm::function_ref<Value()> grad) {
    give(x, [&] { return sumTo(grad(), typeOf(x)); });
  }

  /// `grad` summed over the dimensions along which a value of `type` was broadcast to grad's shape
  /// (numpy rules: aligned at the last dimension), then reshaped to `type`.
  Value sumTo(Value grad, RankedTensorType type) {
    ArrayRef<int64_t> from = shapeOf(grad), to = type.getShape();
    const size_t lead = from.size() - to.size();
    SmallVector<int64_t> axes;
    for (size_t d = 0; d < from.size(); ++d)
      if (from[d] != 1 && (d < lead || to[d - lead] == 1))
        axes.push_back(static_cast<int64_t>(d));
    Value summed = axes.empty() ? grad : sum(grad, axes);
    return shapeOf(summed) == to ? summed : nn::ReshapeOp::create(b, summed, to).getResult();
  }

  Value add(Value x, Value y) { return nn::AddOp::create(b, x, y); }
  Value sub(Value x, Value y) { return nn::SubOp::create(b, x, y); }
  Value mul(Value x, Value y) { return nn::MulOp::create(b, x, y); }
  Value div(Value x, Value y) { return nn::DivOp::create(b, x, y); }
  Value sum(Value x, ArrayRef<int64_t> axes) { return nn::ReduceOp::create(b, x, "sum", axes); }
  Value unary(Value x, StringRef fn, double alpha = 1.0, double beta = 1.0) {
    return nn::UnaryOp::create(b, x, fn, f32(alpha), f32(beta));
  }
  /// g * fn'(x).
  Value unaryGrad(Value x, Value g, StringRef fn, double alpha = 1.0, double beta = 1.0) {
    return nn::UnaryGradOp::create(b, x, g, fn, f32(alpha), f32(beta));
  }
  /// g where v > threshold, else 0 (the derivative of thresholded_relu).
  Value keepAbove(Value v, double threshold, Value g) { return unaryGrad(v, g, "thresholded_relu", threshold); }
  /// g where v < threshold, else 0.
  Value keepBelow(Value v, double threshold, Value g) { return keepAbove(unary(v, "neg"), -threshold, g); }
  /// The gradient of a hard_sigmoid of slope `alpha` from its output y: alpha * g where 0 < y < 1
  /// (selu with alpha 0 is beta * relu, whose derivative is beta * (y > 0)).
  Value hardSigmoidGrad(Value y, double alpha, Value g) {
    return keepBelow(y, 1.0, unaryGrad(y, g, "selu", 0.0, alpha));
  }
  /// The sum over channels [c - before, c + after] of x [N, C, H, W] at every channel c (zeros
  /// beyond the channels): slices of x padded along C, added.
  Value channelWindowSum(Value x, int64_t before, int64_t after) {
    SmallVector<int64_t> pads{0, before, 0, 0, 0, after, 0, 0}, starts(4, 0), steps(4, 1);
    SmallVector<int64_t> shape(shapeOf(x));
    shape[1] += before + after;
    Value padded = nn::PadOp::create(b, RankedTensorType::get(shape, typeOf(x).getElementType()), x, pads, f32(0.0));
    Value total;
    for (starts[1] = 0; starts[1] <= before + after; ++starts[1]) {
      Value part = nn::SliceOp::create(b, x.getType(), padded, starts, steps);
      total = total ? add(total, part) : part;
    }
    return total;
  }
  /// x with its last two dimensions swapped.
  Value transposeLastTwo(Value x) {
    SmallVector<int64_t> perm(typeOf(x).getRank());
    std::iota(perm.begin(), perm.end(), 0);
    std::swap(perm[perm.size() - 2], perm.back());
    return nn::TransposeOp::create(b, x, perm);
  }

private:
  const GradientTable &grads;
};

} // namespace

LogicalResult buildBackwardRule(OpBuilder &builder, Operation *op, Value dy, const GradientTable &grads) {
  RuleBuilder r(builder, op->getLoc(), grads);
  ImplicitLocOpBuilder &b = r.b;
  const Value y = op->getResult(0);
  const Value x = op->getNumOperands() ? op->getOperand(0) : Value(); // the input of one-input ops
  bool handled = true;
  llvm::TypeSwitch<Operation *>(op)
      .Case([&](nn::Conv2DOp conv) {
        Value w = conv.getFilter();
        r.give(w, [&] {
          return nn::Conv2DGradFilterOp::create(b, w.getType(), x, dy, conv.getStridesAttr(), conv.getPaddingAttr(),
                                                conv.getDilationsAttr(), conv.getGroupsAttr());
        });
        if (conv.getBias())
          r.give(conv.getBias(), [&] { return nn::BiasGradOp::create(b, conv.getBias().getType(), dy); });
        // conv_transpose2d of dy with the same filter, cut or padded back to the input's size.
        r.give(x, [&] {
          ArrayRef<int64_t> in = shapeOf(x), out = shapeOf(dy), k = shapeOf(w);
          SmallVector<int64_t> outputPadding;
          for (int d = 0; d < 2; ++d) {
            int64_t s = conv.getStrides()[d], dil = conv.getDilations()[d];
            int64_t full =
                (out[2 + d] - 1) * s - conv.getPadding()[d] - conv.getPadding()[d + 2] + dil * (k[2 + d] - 1) + 1;
            outputPadding.push_back(in[2 + d] - full);
          }
          return nn::ConvTranspose2DOp::create(b, x.getType(), dy, w, Value(), conv.getStridesAttr(),
                                               conv.getPaddingAttr(), b.getDenseI64ArrayAttr(outputPadding),
                                               conv.getDilationsAttr(), conv.getGroupsAttr());
        });
      })
      .Case([&](nn::ConvTranspose2DOp conv) {
        // The input's gradient is the conv2d of dy with the same filter ([C, F/groups, KH, KW] is
        // conv2d's [out, in/groups, KH, KW] from F to C channels), the filter's the conv2d filter
        // gradient with input and output swapped.
        Value w = conv.getFilter();
        r.give(w, [&] {
          return nn::Conv2DGradFilterOp::create(b, w.getType(), dy, x, conv.getStridesAttr(), conv.getPaddingAttr(),
                                                conv.getDilationsAttr(), conv.getGroupsAttr());
        });
        if (conv.getBias())
          r.give(conv.getBias(), [&] { return nn::BiasGradOp::create(b, conv.getBias().getType(), dy); });
        r.give(x, [&] {
          return nn::Conv2DOp::create(b, x.getType(), dy, w, Value(), conv.getStridesAttr(), conv.getPaddingAttr(),
                                      conv.getDilationsAttr(), conv.getGroupsAttr());
        });
      })
      .Case([&](nn::LRNOp lrn) {
        // y = x * s^-beta, s = bias + alpha / size * (sum of x^2 over channels [c - before, c + after]):
        // dx = dy * s^-beta - 2 alpha beta / size * x * T(dy * x * s^(-beta - 1)), where T sums over
        // the channels whose window holds c: [c - after, c + before].
        r.give(x, [&] {
          const int64_t size = static_cast<int64_t>(lrn.getSize()), before = (size - 1) / 2, after = size / 2;
          const double scale = lrn.getAlpha().convertToFloat() / double(size), beta = lrn.getBeta().convertToFloat();
          Value s = r.unary(r.channelWindowSum(r.mul(x, x), before, after), "affine", scale,
                            lrn.getBias().convertToFloat());
          Value spread = r.channelWindowSum(r.mul(r.mul(dy, x), r.unary(s, "pow", -beta - 1.0)), after, before);
          return r.add(r.mul(dy, r.unary(s, "pow", -beta)), r.unary(r.mul(x, spread), "affine", -2.0 * scale * beta, 0.0));
        });
      })
      .Case([&](nn::ResizeOp resize) {
        r.give(x, [&] {
          return nn::ResizeGradOp::create(b, x.getType(), dy, resize.getModeAttr(), resize.getCoordinateModeAttr(),
                                          resize.getNearestModeAttr(), resize.getCubicCoeffAAttr(),
                                          resize.getExcludeOutsideAttr(), resize.getScalesAttr());
        });
      })
      .Case([&](nn::DenseOp dense) {
        Value w = dense.getWeight();
        r.give(w, [&] { return nn::DenseGradWeightOp::create(b, w.getType(), x, dy); });
        if (dense.getBias())
          r.give(dense.getBias(), [&] { return nn::BiasGradOp::create(b, dense.getBias().getType(), dy); });
        r.give(x, [&] { return nn::DenseGradInputOp::create(b, x.getType(), dy, w); });
      })
      .Case([&](nn::MaxPool2DOp pool) {
        r.give(x, [&] {
          return nn::MaxPool2DGradOp::create(b, x.getType(), x, dy, pool.getKernelAttr(), pool.getStridesAttr(),
                                             pool.getPaddingAttr(), pool.getCeilModeAttr());
        });
      })
      .Case([&](nn::AvgPool2DOp pool) {
        r.give(x, [&] {
          return nn::AvgPool2DGradOp::create(b, x.getType(), dy, pool.getKernelAttr(), pool.getStridesAttr(),
                                             pool.getPaddingAttr(), pool.getCountIncludePadAttr(),
                                             pool.getCeilModeAttr());
        });
      })
      .Case([&](nn::GlobalAvgPoolOp) {
        r.give(x, [&] { return nn::GlobalAvgPoolGradOp::create(b, x.getType(), dy); });
      })
      .Case([&](nn::GlobalMaxPoolOp) {
        r.give(x, [&] { return nn::ReduceGradOp::create(b, x.getType(), x, y, dy, "max", ArrayRef<int64_t>{2, 3}); });
      })
      .Case<nn::ReluOp, nn::TanhOp, nn::SigmoidOp, nn::LeakyReluOp>([&](Operation *act) {
        auto leaky = dyn_cast<nn::LeakyReluOp>(act);
        r.give(x, [&] {
          return nn::ActivationGradOp::create(b, dy.getType(), y, dy, act->getName().stripDialect(),
                                              f32(leaky ? leaky.getAlpha().convertToFloat() : 0.0));
        });
      })
      .Case([&](nn::UnaryOp unary) {
        r.give(x, [&] {
          return nn::UnaryGradOp::create(b, x, dy, unary.getFnAttr(), unary.getAlphaAttr(), unary.getBetaAttr());
        });
      })
      .Case([&](nn::ClipOp clip) {
        r.give(x, [&] {
          return r.keepBelow(x, clip.getMax().convertToFloat(), r.keepAbove(x, clip.getMin().convertToFloat(), dy));
        });
      })
      .Case([&](nn::HardSigmoidOp hard) {
        r.give(x, [&] { return r.hardSigmoidGrad(y, hard.getAlpha().convertToFloat(), dy); });
      })
      .Case([&](nn::HardSwishOp) { // y = x * s with s = hard_sigmoid(x, 1/6, 1/2): dx = dy * s + x * dy * s'
        r.give(x, [&] {
          Value s = nn::HardSigmoidOp::create(b, x, f32(1.0 / 6.0), f32(0.5));
          return r.add(r.mul(dy, s), r.hardSigmoidGrad(s, 1.0 / 6.0, r.mul(dy, x)));
        });
      })
      .Case([&](nn::DropoutTrainOp dropout) {
        r.give(x, [&] {
          return nn::DropoutTrainOp::create(b, dy.getType(), dy, dropout.getHyper(), dropout.getRateAttr(),
                                            dropout.getSeedAttr());
        });
      })
      .Case([&](nn::BatchNormTrainOp bn) {
        r.give(bn.getScale(), [&] {
          return nn::BatchNormGradScaleOp::create(b, bn.getScale().getType(), x, dy, bn.getEpsilonAttr());
        });
        r.give(bn.getShift(), [&] { return nn::BiasGradOp::create(b, bn.getShift().getType(), dy); });
        r.give(x, [&] {
          return nn::BatchNormGradInputOp::create(b, x.getType(), x, bn.getScale(), dy, bn.getEpsilonAttr());
        });
      })
      .Case([&](nn::SoftmaxOp softmax) { // dx = y * (dy - sum(dy * y))
        r.give(x, [&] {
          return r.mul(y, r.sub(dy, r.sum(r.mul(dy, y), {static_cast<int64_t>(softmax.getAxis())})));
        });
      })
      .Case([&](nn::LogSoftmaxOp softmax) { // dx = dy - exp(y) * sum(dy)
        r.give(x, [&] {
          return r.sub(dy, r.mul(r.unary(y, "exp"), r.sum(dy, {static_cast<int64_t>(softmax.getAxis())})));
        });
      })
      .Case<nn::FlattenOp, nn::ReshapeOp>(
          [&](Operation *) { r.give(x, [&] { return nn::ReshapeOp::create(b, dy, shapeOf(x)); }); })
      .Case([&](nn::BroadcastOp) { r.giveBroadcast(x, [&] { return dy; }); })
      .Case([&](nn::TransposeOp transpose) {
        r.give(x, [&] {
          SmallVector<int64_t> inverse(transpose.getPerm().size());
          for (auto [i, p] : llvm::enumerate(transpose.getPerm()))
            inverse[p] = static_cast<int64_t>(i);
          return nn::TransposeOp::create(b, dy, inverse);
        });
      })
      .Case([&](nn::SliceOp slice) {
        r.give(x, [&] {
          return nn::SliceGradOp::create(b, x.getType(), dy, slice.getStartsAttr(), slice.getStepsAttr());
        });
      })
      .Case([&](nn::PadOp pad) {
        r.give(x, [&] {
          SmallVector<int64_t> steps(typeOf(x).getRank(), 1);
          return nn::SliceOp::create(b, x.getType(), dy, pad.getPads().take_front(steps.size()), steps);
        });
      })
      .Case([&](nn::ReduceOp reduce) {
        r.give(x, [&] {
          return nn::ReduceGradOp::create(b, x.getType(), x, y, dy, reduce.getKindAttr(), reduce.getAxesAttr());
        });
      })
      .Case([&](nn::ConcatOp concat) {
        int64_t axis = static_cast<int64_t>(concat.getAxis());
        SmallVector<int64_t> starts(typeOf(dy).getRank(), 0), steps(typeOf(dy).getRank(), 1);
        for (Value input : concat.getInputs()) {
          r.give(input, [&] { return nn::SliceOp::create(b, input.getType(), dy, starts, steps); });
          starts[axis] += shapeOf(input)[axis];
        }
      })
      .Case<nn::SumOp, nn::MeanOp>([&](Operation *) {
        // Each input gets dy; for mean, dy / n as the mean of dy and n - 1 zeros (dy - dy).
        Value share = dy;
        if (isa<nn::MeanOp>(op) && op->getNumOperands() > 1) {
          SmallVector<Value> parts(op->getNumOperands(), r.sub(dy, dy));
          parts.front() = dy;
          share = nn::MeanOp::create(b, dy.getType(), parts);
        }
        for (Value input : op->getOperands())
          r.give(input, [&] { return share; });
      })
      .Case([&](nn::MatMulOp matmul) {
        Value lhs = matmul.getLhs(), rhs = matmul.getRhs();
        r.giveBroadcast(lhs, [&] { return nn::MatMulOp::create(b, dy, r.transposeLastTwo(rhs)); });
        r.giveBroadcast(rhs, [&] { return nn::MatMulOp::create(b, r.transposeLastTwo(lhs), dy); });
      })
      .Case([&](nn::AddOp add) {
        r.giveBroadcast(add.getLhs(), [&] { return dy; });
        r.giveBroadcast(add.getRhs(), [&] { return dy; });
      })
      .Case([&](nn::SubOp sub) {
        r.giveBroadcast(sub.getLhs(), [&] { return dy; });
        r.giveBroadcast(sub.getRhs(), [&] { return r.unary(dy, "neg"); });
      })
      .Case([&](nn::MulOp mul) {
        r.giveBroadcast(mul.getLhs(), [&] { return r.mul(dy, mul.getRhs()); });
        r.giveBroadcast(mul.getRhs(), [&] { return r.mul(dy, mul.getLhs()); });
      })
      .Case([&](nn::DivOp div) { // y = a / c: da = dy / c, dc = -(dy / c) * y
        Value quotient = r.div(dy, div.getRhs());
        r.giveBroadcast(div.getLhs(), [&] { return quotient; });
        r.giveBroadcast(div.getRhs(), [&] { return r.unary(r.mul(quotient, y), "neg"); });
      })
      .Case<nn::MaxOp, nn::MinOp>([&](Operation *) {
        // The lhs gets dy where it was taken (strictly larger for max, smaller for min), the rhs
        // the rest: ties go to the rhs, as the forward op takes it.
        Value lhs = op->getOperand(0), rhs = op->getOperand(1);
        Value margin = isa<nn::MaxOp>(op) ? r.sub(lhs, rhs) : r.sub(rhs, lhs);
        Value toLhs = r.mul(dy, r.unary(margin, "step"));
        r.giveBroadcast(lhs, [&] { return toLhs; });
        r.giveBroadcast(rhs, [&] { return r.sub(dy, toLhs); });
      })
      .Case([&](nn::PowOp pow) { // y = a ^ c: da = dy * c * a ^ (c - 1), dc = dy * y * log(a)
        Value base = pow.getLhs(), exponent = pow.getRhs();
        r.giveBroadcast(base, [&] {
          Value ones = r.unary(exponent, "pow", 0.0);
          return r.mul(dy, r.mul(exponent, nn::PowOp::create(b, base, r.sub(exponent, ones))));
        });
        r.giveBroadcast(exponent, [&] { return r.mul(dy, r.mul(y, r.unary(base, "log"))); });
      })
      .Case([&](nn::PReluOp prelu) { // y = a > 0 ? a : s * a
        Value a = prelu.getLhs(), slope = prelu.getRhs();
        r.giveBroadcast(a, [&] { // dy * (m + s - s * m), m = (a > 0)
          Value positive = r.unary(a, "step");
          return r.mul(dy, r.add(positive, r.sub(slope, r.mul(slope, positive))));
        });
        r.giveBroadcast(slope, [&] { return r.mul(dy, r.sub(a, nn::ReluOp::create(b, a))); }); // dy * min(a, 0)
      })
      .Default([&](Operation *) { handled = false; });
  if (handled)
    return success();
  return op->emitError("nn-autodiff: cannot train through ")
         << op->getName() << ": it has no backward rule (docs/training.md lists the ops training supports)";
}

} // namespace kiln
