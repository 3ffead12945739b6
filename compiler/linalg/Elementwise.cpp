// convert-nn-to-linalg, elementwise ops as linalg.generic: batch_norm (per-channel affine from the
// statistics, channel = dimension 1), relu / leaky_relu / tanh / sigmoid / clip / hard_sigmoid /
// hard_swish, nn.unary's 23 functions (and their derivatives, for nn.unary_grad in
// TrainingForms.cpp), the broadcasting binary ops (add, sub, mul, div, max, min, pow, prelu),
// sum / mean, lrn (the squares of `size` channel-shifted slices of the zero-padded input, summed and scaled), and
// softmax / log_softmax (max, sum of exp, then divide or subtract the log: three generics, the two
// reductions keeping every dimension but `axis`).
#include "compiler/linalg/PopulatePatterns.h"

#include "kiln/Dialect/NN/NNOps.h"
#include "kiln/Dialect/NN/ShapeRules.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include "llvm/ADT/StringSwitch.h"

#include <cmath>

using namespace mlir;

namespace kiln::linalg_backend {
namespace {

struct BatchNormLowering : OpConversionPattern<nn::BatchNormOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(nn::BatchNormOp op, OpAdaptor adaptor, ConversionPatternRewriter &b) const override {
    float epsilon = op.getEpsilon().convertToFloat();
    SmallVector<Value, 5> inputs{adaptor.getInput(), adaptor.getScale(), adaptor.getShift(), adaptor.getMean(),
                                 adaptor.getVariance()};
    b.replaceOp(op, elementwise(b, op.getLoc(), cast<RankedTensorType>(op.getType()), inputs,
                                [epsilon](OpBuilder &nb, Location l, ValueRange a) -> Value {
                                  Value var = arith::AddFOp::create(nb, l, a[4], f32Constant(nb, l, epsilon));
                                  Value invStd = arith::DivFOp::create(nb, l, f32Constant(nb, l, 1.0f),
                                                                       math::SqrtOp::create(nb, l, var));
                                  Value centered = arith::SubFOp::create(nb, l, a[0], a[3]);
                                  Value scaled = arith::MulFOp::create(
                                      nb, l, arith::MulFOp::create(nb, l, centered, invStd), a[1]);
                                  return arith::AddFOp::create(nb, l, scaled, a[2]);
                                }));
    return success();
  }
};

/// One pattern per unary activation, given its scalar formula.
template <typename Op>
struct UnaryLowering : OpConversionPattern<Op> {
  using OpConversionPattern<Op>::OpConversionPattern;
  using Adaptor = typename OpConversionPattern<Op>::OpAdaptor;

  static Value apply(Op op, OpBuilder &b, Location l, Value x);

  LogicalResult matchAndRewrite(Op op, Adaptor adaptor, ConversionPatternRewriter &b) const override {
    b.replaceOp(op, elementwise(b, op.getLoc(), cast<RankedTensorType>(op.getType()), ValueRange{adaptor.getInput()},
                                [op](OpBuilder &nb, Location l, ValueRange a) { return apply(op, nb, l, a[0]); }));
    return success();
  }
};

template <>
Value UnaryLowering<nn::ReluOp>::apply(nn::ReluOp, OpBuilder &b, Location l, Value x) {
  // x < 0 ? 0 : x, so NaN passes through (as in the reference and PyTorch).
  Value zero = f32Constant(b, l, 0.0f);
  Value negative = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OLT, x, zero);
  return arith::SelectOp::create(b, l, negative, zero, x);
}

template <>
Value UnaryLowering<nn::LeakyReluOp>::apply(nn::LeakyReluOp op, OpBuilder &b, Location l, Value x) {
  Value positive = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGT, x, f32Constant(b, l, 0.0f));
  Value scaled = arith::MulFOp::create(b, l, x, f32Constant(b, l, op.getAlpha().convertToFloat()));
  return arith::SelectOp::create(b, l, positive, x, scaled);
}

template <>
Value UnaryLowering<nn::TanhOp>::apply(nn::TanhOp, OpBuilder &b, Location l, Value x) {
  return math::TanhOp::create(b, l, x);
}

/// min(max(x, lo), hi) with NaN passing through (x < lo ? lo : x > hi ? hi : x).
static Value clamp(OpBuilder &b, Location l, Value x, float lo, float hi) {
  Value loV = f32Constant(b, l, lo), hiV = f32Constant(b, l, hi);
  Value below = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OLT, x, loV);
  Value above = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGT, x, hiV);
  return arith::SelectOp::create(b, l, below, loV, arith::SelectOp::create(b, l, above, hiV, x));
}

template <>
Value UnaryLowering<nn::ClipOp>::apply(nn::ClipOp op, OpBuilder &b, Location l, Value x) {
  return clamp(b, l, x, op.getMin().convertToFloat(), op.getMax().convertToFloat());
}

template <>
Value UnaryLowering<nn::HardSigmoidOp>::apply(nn::HardSigmoidOp op, OpBuilder &b, Location l, Value x) {
  Value ax = arith::MulFOp::create(b, l, x, f32Constant(b, l, op.getAlpha().convertToFloat()));
  return clamp(b, l, arith::AddFOp::create(b, l, ax, f32Constant(b, l, op.getBeta().convertToFloat())), 0.0f, 1.0f);
}

template <>
Value UnaryLowering<nn::HardSwishOp>::apply(nn::HardSwishOp, OpBuilder &b, Location l, Value x) {
  Value t = arith::AddFOp::create(b, l, arith::DivFOp::create(b, l, x, f32Constant(b, l, 6.0f)),
                                  f32Constant(b, l, 0.5f));
  return arith::MulFOp::create(b, l, x, clamp(b, l, t, 0.0f, 1.0f));
}

template <>
Value UnaryLowering<nn::SigmoidOp>::apply(nn::SigmoidOp, OpBuilder &b, Location l, Value x) {
  return sigmoid(ScalarBuilder{b, l}, x);
}

/// add / sub / mul / div / max / min / pow / prelu with numpy-style broadcasting.
template <typename Op>
struct BinaryLowering : OpConversionPattern<Op> {
  using OpConversionPattern<Op>::OpConversionPattern;
  using Adaptor = typename OpConversionPattern<Op>::OpAdaptor;

  static Value apply(OpBuilder &b, Location l, Value x, Value y);

  LogicalResult matchAndRewrite(Op op, Adaptor adaptor, ConversionPatternRewriter &b) const override {
    auto type = cast<RankedTensorType>(op.getType());
    Value lhs = adaptor.getLhs(), rhs = adaptor.getRhs();
    SmallVector<AffineMap> maps{broadcastMap(cast<RankedTensorType>(lhs.getType()), type),
                                broadcastMap(cast<RankedTensorType>(rhs.getType()), type)};
    b.replaceOp(op, mapped(b, op.getLoc(), type, ValueRange{lhs, rhs}, maps,
                           [](OpBuilder &nb, Location l, ValueRange a) { return apply(nb, l, a[0], a[1]); }));
    return success();
  }
};

template <> Value BinaryLowering<nn::AddOp>::apply(OpBuilder &b, Location l, Value x, Value y) {
  return arith::AddFOp::create(b, l, x, y);
}
template <> Value BinaryLowering<nn::SubOp>::apply(OpBuilder &b, Location l, Value x, Value y) {
  return arith::SubFOp::create(b, l, x, y);
}
template <> Value BinaryLowering<nn::MulOp>::apply(OpBuilder &b, Location l, Value x, Value y) {
  return arith::MulFOp::create(b, l, x, y);
}
template <> Value BinaryLowering<nn::DivOp>::apply(OpBuilder &b, Location l, Value x, Value y) {
  return arith::DivFOp::create(b, l, x, y);
}
template <> Value BinaryLowering<nn::MaxOp>::apply(OpBuilder &b, Location l, Value x, Value y) {
  return arith::MaximumFOp::create(b, l, x, y);
}
template <> Value BinaryLowering<nn::MinOp>::apply(OpBuilder &b, Location l, Value x, Value y) {
  return arith::MinimumFOp::create(b, l, x, y);
}
template <> Value BinaryLowering<nn::PowOp>::apply(OpBuilder &b, Location l, Value x, Value y) {
  return ScalarBuilder{b, l}.pow(x, y);
}
template <> Value BinaryLowering<nn::PReluOp>::apply(OpBuilder &b, Location l, Value x, Value slope) {
  ScalarBuilder s{b, l};
  return s.select(s.gt(x, s.c(0.0)), x, s.mul(slope, x));
}

/// nn.unary: one generic applying unaryFunction.
struct UnaryFunctionLowering : OpConversionPattern<nn::UnaryOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(nn::UnaryOp op, OpAdaptor adaptor, ConversionPatternRewriter &b) const override {
    std::string fn = op.getFn().str();
    if (!llvm::is_contained(nn::unaryFunctions(), fn))
      return b.notifyMatchFailure(op, "nn.unary: unknown function '" + fn + "'");
    float alpha = op.getAlpha().convertToFloat(), beta = op.getBeta().convertToFloat();
    b.replaceOp(op, elementwise(b, op.getLoc(), cast<RankedTensorType>(op.getType()), ValueRange{adaptor.getInput()},
                                [&](OpBuilder &nb, Location l, ValueRange a) {
                                  return unaryFunction(ScalarBuilder{nb, l}, fn, a[0], alpha, beta);
                                }));
    return success();
  }
};

/// sum / mean of same-shape inputs.
template <typename Op, bool Mean>
struct VariadicLowering : OpConversionPattern<Op> {
  using OpConversionPattern<Op>::OpConversionPattern;
  using Adaptor = typename OpConversionPattern<Op>::OpAdaptor;

  LogicalResult matchAndRewrite(Op op, Adaptor adaptor, ConversionPatternRewriter &b) const override {
    size_t n = adaptor.getInputs().size();
    b.replaceOp(op, elementwise(b, op.getLoc(), cast<RankedTensorType>(op.getType()), adaptor.getInputs(),
                                [n](OpBuilder &nb, Location l, ValueRange a) {
                                  Value total = a[0];
                                  for (size_t i = 1; i < n; ++i)
                                    total = arith::AddFOp::create(nb, l, total, a[i]);
                                  if (Mean)
                                    total = arith::DivFOp::create(nb, l, total,
                                                                  f32Constant(nb, l, static_cast<float>(n)));
                                  return total;
                                }));
    return success();
  }
};

/// y = x / (bias + alpha / size * sum of x^2 over the channel window) ^ beta, one elementwise
/// generic: the window's taps are `size` slices of the zero-padded input, shifted along C, so
/// every map is an identity and the generic vectorises like any elementwise op.
struct LRNLowering : OpConversionPattern<nn::LRNOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(nn::LRNOp op, OpAdaptor adaptor, ConversionPatternRewriter &b) const override {
    Location loc = op.getLoc();
    auto type = cast<RankedTensorType>(op.getType());
    int64_t size = static_cast<int64_t>(op.getSize());
    Value x = adaptor.getInput();
    // Window of channel c: [c - floor((size - 1) / 2), c + ceil((size - 1) / 2)], zeros outside.
    Value xPadded = padded(b, loc, x, {0, (size - 1) / 2, 0, 0}, {0, size / 2, 0, 0}, 0.0f);
    SmallVector<Value> inputs{x};
    for (int64_t j = 0; j < size; ++j)
      inputs.push_back(tensor::ExtractSliceOp::create(b, loc, type, xPadded,
                                                      ArrayRef<OpFoldResult>{b.getIndexAttr(0), b.getIndexAttr(j),
                                                                             b.getIndexAttr(0), b.getIndexAttr(0)},
                                                      tensor::getMixedSizes(b, loc, x),
                                                      SmallVector<OpFoldResult>(4, b.getIndexAttr(1))));
    float scale = op.getAlpha().convertToFloat() / static_cast<float>(size), bias = op.getBias().convertToFloat(),
          beta = op.getBeta().convertToFloat();
    b.replaceOp(op, elementwise(b, loc, type, inputs, [=](OpBuilder &nb, Location l, ValueRange a) -> Value {
      Value sumOfSquares = arith::MulFOp::create(nb, l, a[1], a[1]);
      for (int64_t j = 1; j < size; ++j)
        sumOfSquares = arith::AddFOp::create(nb, l, sumOfSquares, arith::MulFOp::create(nb, l, a[1 + j], a[1 + j]));
      Value base = arith::AddFOp::create(nb, l, f32Constant(nb, l, bias),
                                         arith::MulFOp::create(nb, l, f32Constant(nb, l, scale), sumOfSquares));
      return arith::DivFOp::create(nb, l, a[0], math::PowFOp::create(nb, l, base, f32Constant(nb, l, beta)));
    }));
    return success();
  }
};

/// softmax (exp(x - max) / sum) or log_softmax (x - max - log(sum)) along `axis`.
template <typename Op, bool Log>
struct SoftmaxLowering : OpConversionPattern<Op> {
  using OpConversionPattern<Op>::OpConversionPattern;
  using Adaptor = typename OpConversionPattern<Op>::OpAdaptor;

  LogicalResult matchAndRewrite(Op op, Adaptor adaptor, ConversionPatternRewriter &b) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = b.getContext();
    auto type = cast<RankedTensorType>(op.getType());
    int64_t rank = type.getRank(), axis = static_cast<int64_t>(op.getAxis());
    SmallVector<AffineExpr> reducedExprs;
    for (int64_t d = 0; d < rank; ++d)
      if (d != axis)
        reducedExprs.push_back(getAffineDimExpr(d, ctx));
    AffineMap id = AffineMap::getMultiDimIdentityMap(rank, ctx), reduced = AffineMap::get(rank, 0, reducedExprs, ctx);
    Value x = adaptor.getInput();

    // max over the axis, then sum of exp(x - max) (Reductions.cpp), then the result from both.
    SoftmaxStatistics stats = softmaxStatistics(b, loc, x, axis);
    Value max = stats.max, sum = stats.sumExp;
    Value result = linalg::GenericOp::create(
                       b, loc, TypeRange{type}, ValueRange{x, max, sum}, ValueRange{emptyTensor(b, loc, type)},
                       SmallVector<AffineMap>{id, reduced, reduced, id},
                       SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
                       [](OpBuilder &nb, Location l, ValueRange a) {
                         Value shifted = arith::SubFOp::create(nb, l, a[0], a[1]);
                         Value y = Log ? arith::SubFOp::create(nb, l, shifted, math::LogOp::create(nb, l, a[2]))
                                             .getResult()
                                       : arith::DivFOp::create(nb, l, math::ExpOp::create(nb, l, shifted), a[2])
                                             .getResult();
                         linalg::YieldOp::create(nb, l, y);
                       })
                       .getResult(0);
    b.replaceOp(op, result);
    return success();
  }
};

/// max(0, x) and min(0, x) as the reference's std::max / std::min (0 when x is NaN).
Value positivePart(const ScalarBuilder &s, Value x) { return s.select(s.gt(x, s.c(0.0)), x, s.c(0.0)); }
Value negativePart(const ScalarBuilder &s, Value x) { return s.select(s.lt(x, s.c(0.0)), x, s.c(0.0)); }

Value sign(const ScalarBuilder &s, Value x) {
  return s.select(s.gt(x, s.c(0.0)), s.c(1.0), s.select(s.lt(x, s.c(0.0)), s.c(-1.0), s.c(0.0)));
}

/// x > 0 ? x : alpha * (exp(x) - 1).
Value elu(const ScalarBuilder &s, Value x, float alpha) {
  return s.select(s.gt(x, s.c(0.0)), x, s.mul(s.c(alpha), s.expm1(x)));
}

/// log(1 + exp(x)) = max(0, x) + log1p(exp(-|x|)), the reference's two branches in one.
Value softplus(const ScalarBuilder &s, Value x) {
  return s.add(positivePart(s, x), s.log1p(s.exp(s.sub(s.c(0.0), s.abs(x)))));
}

constexpr double kPi = 3.14159265358979323846;

/// tanh(sqrt(2 / pi) * (x + 0.044715 x^3)), the inner function of gelu_tanh.
Value geluTanhInner(const ScalarBuilder &s, Value x) {
  Value cube = s.mul(s.mul(x, x), x);
  return s.tanh(s.mul(s.c(std::sqrt(2.0 / kPi)), s.add(x, s.mul(s.c(0.044715), cube))));
}

} // namespace

Value sigmoid(const ScalarBuilder &s, Value x) { return s.div(s.c(1.0), s.add(s.c(1.0), s.exp(s.sub(s.c(0.0), x)))); }

Value unaryFunction(const ScalarBuilder &s, StringRef fn, Value x, float alpha, float beta) {
  using F = std::function<Value()>;
  F formula = llvm::StringSwitch<F>(fn)
                  .Case("exp", [&] { return s.exp(x); })
                  .Case("log", [&] { return s.log(x); })
                  .Case("sqrt", [&] { return s.sqrt(x); })
                  .Case("abs", [&] { return s.abs(x); })
                  .Case("erf", [&] { return s.erf(x); })
                  .Case("floor", [&] { return math::FloorOp::create(s.b, s.l, x).getResult(); })
                  .Case("ceil", [&] { return math::CeilOp::create(s.b, s.l, x).getResult(); })
                  .Case("neg", [&] { return arith::NegFOp::create(s.b, s.l, x).getResult(); })
                  .Case("reciprocal", [&] { return s.div(s.c(1.0), x); })
                  .Case("round", [&] { return math::RoundEvenOp::create(s.b, s.l, x).getResult(); })
                  .Case("sign", [&] { return sign(s, x); })
                  .Case("step", [&] { return s.select(s.gt(x, s.c(0.0)), s.c(1.0), s.c(0.0)); })
                  .Case("pow", [&] { return s.pow(x, s.c(alpha)); })
                  .Case("elu", [&] { return elu(s, x, alpha); })
                  .Case("selu", [&] { return s.mul(s.c(beta), elu(s, x, alpha)); })
                  .Case("celu",
                        [&] {
                          Value scaled = s.mul(s.c(alpha), s.expm1(s.div(x, s.c(alpha))));
                          return s.add(positivePart(s, x), negativePart(s, scaled));
                        })
                  .Case("softplus", [&] { return softplus(s, x); })
                  .Case("softsign", [&] { return s.div(x, s.add(s.c(1.0), s.abs(x))); })
                  .Case("mish", [&] { return s.mul(x, s.tanh(softplus(s, x))); })
                  .Case("gelu",
                        [&] {
                          Value erf = s.erf(s.mul(x, s.c(1.0 / std::sqrt(2.0))));
                          return s.mul(s.mul(s.c(0.5), x), s.add(s.c(1.0), erf));
                        })
                  .Case("gelu_tanh", [&] { return s.mul(s.mul(s.c(0.5), x), s.add(s.c(1.0), geluTanhInner(s, x))); })
                  .Case("thresholded_relu", [&] { return s.select(s.gt(x, s.c(alpha)), x, s.c(0.0)); })
                  .Case("silu", [&] { return s.mul(x, sigmoid(s, x)); })
                  .Case("affine", [&] { return s.add(s.mul(x, s.c(alpha)), s.c(beta)); })
                  .Default(nullptr);
  return formula ? formula() : Value();
}

Value unaryDerivative(const ScalarBuilder &s, StringRef fn, Value x, float alpha, float beta) {
  using F = std::function<Value()>;
  auto isPositive = [&] { return s.gt(x, s.c(0.0)); };
  F formula =
      llvm::StringSwitch<F>(fn)
          .Case("exp", [&] { return s.exp(x); })
          .Case("log", [&] { return s.div(s.c(1.0), x); })
          .Case("sqrt", [&] { return s.div(s.c(0.5), s.sqrt(x)); })
          .Case("abs", [&] { return sign(s, x); })
          .Case("erf", [&] { return s.mul(s.c(2.0 / std::sqrt(kPi)), s.exp(s.sub(s.c(0.0), s.mul(x, x)))); })
          .Cases({"floor", "ceil", "round", "sign", "step"}, [&] { return s.c(0.0); })
          .Case("neg", [&] { return s.c(-1.0); })
          .Case("reciprocal", [&] { return s.div(s.c(-1.0), s.mul(x, x)); })
          .Case("pow", [&] { return alpha == 0.0f ? s.c(0.0) : s.mul(s.c(alpha), s.pow(x, s.c(alpha - 1.0))); })
          .Case("elu", [&] { return s.select(isPositive(), s.c(1.0), s.mul(s.c(alpha), s.exp(x))); })
          .Case("selu", [&] { return s.mul(s.c(beta), s.select(isPositive(), s.c(1.0), s.mul(s.c(alpha), s.exp(x)))); })
          .Case("celu", [&] { return s.select(isPositive(), s.c(1.0), s.exp(s.div(x, s.c(alpha)))); })
          .Case("softplus", [&] { return sigmoid(s, x); })
          .Case("softsign",
                [&] {
                  Value denominator = s.add(s.c(1.0), s.abs(x));
                  return s.div(s.c(1.0), s.mul(denominator, denominator));
                })
          .Case("mish",
                [&] {
                  Value t = s.tanh(softplus(s, x));
                  return s.add(t, s.mul(s.mul(x, s.sub(s.c(1.0), s.mul(t, t))), sigmoid(s, x)));
                })
          .Case("gelu",
                [&] {
                  Value cdf = s.mul(s.c(0.5), s.add(s.c(1.0), s.erf(s.mul(x, s.c(1.0 / std::sqrt(2.0))))));
                  Value density = s.mul(s.exp(s.mul(s.c(-0.5), s.mul(x, x))), s.c(1.0 / std::sqrt(2.0 * kPi)));
                  return s.add(cdf, s.mul(x, density));
                })
          .Case("gelu_tanh",
                [&] {
                  Value t = geluTanhInner(s, x);
                  Value inner =
                      s.mul(s.c(std::sqrt(2.0 / kPi)), s.add(s.c(1.0), s.mul(s.c(3.0 * 0.044715), s.mul(x, x))));
                  return s.add(s.mul(s.c(0.5), s.add(s.c(1.0), t)),
                               s.mul(s.mul(s.mul(s.c(0.5), x), s.sub(s.c(1.0), s.mul(t, t))), inner));
                })
          .Case("thresholded_relu", [&] { return s.select(s.gt(x, s.c(alpha)), s.c(1.0), s.c(0.0)); })
          .Case("affine", [&] { return s.c(alpha); })
          .Case("silu",
                [&] {
                  Value sig = sigmoid(s, x);
                  return s.mul(sig, s.add(s.c(1.0), s.mul(x, s.sub(s.c(1.0), sig))));
                })
          .Default(nullptr);
  return formula ? formula() : Value();
}

void populateElementwisePatterns(RewritePatternSet &patterns) {
  patterns.add<BatchNormLowering, UnaryLowering<nn::ReluOp>, UnaryLowering<nn::LeakyReluOp>, UnaryLowering<nn::TanhOp>,
               UnaryLowering<nn::SigmoidOp>, UnaryLowering<nn::ClipOp>, UnaryLowering<nn::HardSigmoidOp>,
               UnaryLowering<nn::HardSwishOp>, BinaryLowering<nn::AddOp>, BinaryLowering<nn::SubOp>,
               BinaryLowering<nn::MulOp>, BinaryLowering<nn::DivOp>, BinaryLowering<nn::MaxOp>,
               BinaryLowering<nn::MinOp>, BinaryLowering<nn::PowOp>, BinaryLowering<nn::PReluOp>, UnaryFunctionLowering,
               VariadicLowering<nn::SumOp, false>, VariadicLowering<nn::MeanOp, true>, LRNLowering,
               SoftmaxLowering<nn::SoftmaxOp, false>, SoftmaxLowering<nn::LogSoftmaxOp, true>>(patterns.getContext());
}

} // namespace kiln::linalg_backend
