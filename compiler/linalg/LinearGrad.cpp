// convert-nn-to-linalg, the weight gradients of the linear layers (as compiler/halide/LinearGrad.cpp):
//  - conv2d_grad_filter, groups == 1: itself a convolution, of the input (channels as the batch,
//    the batch as the channels) with grad_output as the filter, strides and dilations swapped:
//    linalg.conv_2d_nhwc_hwcf over x as [C, H, W, N] and dy as [OH, OW, N, F] into [C, KH, KW, F],
//    transposed to [F, C, KH, KW], so the schedule's conv register tile applies. Grouped: one
//    linalg.generic summing over (n, oh, ow), channel (f / (F/G)) * (C/G) + c.
//  - dense_grad_input: linalg.matmul(dy, W); dense_grad_weight: linalg.matmul(dy^T, x).
//  - bias_grad: a sum over every dimension but the channel (Reductions.cpp).
// The conv's input gradient is an nn.conv_transpose2d (Linear.cpp).
#include "compiler/linalg/PopulatePatterns.h"

#include "kiln/Dialect/NN/NNOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;

namespace kiln::linalg_backend {
namespace {

struct Conv2DGradFilterLowering : OpConversionPattern<nn::Conv2DGradFilterOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(nn::Conv2DGradFilterOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &b) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = b.getContext();
    auto outType = cast<RankedTensorType>(op.getType());
    ArrayRef<int64_t> pad = op.getPadding(), strides = op.getStrides(), dilations = op.getDilations();
    Value x = padded(b, loc, adaptor.getInput(), {0, 0, pad[0], pad[1]}, {0, 0, pad[2], pad[3]}, 0.0f);
    Value dy = adaptor.getGradOutput();
    int64_t F = outType.getDimSize(0), Cg = outType.getDimSize(1), KH = outType.getDimSize(2),
            KW = outType.getDimSize(3), G = static_cast<int64_t>(op.getGroups());
    if (G == 1) {
      auto cf = RankedTensorType::get({Cg, KH, KW, F}, b.getF32Type());
      Value conv =
          linalg::Conv2DNhwcHwcfOp::create(
              b, loc, TypeRange{cf},
              ValueRange{transposed(b, loc, x, {1, 2, 3, 0}), transposed(b, loc, dy, {2, 3, 0, 1})},
              ValueRange{filledTensor(b, loc, cf, 0.0f)}, b.getI64TensorAttr(dilations), b.getI64TensorAttr(strides))
              .getResult(0);
      b.replaceOp(op, transposed(b, loc, conv, {3, 0, 1, 2}));
      return success();
    }
    // Loops (f, c, kh, kw, n, oh, ow).
    AffineExpr f = getAffineDimExpr(0, ctx), c = getAffineDimExpr(1, ctx), kh = getAffineDimExpr(2, ctx),
               kw = getAffineDimExpr(3, ctx), n = getAffineDimExpr(4, ctx), oh = getAffineDimExpr(5, ctx),
               ow = getAffineDimExpr(6, ctx);
    SmallVector<AffineMap> maps = {AffineMap::get(7, 0,
                                                  {n, f.floorDiv(F / G) * Cg + c, oh * strides[0] + kh * dilations[0],
                                                   ow * strides[1] + kw * dilations[1]},
                                                  ctx),
                                   AffineMap::get(7, 0, {n, f, oh, ow}, ctx),
                                   AffineMap::get(7, 0, {f, c, kh, kw}, ctx)};
    SmallVector<utils::IteratorType> iterators(4, utils::IteratorType::parallel);
    iterators.append(3, utils::IteratorType::reduction);
    b.replaceOp(op, linalg::GenericOp::create(b, loc, TypeRange{outType}, ValueRange{x, dy},
                                              ValueRange{filledTensor(b, loc, outType, 0.0f)}, maps, iterators,
                                              [](OpBuilder &nb, Location nl, ValueRange a) {
                                                Value product = arith::MulFOp::create(nb, nl, a[0], a[1]);
                                                linalg::YieldOp::create(
                                                    nb, nl, arith::AddFOp::create(nb, nl, a[2], product).getResult());
                                              })
                        .getResult(0));
    return success();
  }
};

/// linalg.matmul of `lhs` [M, K] and `rhs` [K, N] into a zero-filled `type` [M, N].
Value matmul(OpBuilder &b, Location loc, Value lhs, Value rhs, Type type) {
  auto resultType = cast<RankedTensorType>(type);
  return linalg::MatmulOp::create(b, loc, TypeRange{resultType}, ValueRange{lhs, rhs},
                                  ValueRange{filledTensor(b, loc, resultType, 0.0f)})
      .getResult(0);
}

struct DenseGradInputLowering : OpConversionPattern<nn::DenseGradInputOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(nn::DenseGradInputOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &b) const override {
    b.replaceOp(op, matmul(b, op.getLoc(), adaptor.getGradOutput(), adaptor.getWeight(), op.getType()));
    return success();
  }
};

struct DenseGradWeightLowering : OpConversionPattern<nn::DenseGradWeightOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(nn::DenseGradWeightOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &b) const override {
    Value dyT = transposed(b, op.getLoc(), adaptor.getGradOutput(), {1, 0});
    b.replaceOp(op, matmul(b, op.getLoc(), dyT, adaptor.getInput(), op.getType()));
    return success();
  }
};

struct BiasGradLowering : OpConversionPattern<nn::BiasGradOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(nn::BiasGradOp op, OpAdaptor adaptor, ConversionPatternRewriter &b) const override {
    Value dy = adaptor.getGradOutput();
    b.replaceOp(op, reduce(b, op.getLoc(), cast<RankedTensorType>(dy.getType()).getShape(), {1}, ValueRange{dy},
                           firstInput, Combiner::Add));
    return success();
  }
};

} // namespace

void populateLinearGradPatterns(RewritePatternSet &patterns) {
  patterns.add<Conv2DGradFilterLowering, DenseGradInputLowering, DenseGradWeightLowering, BiasGradLowering>(
      patterns.getContext());
}

} // namespace kiln::linalg_backend
