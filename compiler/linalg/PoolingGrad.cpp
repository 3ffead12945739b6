// convert-nn-to-linalg, the pooling gradients in gather form, as compiler/halide/PoolingGrad.cpp
// (each input position sums over the few output cells whose windows contain it, so nothing is
// scattered): one linalg.generic over the input and the ceil(K / stride) covering cells per
// dimension, reading grad_output with tensor.extract at the (clamped) cell.
//  - max_pool2d_grad: a cell's gradient goes to its window's first maximum (row-major, PyTorch's
//    tie rule), found by a generic taking the smallest window offset whose value equals the max.
//  - avg_pool2d_grad: grad_output divided by the forward's divisors (Pooling.cpp) first.
//  - global_avg_pool_grad: grad_output / (H * W) broadcast over the plane.
#include "compiler/linalg/PopulatePatterns.h"

#include "kiln/Dialect/NN/NNOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <limits>

using namespace mlir;

namespace kiln::linalg_backend {
namespace {

/// What a covering cell adds to an input position: from the cell's indices (n, c, oy, ox) and the
/// position's row-major offset ky * KW + kx inside the cell's window (both index values).
using Contribution = std::function<Value(OpBuilder &, Location, ValueRange cell, Value offset)>;

/// A tensor of `inType` [N, C, H, W] whose element (n, c, ih, iw) sums `contribution` over the
/// output cells (of an OH x OW result) whose windows contain (ih, iw).
Value coveringSum(OpBuilder &b, Location loc, RankedTensorType inType, ArrayRef<int64_t> kernel,
                  ArrayRef<int64_t> strides, ArrayRef<int64_t> pad, int64_t OH, int64_t OW,
                  const Contribution &contribution) {
  MLIRContext *ctx = b.getContext();
  // Loops (n, c, ih, iw, ry, rx); cell oy = (ih + top) / stride - ry, and the same along x.
  SmallVector<int64_t> covering = {(kernel[0] + strides[0] - 1) / strides[0],
                                   (kernel[1] + strides[1] - 1) / strides[1]};
  Value cells = tensor::EmptyOp::create(b, loc, covering, b.getF32Type());
  SmallVector<AffineMap> maps = {AffineMap::get(6, 0, {getAffineDimExpr(4, ctx), getAffineDimExpr(5, ctx)}, ctx),
                                 AffineMap::get(6, 0,
                                                {getAffineDimExpr(0, ctx), getAffineDimExpr(1, ctx),
                                                 getAffineDimExpr(2, ctx), getAffineDimExpr(3, ctx)},
                                                ctx)};
  SmallVector<utils::IteratorType> iterators(4, utils::IteratorType::parallel);
  iterators.append(2, utils::IteratorType::reduction);
  return linalg::GenericOp::create(
             b, loc, TypeRange{inType}, ValueRange{cells}, ValueRange{filledTensor(b, loc, inType, 0.0f)}, maps,
             iterators,
             [&](OpBuilder &nb, Location l, ValueRange a) {
               auto index = [&](int64_t v) -> Value { return arith::ConstantIndexOp::create(nb, l, v); };
               Value inside;
               SmallVector<Value> cell = {linalg::IndexOp::create(nb, l, 0), linalg::IndexOp::create(nb, l, 1)};
               SmallVector<Value> within;
               for (int64_t d = 0; d < 2; ++d) {
                 Value shifted = arith::AddIOp::create(nb, l, linalg::IndexOp::create(nb, l, 2 + d), index(pad[d]));
                 Value o = arith::SubIOp::create(nb, l, arith::DivUIOp::create(nb, l, shifted, index(strides[d])),
                                                 linalg::IndexOp::create(nb, l, 4 + d));
                 Value k = arith::SubIOp::create(nb, l, shifted, arith::MulIOp::create(nb, l, o, index(strides[d])));
                 int64_t extent = d == 0 ? OH : OW;
                 Value ok = arith::AndIOp::create(
                     nb, l, arith::CmpIOp::create(nb, l, arith::CmpIPredicate::sge, o, index(0)),
                     arith::AndIOp::create(
                         nb, l, arith::CmpIOp::create(nb, l, arith::CmpIPredicate::slt, o, index(extent)),
                         arith::CmpIOp::create(nb, l, arith::CmpIPredicate::slt, k, index(kernel[d]))));
                 inside = inside ? arith::AndIOp::create(nb, l, inside, ok).getResult() : ok;
                 cell.push_back(
                     arith::MinSIOp::create(nb, l, arith::MaxSIOp::create(nb, l, o, index(0)), index(extent - 1)));
                 within.push_back(k);
               }
               Value offset =
                   arith::AddIOp::create(nb, l, arith::MulIOp::create(nb, l, within[0], index(kernel[1])), within[1]);
               Value value =
                   arith::SelectOp::create(nb, l, inside, contribution(nb, l, cell, offset), f32Constant(nb, l, 0.0f));
               linalg::YieldOp::create(nb, l, arith::AddFOp::create(nb, l, a[1], value).getResult());
             })
      .getResult(0);
}

/// An index value (a window offset) as an f32.
Value indexAsFloat(OpBuilder &b, Location loc, Value index) {
  return arith::SIToFPOp::create(b, loc, b.getF32Type(), arith::IndexCastOp::create(b, loc, b.getI32Type(), index));
}

/// Per output cell of `outType`, the row-major window offset ky * KW + kx (as a float) of the first
/// cell of `input` that equals the window's maximum.
Value firstMaximum(OpBuilder &b, Location loc, Value input, RankedTensorType outType, ArrayRef<int64_t> kernel,
                   ArrayRef<int64_t> strides, ArrayRef<int64_t> pad) {
  MLIRContext *ctx = b.getContext();
  Value max = maxPooled(b, loc, input, outType, kernel, strides, pad);
  Value x = paddedForWindows(b, loc, input, outType, kernel, strides, pad, std::numeric_limits<float>::lowest());
  Value window = tensor::EmptyOp::create(b, loc, kernel, b.getF32Type());
  // Loops (n, c, oy, ox, ky, kx).
  AffineExpr n = getAffineDimExpr(0, ctx), c = getAffineDimExpr(1, ctx), oy = getAffineDimExpr(2, ctx),
             ox = getAffineDimExpr(3, ctx), ky = getAffineDimExpr(4, ctx), kx = getAffineDimExpr(5, ctx);
  SmallVector<AffineMap> maps = {AffineMap::get(6, 0, {n, c, oy * strides[0] + ky, ox * strides[1] + kx}, ctx),
                                 AffineMap::get(6, 0, {ky, kx}, ctx), AffineMap::get(6, 0, {n, c, oy, ox}, ctx),
                                 AffineMap::get(6, 0, {n, c, oy, ox}, ctx)};
  SmallVector<utils::IteratorType> iterators(4, utils::IteratorType::parallel);
  iterators.append(2, utils::IteratorType::reduction);
  const float none = std::numeric_limits<float>::infinity();
  return linalg::GenericOp::create(
             b, loc, TypeRange{outType}, ValueRange{x, window, max}, ValueRange{filledTensor(b, loc, outType, none)},
             maps, iterators,
             [&](OpBuilder &nb, Location l, ValueRange a) {
               Value offset =
                   arith::AddIOp::create(nb, l,
                                         arith::MulIOp::create(nb, l, linalg::IndexOp::create(nb, l, 4),
                                                               arith::ConstantIndexOp::create(nb, l, kernel[1])),
                                         linalg::IndexOp::create(nb, l, 5));
               Value isMax = arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OEQ, a[0], a[2]);
               Value candidate =
                   arith::SelectOp::create(nb, l, isMax, indexAsFloat(nb, l, offset), f32Constant(nb, l, none));
               linalg::YieldOp::create(nb, l, arith::MinimumFOp::create(nb, l, a[3], candidate).getResult());
             })
      .getResult(0);
}

Value extractAt(OpBuilder &b, Location loc, Value tensor, ValueRange indices) {
  return tensor::ExtractOp::create(b, loc, tensor, indices);
}

struct MaxPool2DGradLowering : OpConversionPattern<nn::MaxPool2DGradOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(nn::MaxPool2DGradOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &b) const override {
    Location loc = op.getLoc();
    Value dy = adaptor.getGradOutput();
    auto outType = cast<RankedTensorType>(dy.getType());
    ArrayRef<int64_t> kernel = op.getKernel(), strides = op.getStrides(), pad = op.getPadding();
    Value winner = firstMaximum(b, loc, adaptor.getInput(), outType, kernel, strides, pad);
    b.replaceOp(
        op,
        coveringSum(b, loc, cast<RankedTensorType>(op.getType()), kernel, strides, pad, outType.getDimSize(2),
                    outType.getDimSize(3), [&](OpBuilder &nb, Location l, ValueRange cell, Value offset) -> Value {
                      Value wins = arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OEQ,
                                                         extractAt(nb, l, winner, cell), indexAsFloat(nb, l, offset));
                      return arith::SelectOp::create(nb, l, wins, extractAt(nb, l, dy, cell), f32Constant(nb, l, 0.0f));
                    }));
    return success();
  }
};

struct AvgPool2DGradLowering : OpConversionPattern<nn::AvgPool2DGradOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(nn::AvgPool2DGradOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &b) const override {
    Location loc = op.getLoc();
    auto inType = cast<RankedTensorType>(op.getType());
    auto outType = cast<RankedTensorType>(adaptor.getGradOutput().getType());
    ArrayRef<int64_t> kernel = op.getKernel(), strides = op.getStrides(), pad = op.getPadding();
    Value scaled = dividedByWindowCounts(b, loc, adaptor.getGradOutput(), inType.getDimSize(2), inType.getDimSize(3),
                                         kernel, strides, pad, op.getCountIncludePad());
    b.replaceOp(op, coveringSum(b, loc, inType, kernel, strides, pad, outType.getDimSize(2), outType.getDimSize(3),
                                [&](OpBuilder &nb, Location l, ValueRange cell, Value) {
                                  return extractAt(nb, l, scaled, cell);
                                }));
    return success();
  }
};

struct GlobalAvgPoolGradLowering : OpConversionPattern<nn::GlobalAvgPoolGradOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(nn::GlobalAvgPoolGradOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &b) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = b.getContext();
    auto type = cast<RankedTensorType>(op.getType());
    float area = static_cast<float>(type.getDimSize(2) * type.getDimSize(3));
    AffineExpr zero = getAffineConstantExpr(0, ctx);
    SmallVector<AffineMap> maps = {
        AffineMap::get(4, 0, {getAffineDimExpr(0, ctx), getAffineDimExpr(1, ctx), zero, zero}, ctx),
        AffineMap::getMultiDimIdentityMap(4, ctx)};
    b.replaceOp(op,
                linalg::GenericOp::create(
                    b, loc, TypeRange{type}, ValueRange{adaptor.getGradOutput()}, ValueRange{emptyTensor(b, loc, type)},
                    maps, SmallVector<utils::IteratorType>(4, utils::IteratorType::parallel),
                    [area](OpBuilder &nb, Location l, ValueRange a) {
                      linalg::YieldOp::create(nb, l,
                                              arith::DivFOp::create(nb, l, a[0], f32Constant(nb, l, area)).getResult());
                    })
                    .getResult(0));
    return success();
  }
};

} // namespace

void populatePoolingGradPatterns(RewritePatternSet &patterns) {
  patterns.add<MaxPool2DGradLowering, AvgPool2DGradLowering, GlobalAvgPoolGradLowering>(patterns.getContext());
}

} // namespace kiln::linalg_backend
