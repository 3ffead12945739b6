// convert-nn-to-linalg, data movement: nn.flatten -> tensor.collapse_shape, nn.reshape ->
// collapse to 1-D + expand, nn.concat -> tensor.concat, nn.pad -> tensor.pad, nn.dropout -> its
// input (the identity at inference), nn.transpose -> linalg.transpose, nn.slice ->
// tensor.extract_slice (or a generic reading backwards for negative steps), nn.broadcast -> a
// generic reading through a broadcasting map (constants at compile time), nn.resize -> one
// linalg.generic reading the input with tensor.extract at rows and columns from compile-time tables
// (nearest: floor(dst * in / out); bilinear: two rows, two columns and their weights, four taps
// blended). The schedule vectorises the extracts into gathers.
#include "compiler/linalg/PopulatePatterns.h"

#include "kiln/Dialect/NN/NNOps.h"

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

/// The two source rows (or columns) of each bilinear sample along one axis and the second's
/// weight, as in the reference (compiler/reference/DataMovement.cpp).
struct BilinearTaps {
  std::vector<int64_t> first, second;
  std::vector<float> weight;
};

BilinearTaps bilinearTaps(int64_t in, int64_t out, bool alignCorners) {
  BilinearTaps taps;
  for (int64_t dst = 0; dst < out; ++dst) {
    double src = alignCorners ? (out > 1 ? double(dst) * double(in - 1) / double(out - 1) : 0.0)
                              : std::max(0.0, (double(dst) + 0.5) * double(in) / double(out) - 0.5);
    int64_t first = std::min(static_cast<int64_t>(std::floor(src)), in - 1);
    taps.first.push_back(first);
    taps.second.push_back(std::min(first + 1, in - 1));
    taps.weight.push_back(static_cast<float>(src - double(first)));
  }
  return taps;
}

/// The source row (or column) of each nearest sample along one axis: floor(dst * in / out).
std::vector<int64_t> nearestTaps(int64_t in, int64_t out) {
  std::vector<int64_t> taps;
  for (int64_t dst = 0; dst < out; ++dst)
    taps.push_back(dst * in / out);
  return taps;
}

struct ResizeLowering : OpConversionPattern<nn::ResizeOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(nn::ResizeOp op, OpAdaptor adaptor, ConversionPatternRewriter &b) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = b.getContext();
    auto inType = cast<RankedTensorType>(adaptor.getInput().getType());
    auto outType = cast<RankedTensorType>(op.getType());
    int64_t H = inType.getDimSize(2), W = inType.getDimSize(3), OH = outType.getDimSize(2), OW = outType.getDimSize(3);
    auto table = [&](const auto &values) -> Value {
      using T = typename std::decay_t<decltype(values)>::value_type;
      Type element = std::is_same_v<T, float> ? Type(b.getF32Type()) : Type(b.getI64Type());
      auto type = RankedTensorType::get({static_cast<int64_t>(values.size())}, element);
      return arith::ConstantOp::create(b, loc, DenseElementsAttr::get(type, ArrayRef<T>(values)));
    };
    // Row tables are read along the output's H, column tables along its W.
    AffineMap alongH = AffineMap::get(4, 0, {getAffineDimExpr(2, ctx)}, ctx),
              alongW = AffineMap::get(4, 0, {getAffineDimExpr(3, ctx)}, ctx);
    SmallVector<Value> tables;
    SmallVector<AffineMap> maps;
    const bool nearest = op.getMode() == "nearest";
    if (nearest) {
      tables = {table(nearestTaps(H, OH)), table(nearestTaps(W, OW))};
      maps = {alongH, alongW};
    } else {
      BilinearTaps rows = bilinearTaps(H, OH, op.getAlignCorners()), cols = bilinearTaps(W, OW, op.getAlignCorners());
      tables = {table(rows.first), table(rows.second), table(rows.weight),
                table(cols.first), table(cols.second), table(cols.weight)};
      maps = {alongH, alongH, alongH, alongW, alongW, alongW};
    }
    maps.push_back(AffineMap::getMultiDimIdentityMap(4, ctx));
    Value input = adaptor.getInput();
    Value result =
        linalg::GenericOp::create(
            b, loc, TypeRange{outType}, tables, ValueRange{emptyTensor(b, loc, outType)}, maps,
            SmallVector<utils::IteratorType>(4, utils::IteratorType::parallel),
            [input, nearest](OpBuilder &nb, Location l, ValueRange a) {
              Value batch = linalg::IndexOp::create(nb, l, 0), channel = linalg::IndexOp::create(nb, l, 1);
              auto index = [&](Value i64) { return arith::IndexCastOp::create(nb, l, nb.getIndexType(), i64); };
              auto at = [&](Value row, Value col) -> Value {
                return tensor::ExtractOp::create(nb, l, input, ValueRange{batch, channel, index(row), index(col)});
              };
              if (nearest) {
                linalg::YieldOp::create(nb, l, at(a[0], a[1]));
                return;
              }
              auto lerp = [&](Value x, Value y, Value t) -> Value { // x + (y - x) * t
                return arith::AddFOp::create(nb, l, x,
                                             arith::MulFOp::create(nb, l, arith::SubFOp::create(nb, l, y, x), t));
              };
              Value top = lerp(at(a[0], a[3]), at(a[0], a[4]), a[5]);
              Value bottom = lerp(at(a[1], a[3]), at(a[1], a[4]), a[5]);
              linalg::YieldOp::create(nb, l, lerp(top, bottom, a[2]));
            })
            .getResult(0);
    b.replaceOp(op, result);
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
  patterns.add<FlattenLowering, ReshapeLowering, ConcatLowering, PadLowering, DropoutLowering, ResizeLowering,
               TransposeLowering, SliceLowering, BroadcastLowering>(patterns.getContext());
}

} // namespace kiln::linalg_backend
