// convert-nn-to-linalg, data movement: nn.flatten -> tensor.collapse_shape, nn.reshape ->
// collapse to 1-D + expand, nn.concat -> tensor.concat, nn.pad -> tensor.pad, nn.dropout -> its
// input (the identity at inference), nn.resize -> one linalg.generic reading the input with
// tensor.extract at rows and columns from compile-time tables (nn::resizeTaps: 1, 2 or 4 taps per
// axis and their weights). The schedule vectorises
// the extracts into gathers.
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

struct ResizeLowering : OpConversionPattern<nn::ResizeOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(nn::ResizeOp op, OpAdaptor adaptor, ConversionPatternRewriter &b) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = b.getContext();
    auto inType = cast<RankedTensorType>(adaptor.getInput().getType());
    auto outType = cast<RankedTensorType>(op.getType());
    nn::ResizeSampling sampling{op.getMode(), op.getCoordinateMode(), op.getNearestMode(),
                                op.getCubicCoeffA().convertToDouble(), op.getExcludeOutside()};
    std::optional<ArrayRef<float>> scales = op.getScales();
    // Per axis (H, then W) and tap: a table of source positions and one of weights, read along
    // the output's dimension 2 or 3.
    SmallVector<Value> tables;
    SmallVector<AffineMap> maps;
    int taps = 1;
    for (int axis = 0; axis < 2; ++axis) {
      std::optional<double> scale = scales ? std::optional<double>((*scales)[axis]) : std::nullopt;
      nn::AxisTaps axisTaps = nn::resizeTaps(sampling, inType.getDimSize(2 + axis), outType.getDimSize(2 + axis), scale);
      taps = axisTaps.taps;
      const int64_t out = outType.getDimSize(2 + axis);
      for (int k = 0; k < taps; ++k) {
        SmallVector<int64_t> index;
        SmallVector<float> weight;
        for (int64_t d = 0; d < out; ++d) {
          index.push_back(axisTaps.index[d * taps + k]);
          weight.push_back(static_cast<float>(axisTaps.weight[d * taps + k]));
        }
        tables.push_back(arith::ConstantOp::create(
            b, loc, DenseElementsAttr::get(RankedTensorType::get({out}, b.getI64Type()), ArrayRef<int64_t>(index))));
        if (taps > 1) // nearest: every weight is 1
          tables.push_back(arith::ConstantOp::create(
              b, loc, DenseElementsAttr::get(RankedTensorType::get({out}, b.getF32Type()), ArrayRef<float>(weight))));
      }
      maps.append(tables.size() - maps.size(), AffineMap::get(4, 0, {getAffineDimExpr(2 + axis, ctx)}, ctx));
    }
    maps.push_back(AffineMap::getMultiDimIdentityMap(4, ctx));
    Value input = adaptor.getInput();
    Value result =
        linalg::GenericOp::create(
            b, loc, TypeRange{outType}, tables, ValueRange{emptyTensor(b, loc, outType)}, maps,
            SmallVector<utils::IteratorType>(4, utils::IteratorType::parallel),
            [input, taps](OpBuilder &nb, Location l, ValueRange a) {
              Value batch = linalg::IndexOp::create(nb, l, 0), channel = linalg::IndexOp::create(nb, l, 1);
              auto index = [&](Value i64) { return arith::IndexCastOp::create(nb, l, nb.getIndexType(), i64); };
              auto at = [&](Value row, Value col) -> Value {
                return tensor::ExtractOp::create(nb, l, input, ValueRange{batch, channel, index(row), index(col)});
              };
              // a = row index and weight per tap, then column index and weight per tap (nearest: the
              // two indices), then the output.
              if (taps == 1) {
                linalg::YieldOp::create(nb, l, at(a[0], a[1]));
                return;
              }
              Value total;
              for (int i = 0; i < taps; ++i) {
                Value row;
                for (int j = 0; j < taps; ++j) {
                  Value term = arith::MulFOp::create(nb, l, a[2 * taps + 2 * j + 1], at(a[2 * i], a[2 * taps + 2 * j]));
                  row = row ? arith::AddFOp::create(nb, l, row, term).getResult() : term;
                }
                Value term = arith::MulFOp::create(nb, l, a[2 * i + 1], row);
                total = total ? arith::AddFOp::create(nb, l, total, term).getResult() : term;
              }
              linalg::YieldOp::create(nb, l, total);
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

struct DropoutLowering : OpConversionPattern<nn::DropoutOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(nn::DropoutOp op, OpAdaptor adaptor, ConversionPatternRewriter &b) const override {
    b.replaceOp(op, adaptor.getInput());
    return success();
  }
};

} // namespace

void populateDataMovementPatterns(RewritePatternSet &patterns) {
  patterns.add<FlattenLowering, ReshapeLowering, ConcatLowering, PadLowering, DropoutLowering, ResizeLowering>(patterns.getContext());
}

} // namespace kiln::linalg_backend
