// convert-nn-to-linalg, data movement: nn.flatten -> tensor.collapse_shape, nn.reshape ->
// collapse to 1-D + expand, nn.concat -> tensor.concat, nn.pad -> tensor.pad, nn.dropout -> its
// input (the identity at inference), nn.transpose -> linalg.transpose, nn.slice ->
// tensor.extract_slice (or a generic reading backwards for negative steps), nn.broadcast -> a
// generic reading through a broadcasting map (constants at compile time), nn.resize -> one
// linalg.generic reading the input with tensor.extract at rows and columns from compile-time tables
// (nn::resizeTaps: 1, 2 or 4 taps per axis and their weights; nn.resize_grad: the transposed taps,
// one axis per generic). The schedule vectorises the extracts into gathers.
#include "compiler/linalg/PopulatePatterns.h"

#include "kiln/Dialect/NN/NNOps.h"
#include "kiln/Dialect/NN/ResizeSampling.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

using namespace mlir;

namespace kiln::linalg_backend {
namespace {

struct FlattenLowering : OpConversionPattern<nn::FlattenOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(nn::FlattenOp op, OpAdaptor adaptor, ConversionPatternRewriter &b) const override {
    int64_t rank = cast<RankedTensorType>(adaptor.getInput().getType()).getRank();
    ReassociationIndices rest;
    for (int64_t d = 1; d < rank; ++d)
      rest.push_back(d);
    b.replaceOpWithNewOp<tensor::CollapseShapeOp>(op, op.getType(), adaptor.getInput(),
                                                  SmallVector<ReassociationIndices>{{0}, rest});
    return success();
  }
};

struct ReshapeLowering : OpConversionPattern<nn::ReshapeOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(nn::ReshapeOp op, OpAdaptor adaptor, ConversionPatternRewriter &b) const override {
    Location loc = op.getLoc();
    auto inType = cast<RankedTensorType>(adaptor.getInput().getType());
    auto outType = cast<RankedTensorType>(op.getType());
    auto allDims = [](int64_t rank) {
      ReassociationIndices dims;
      for (int64_t d = 0; d < rank; ++d)
        dims.push_back(d);
      return SmallVector<ReassociationIndices>{dims};
    };
    Value flat = adaptor.getInput();
    if (inType.getRank() != 1)
      flat = tensor::CollapseShapeOp::create(
          b, loc, RankedTensorType::get({inType.getNumElements()}, inType.getElementType()), flat,
          allDims(inType.getRank()));
    if (outType.getRank() != 1)
      flat = tensor::ExpandShapeOp::create(b, loc, outType, flat, allDims(outType.getRank()));
    b.replaceOp(op, flat);
    return success();
  }
};

struct PadLowering : OpConversionPattern<nn::PadOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(nn::PadOp op, OpAdaptor adaptor, ConversionPatternRewriter &b) const override {
    ArrayRef<int64_t> pads = op.getPads(); // all begins, then all ends
    size_t rank = pads.size() / 2;
    b.replaceOp(op, padded(b, op.getLoc(), adaptor.getInput(), pads.take_front(rank), pads.drop_front(rank),
                           op.getValue().convertToFloat()));
    return success();
  }
};

/// `input` [N, C, H, W] resampled along the dimensions of `axes` (2 or 3, each with its taps) into
/// `type`: one linalg.generic reading the input with tensor.extract at positions from
/// compile-time tables (a position and a weight table per tap, read along the output's dimension),
/// summing the products of the axes' weights over every combination of taps.
Value resampled(OpBuilder &b, Location loc, Value input, RankedTensorType type,
                ArrayRef<std::pair<int64_t, nn::AxisTaps>> axes) {
  MLIRContext *ctx = b.getContext();
  SmallVector<Value> tables;
  SmallVector<AffineMap> maps;
  for (const auto &[dim, taps] : axes) {
    const int64_t out = type.getDimSize(dim);
    for (int k = 0; k < taps.taps; ++k) {
      SmallVector<int64_t> index;
      SmallVector<float> weight;
      for (int64_t d = 0; d < out; ++d) {
        index.push_back(taps.index[d * taps.taps + k]);
        weight.push_back(static_cast<float>(taps.weight[d * taps.taps + k]));
      }
      tables.push_back(arith::ConstantOp::create(
          b, loc, DenseElementsAttr::get(RankedTensorType::get({out}, b.getI64Type()), ArrayRef<int64_t>(index))));
      if (!taps.unitWeights()) // nearest: a plain gather
        tables.push_back(arith::ConstantOp::create(
            b, loc, DenseElementsAttr::get(RankedTensorType::get({out}, b.getF32Type()), ArrayRef<float>(weight))));
    }
    maps.append(tables.size() - maps.size(), AffineMap::get(4, 0, {getAffineDimExpr(dim, ctx)}, ctx));
  }
  maps.push_back(AffineMap::getMultiDimIdentityMap(4, ctx));
  struct Axis {
    int64_t dim;
    int taps;
    bool weighted;
  };
  SmallVector<Axis> dims; // in table order
  for (const auto &[dim, taps] : axes)
    dims.push_back({dim, taps.taps, !taps.unitWeights()});
  return linalg::GenericOp::create(
             b, loc, TypeRange{type}, tables, ValueRange{emptyTensor(b, loc, type)}, maps,
             SmallVector<utils::IteratorType>(4, utils::IteratorType::parallel),
             [input, dims](OpBuilder &nb, Location l, ValueRange a) {
               // a = position and weight per tap of the first axis (only positions when every
               // weight is 1), then of the second, then the output.
               SmallVector<Value> at;
               for (int64_t d = 0; d < 4; ++d)
                 at.push_back(linalg::IndexOp::create(nb, l, d));
               Value total;
               // Each combination of taps: k = tap of axis 0 + taps(0) * tap of axis 1.
               int combinations = 1;
               for (const Axis &axis : dims)
                 combinations *= axis.taps;
               for (int k = 0; k < combinations; ++k) {
                 Value weight;
                 int rest = k, offset = 0;
                 for (const Axis &axis : dims) {
                   const int tap = rest % axis.taps, stride = axis.weighted ? 2 : 1;
                   rest /= axis.taps;
                   at[axis.dim] = arith::IndexCastOp::create(nb, l, nb.getIndexType(), a[offset + stride * tap]);
                   if (axis.weighted) {
                     Value w = a[offset + 2 * tap + 1];
                     weight = weight ? arith::MulFOp::create(nb, l, weight, w).getResult() : w;
                   }
                   offset += stride * axis.taps;
                 }
                 Value term = tensor::ExtractOp::create(nb, l, input, at);
                 if (weight)
                   term = arith::MulFOp::create(nb, l, weight, term);
                 total = total ? arith::AddFOp::create(nb, l, total, term).getResult() : term;
               }
               linalg::YieldOp::create(nb, l, total);
             })
      .getResult(0);
}

/// nn.resize: one generic over both axes (nn::resizeTaps: 1, 2 or 4 taps each); nn.resize_grad:
/// the transposed taps, along W and then along H (a gradient's taps can be many).
template <typename Op, bool Grad>
struct ResizeLowering : OpConversionPattern<Op> {
  using OpConversionPattern<Op>::OpConversionPattern;
  using Adaptor = typename OpConversionPattern<Op>::OpAdaptor;

  LogicalResult matchAndRewrite(Op op, Adaptor adaptor, ConversionPatternRewriter &b) const override {
    Location loc = op.getLoc();
    Value input = adaptor.getOperands()[0];
    auto inType = cast<RankedTensorType>(input.getType());
    auto outType = cast<RankedTensorType>(op.getType());
    nn::ResizeSampling sampling{op.getMode(), op.getCoordinateMode(), op.getNearestMode(),
                                op.getCubicCoeffA().convertToDouble(), op.getExcludeOutside()};
    std::optional<ArrayRef<float>> scales = op.getScales();
    SmallVector<std::pair<int64_t, nn::AxisTaps>> axes;
    for (int64_t dim : {2, 3}) {
      std::optional<double> scale = scales ? std::optional<double>((*scales)[dim - 2]) : std::nullopt;
      const int64_t in = inType.getDimSize(dim), out = outType.getDimSize(dim);
      axes.push_back({dim, Grad ? nn::transposeTaps(nn::resizeTaps(sampling, out, in, scale), out)
                                : nn::resizeTaps(sampling, in, out, scale)});
    }
    if (!Grad) {
      b.replaceOp(op, resampled(b, loc, input, outType, axes));
      return success();
    }
    SmallVector<int64_t> acrossShape(inType.getShape());
    acrossShape[3] = outType.getDimSize(3);
    Value across = resampled(b, loc, input, RankedTensorType::get(acrossShape, outType.getElementType()), {axes[1]});
    b.replaceOp(op, resampled(b, loc, across, outType, {axes[0]}));
    return success();
  }
};

/// tensor.concat, not insert_slices into a tensor.empty: the schedule's vectoriser would turn each
/// insert_slice into one vector of its whole input (minutes in LLVM's instruction selection for an
/// inception block); tensor.concat bufferizes to copies into subviews, which become loops.
struct ConcatLowering : OpConversionPattern<nn::ConcatOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(nn::ConcatOp op, OpAdaptor adaptor, ConversionPatternRewriter &b) const override {
    b.replaceOpWithNewOp<tensor::ConcatOp>(op, op.getType(), op.getAxis(), adaptor.getInputs());
    return success();
  }
};

struct TransposeLowering : OpConversionPattern<nn::TransposeOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(nn::TransposeOp op, OpAdaptor adaptor, ConversionPatternRewriter &b) const override {
    b.replaceOp(op, transposed(b, op.getLoc(), adaptor.getInput(), op.getPerm()));
    return success();
  }
};

/// Positive steps: tensor.extract_slice. A negative step anywhere: one generic reading
/// input[starts + i * steps] (the schedule leaves it whole: it becomes loops).
struct SliceLowering : OpConversionPattern<nn::SliceOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(nn::SliceOp op, OpAdaptor adaptor, ConversionPatternRewriter &b) const override {
    auto type = cast<RankedTensorType>(op.getType());
    ArrayRef<int64_t> starts = op.getStarts(), steps = op.getSteps();
    if (llvm::any_of(steps, [](int64_t step) { return step < 0; })) {
      SmallVector<AffineExpr> source;
      for (auto [d, start, step] : llvm::enumerate(starts, steps))
        source.push_back(getAffineDimExpr(d, b.getContext()) * step + start);
      b.replaceOp(op, gathered(b, op.getLoc(), adaptor.getInput(), type,
                               AffineMap::get(type.getRank(), 0, source, b.getContext())));
      return success();
    }
    auto indices = [&](ArrayRef<int64_t> values) {
      return llvm::map_to_vector(values, [&](int64_t v) -> OpFoldResult { return b.getIndexAttr(v); });
    };
    b.replaceOpWithNewOp<tensor::ExtractSliceOp>(op, type, adaptor.getInput(), indices(starts),
                                                 indices(type.getShape()), indices(steps));
    return success();
  }
};

struct BroadcastLowering : OpConversionPattern<nn::BroadcastOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(nn::BroadcastOp op, OpAdaptor adaptor, ConversionPatternRewriter &b) const override {
    auto type = cast<RankedTensorType>(op.getType());
    Value input = adaptor.getInput();
    b.replaceOp(op, gathered(b, op.getLoc(), input, type, broadcastMap(cast<RankedTensorType>(input.getType()), type)));
    return success();
  }
};

struct DropoutLowering : OpConversionPattern<nn::DropoutOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(nn::DropoutOp op, OpAdaptor adaptor, ConversionPatternRewriter &b) const override {
    b.replaceOp(op, adaptor.getInput());
    return success();
  }
};

} // namespace

void populateDataMovementPatterns(RewritePatternSet &patterns) {
  patterns.add<FlattenLowering, ReshapeLowering, ConcatLowering, PadLowering, DropoutLowering,
               ResizeLowering<nn::ResizeOp, false>, ResizeLowering<nn::ResizeGradOp, true>, TransposeLowering,
               SliceLowering, BroadcastLowering>(patterns.getContext());
}

} // namespace kiln::linalg_backend
