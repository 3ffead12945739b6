// convert-nn-to-linalg, elementwise ops as linalg.generic: batch_norm (per-channel affine from the
// statistics, channel = dimension 1), relu / leaky_relu / tanh / sigmoid / clip / hard_sigmoid /
// hard_swish, the broadcasting binary ops (add, sub, mul, div, max, min), sum / mean, lrn (the
// squares of `size` channel-shifted slices of the zero-padded input, summed and scaled), and
// softmax / log_softmax (max, sum of exp, then divide or subtract the log: three generics, the two
// reductions keeping every dimension but `axis`).
#include "compiler/linalg/PopulatePatterns.h"

#include "kiln/Dialect/NN/NNOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

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
  Value expNeg = math::ExpOp::create(b, l, arith::NegFOp::create(b, l, x));
  Value one = f32Constant(b, l, 1.0f);
  return arith::DivFOp::create(b, l, one, arith::AddFOp::create(b, l, one, expNeg));
}

/// add / sub / mul / div / max / min with numpy-style broadcasting: each operand's map reads
/// dimension 0 where it has extent 1 and the result does not.
template <typename Op>
struct BinaryLowering : OpConversionPattern<Op> {
  using OpConversionPattern<Op>::OpConversionPattern;
  using Adaptor = typename OpConversionPattern<Op>::OpAdaptor;

  static Value apply(OpBuilder &b, Location l, Value x, Value y);

  LogicalResult matchAndRewrite(Op op, Adaptor adaptor, ConversionPatternRewriter &b) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = b.getContext();
    auto type = cast<RankedTensorType>(op.getType());
    int64_t rank = type.getRank();
    SmallVector<AffineMap> maps;
    for (Value operand : {adaptor.getLhs(), adaptor.getRhs()}) {
      auto operandType = cast<RankedTensorType>(operand.getType());
      SmallVector<AffineExpr> exprs;
      for (int64_t i = 0; i < operandType.getRank(); ++i) {
        int64_t d = rank - operandType.getRank() + i;
        exprs.push_back(operandType.getDimSize(i) == 1 && type.getDimSize(d) != 1 ? getAffineConstantExpr(0, ctx)
                                                                                  : getAffineDimExpr(d, ctx));
      }
      maps.push_back(AffineMap::get(rank, 0, exprs, ctx));
    }
    maps.push_back(AffineMap::getMultiDimIdentityMap(rank, ctx));
    b.replaceOp(op, linalg::GenericOp::create(b, loc, TypeRange{type}, ValueRange{adaptor.getLhs(), adaptor.getRhs()},
                                              ValueRange{emptyTensor(b, loc, type)}, maps,
                                              SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
                                              [](OpBuilder &nb, Location l, ValueRange a) {
                                                linalg::YieldOp::create(nb, l, apply(nb, l, a[0], a[1]));
                                              })
                        .getResult(0));
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

} // namespace

void populateElementwisePatterns(RewritePatternSet &patterns) {
  patterns.add<BatchNormLowering, UnaryLowering<nn::ReluOp>, UnaryLowering<nn::LeakyReluOp>,
               UnaryLowering<nn::TanhOp>, UnaryLowering<nn::SigmoidOp>, UnaryLowering<nn::ClipOp>,
               UnaryLowering<nn::HardSigmoidOp>, UnaryLowering<nn::HardSwishOp>, BinaryLowering<nn::AddOp>,
               BinaryLowering<nn::SubOp>, BinaryLowering<nn::MulOp>, BinaryLowering<nn::DivOp>,
               BinaryLowering<nn::MaxOp>, BinaryLowering<nn::MinOp>, VariadicLowering<nn::SumOp, false>,
               VariadicLowering<nn::MeanOp, true>, LRNLowering, SoftmaxLowering<nn::SoftmaxOp, false>,
               SoftmaxLowering<nn::LogSoftmaxOp, true>>(
      patterns.getContext());
}

} // namespace kiln::linalg_backend
