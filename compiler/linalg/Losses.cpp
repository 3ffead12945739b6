// convert-nn-to-linalg, the losses and their gradients (as compiler/halide/Losses.cpp):
// softmax_cross_entropy over logits [N, K] with class indices held as floats (row max and row sum
// of exp(logit - max) as softmax's, and the label's logit: row reductions, Reductions.cpp), and
// mse_loss. A loss
// is a sum into a 0-d tensor divided once into the tensor<1xf32> result.
#include "compiler/linalg/PopulatePatterns.h"

#include "kiln/Dialect/NN/NNOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

using namespace mlir;

namespace kiln::linalg_backend {
namespace {

/// tensor<1xf32> holding the 0-d `sum` divided by `count`.
Value meanOf(OpBuilder &b, Location loc, Value sum, int64_t count) {
  MLIRContext *ctx = b.getContext();
  auto type = RankedTensorType::get({1}, b.getF32Type());
  SmallVector<AffineMap> maps = {AffineMap::get(1, 0, {}, ctx), AffineMap::getMultiDimIdentityMap(1, ctx)};
  return linalg::GenericOp::create(b, loc, TypeRange{type}, ValueRange{sum}, ValueRange{emptyTensor(b, loc, type)},
                                   maps, SmallVector<utils::IteratorType>{utils::IteratorType::parallel},
                                   [count](OpBuilder &nb, Location l, ValueRange a) {
                                     Value n = f32Constant(nb, l, static_cast<float>(count));
                                     linalg::YieldOp::create(nb, l, arith::DivFOp::create(nb, l, a[0], n).getResult());
                                   })
      .getResult(0);
}

/// What softmax_cross_entropy and its gradient read: logits [N, K], labels [N], and per row the
/// max and the sum of exp(logit - max).
struct Classification {
  Value logits, labels, max, sumExp;
  int64_t N, K;
};

Classification classification(OpBuilder &b, Location loc, Value logits, Value labels) {
  ArrayRef<int64_t> shape = cast<RankedTensorType>(logits.getType()).getShape();
  SoftmaxStatistics stats = softmaxStatistics(b, loc, logits, 1);
  return {logits, labels, stats.max, stats.sumExp, shape[0], shape[1]};
}

/// Whether the current column (linalg.index 1) is row n's class: the label clamped into [0, K).
Value isLabelColumn(OpBuilder &b, Location l, Value label, int64_t K) {
  Value cls = arith::FPToSIOp::create(b, l, b.getI32Type(), label);
  cls = arith::MinSIOp::create(b, l, arith::MaxSIOp::create(b, l, cls, arith::ConstantIntOp::create(b, l, 0, 32)),
                               arith::ConstantIntOp::create(b, l, K - 1, 32));
  Value column = arith::IndexCastOp::create(b, l, b.getI32Type(), linalg::IndexOp::create(b, l, 1));
  return arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, column, cls);
}

struct SoftmaxCrossEntropyLowering : OpConversionPattern<nn::SoftmaxCrossEntropyOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(nn::SoftmaxCrossEntropyOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &b) const override {
    Location loc = op.getLoc();
    Classification c = classification(b, loc, adaptor.getLogits(), adaptor.getLabels());
    int64_t K = c.K;
    Value picked = reduce(
        b, loc, {c.N, c.K}, {0}, ValueRange{c.logits, c.labels},
        [K](OpBuilder &nb, Location l, ValueRange a) -> Value {
          return arith::SelectOp::create(nb, l, isLabelColumn(nb, l, a[1], K), a[0], f32Constant(nb, l, 0.0f));
        },
        Combiner::Add);
    // Per row: logsumexp - the label's logit.
    Value total = reduce(
        b, loc, {c.N}, {}, ValueRange{c.sumExp, c.max, picked},
        [](OpBuilder &nb, Location l, ValueRange a) -> Value {
          Value logSumExp = arith::AddFOp::create(nb, l, math::LogOp::create(nb, l, a[0]), a[1]);
          return arith::SubFOp::create(nb, l, logSumExp, a[2]);
        },
        Combiner::Add);
    b.replaceOp(op, meanOf(b, loc, total, c.N));
    return success();
  }
};

struct SoftmaxCrossEntropyGradLowering : OpConversionPattern<nn::SoftmaxCrossEntropyGradOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(nn::SoftmaxCrossEntropyGradOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &b) const override {
    Location loc = op.getLoc();
    Classification c = classification(b, loc, adaptor.getLogits(), adaptor.getLabels());
    int64_t N = c.N, K = c.K;
    b.replaceOp(op, elementwise(
                        b, loc, cast<RankedTensorType>(op.getType()), ValueRange{c.logits, c.max, c.sumExp, c.labels},
                        [N, K](OpBuilder &nb, Location l, ValueRange a) -> Value {
                          Value e = math::ExpOp::create(nb, l, arith::SubFOp::create(nb, l, a[0], a[1]));
                          Value probability = arith::DivFOp::create(nb, l, e, a[2]);
                          Value target = arith::SelectOp::create(nb, l, isLabelColumn(nb, l, a[3], K),
                                                                 f32Constant(nb, l, 1.0f), f32Constant(nb, l, 0.0f));
                          return arith::DivFOp::create(nb, l, arith::SubFOp::create(nb, l, probability, target),
                                                       f32Constant(nb, l, static_cast<float>(N)));
                        },
                        /*channelDim=*/0));
    return success();
  }
};

struct MseLossLowering : OpConversionPattern<nn::MseLossOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(nn::MseLossOp op, OpAdaptor adaptor, ConversionPatternRewriter &b) const override {
    Location loc = op.getLoc();
    auto type = cast<RankedTensorType>(adaptor.getPrediction().getType());
    SmallVector<int64_t> kept;
    Value sum = reduce(
        b, loc, type.getShape(), kept, ValueRange{adaptor.getPrediction(), adaptor.getTarget()},
        [](OpBuilder &nb, Location l, ValueRange a) -> Value {
          Value difference = arith::SubFOp::create(nb, l, a[0], a[1]);
          return arith::MulFOp::create(nb, l, difference, difference);
        },
        Combiner::Add);
    b.replaceOp(op, meanOf(b, loc, sum, type.getNumElements()));
    return success();
  }
};

struct MseLossGradLowering : OpConversionPattern<nn::MseLossGradOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(nn::MseLossGradOp op, OpAdaptor adaptor, ConversionPatternRewriter &b) const override {
    auto type = cast<RankedTensorType>(op.getType());
    const float scale = 2.0f / static_cast<float>(type.getNumElements());
    b.replaceOp(op, elementwise(b, op.getLoc(), type, ValueRange{adaptor.getPrediction(), adaptor.getTarget()},
                                [scale](OpBuilder &nb, Location l, ValueRange a) -> Value {
                                  return arith::MulFOp::create(nb, l, arith::SubFOp::create(nb, l, a[0], a[1]),
                                                               f32Constant(nb, l, scale));
                                }));
    return success();
  }
};

} // namespace

void populateLossPatterns(RewritePatternSet &patterns) {
  patterns.add<SoftmaxCrossEntropyLowering, SoftmaxCrossEntropyGradLowering, MseLossLowering, MseLossGradLowering>(
      patterns.getContext());
}

} // namespace kiln::linalg_backend
