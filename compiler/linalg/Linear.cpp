// convert-nn-to-linalg, linear layers: nn.conv2d, nn.conv_transpose2d, nn.dense and nn.matmul.
//
// Layout decision for conv2d (the nn value stays NCHW at the op boundary):
//  - groups == 1: linalg.conv_2d_nhwc_hwcf. The input is transposed to NHWC, the filter is
//    re-laid out to HWCF (at compile time when it is a constant, else by a linalg.transpose), the
//    result is transposed back. Channels innermost is what the register-tiled schedule vectorises
//    (docs/performance.md).
//  - depthwise (groups == C == F): linalg.depthwise_conv_2d_nhwc_hwc, same idea.
//  - any other grouping: linalg.conv_2d_ngchw_gfchw on expanded [N, G, C/G, H, W] views.
// Bias initialises the accumulator (a broadcast generic) instead of being added afterwards, except
// for the grouped form. Padding is a tensor.pad with zeros.
//
// conv_transpose2d is the stride-1 conv2d above of a stretched input (input cells stride apart,
// zeros between, dilation * (K - 1) zeros around, cropped by the padding) with the filter flipped
// and its channel axes swapped per group (at compile time for a constant filter). It does
// stride^2 times the useful multiply-adds; the Halide backend visits only the taps that land.
#include "compiler/linalg/PopulatePatterns.h"

#include "kiln/Dialect/NN/NNOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"

#include <algorithm>

using namespace mlir;

namespace kiln::linalg_backend {
namespace {

RankedTensorType f32Tensor(OpBuilder &b, ArrayRef<int64_t> shape) {
  return RankedTensorType::get(shape, b.getF32Type());
}

/// conv2d of an already padded NCHW `input` with an FCHW `filter` (see the layout decision above).
Value convolution(OpBuilder &b, Location loc, Value input, Value filter, Value bias, RankedTensorType outType,
                  ArrayRef<int64_t> stridesValues, ArrayRef<int64_t> dilationsValues, int64_t G) {
  auto filterType = cast<RankedTensorType>(filter.getType());
  int64_t N = outType.getDimSize(0), F = outType.getDimSize(1), OH = outType.getDimSize(2),
          OW = outType.getDimSize(3);
  auto inType = cast<RankedTensorType>(input.getType());
  int64_t C = inType.getDimSize(1);
  int64_t Cg = filterType.getDimSize(1), KH = filterType.getDimSize(2), KW = filterType.getDimSize(3);
  Attribute strides = b.getI64TensorAttr(stridesValues), dilations = b.getI64TensorAttr(dilationsValues);

  if (G == 1 || (Cg == 1 && F == C && G == C)) {
    RankedTensorType nhwc = f32Tensor(b, {N, OH, OW, F});
    Value init = bias ? broadcastAlong(b, loc, bias, nhwc, 3) : filledTensor(b, loc, nhwc, 0.0f);
    Value x = transposed(b, loc, input, {0, 2, 3, 1});
    Value w = transposed(b, loc, filter, {2, 3, 1, 0}); // FCHW -> HWCF
    Value conv;
    if (G == 1) {
      conv = linalg::Conv2DNhwcHwcfOp::create(b, loc, TypeRange{nhwc}, ValueRange{x, w}, ValueRange{init}, strides,
                                              dilations)
                 .getResult(0);
    } else {
      auto hwc = f32Tensor(b, {KH, KW, C});
      DenseElementsAttr data = denseConstant(w);
      Value w3 = data ? arith::ConstantOp::create(b, loc, data.reshape(hwc)).getResult()
                      : tensor::CollapseShapeOp::create(b, loc, hwc, w,
                                                        SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}})
                            .getResult();
      conv = linalg::DepthwiseConv2DNhwcHwcOp::create(b, loc, TypeRange{nhwc}, ValueRange{x, w3}, ValueRange{init},
                                                      strides, dilations)
                 .getResult(0);
    }
    return transposed(b, loc, conv, {0, 3, 1, 2});
  }
  // Grouped: [N, G, C/G, H, W] x [G, F/G, C/G, KH, KW] -> [N, G, F/G, OH, OW].
  Value x = tensor::ExpandShapeOp::create(b, loc,
                                          f32Tensor(b, {N, G, C / G, inType.getDimSize(2), inType.getDimSize(3)}),
                                          input, SmallVector<ReassociationIndices>{{0}, {1, 2}, {3}, {4}});
  Value w = tensor::ExpandShapeOp::create(b, loc, f32Tensor(b, {G, F / G, Cg, KH, KW}), filter,
                                          SmallVector<ReassociationIndices>{{0, 1}, {2}, {3}, {4}});
  RankedTensorType grouped = f32Tensor(b, {N, G, F / G, OH, OW});
  Value conv = linalg::Conv2DNgchwGfchwOp::create(b, loc, TypeRange{grouped}, ValueRange{x, w},
                                                  ValueRange{filledTensor(b, loc, grouped, 0.0f)}, strides, dilations)
                   .getResult(0);
  Value result = tensor::CollapseShapeOp::create(b, loc, outType, conv,
                                                 SmallVector<ReassociationIndices>{{0}, {1, 2}, {3}, {4}});
  if (bias)
    result = elementwise(b, loc, outType, ValueRange{result, bias}, [](OpBuilder &nb, Location nl, ValueRange a) {
      return arith::AddFOp::create(nb, nl, a[0], a[1]).getResult();
    });
  return result;
}

struct Conv2DLowering : OpConversionPattern<nn::Conv2DOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(nn::Conv2DOp op, OpAdaptor adaptor, ConversionPatternRewriter &b) const override {
    Location loc = op.getLoc();
    ArrayRef<int64_t> pad = op.getPadding(); // top, left, bottom, right
    Value input = padded(b, loc, adaptor.getInput(), {0, 0, pad[0], pad[1]}, {0, 0, pad[2], pad[3]}, 0.0f);
    b.replaceOp(op, convolution(b, loc, input, adaptor.getFilter(), adaptor.getBias(),
                                cast<RankedTensorType>(op.getType()), op.getStrides(), op.getDilations(),
                                static_cast<int64_t>(op.getGroups())));
    return success();
  }
};

struct ConvTranspose2DLowering : OpConversionPattern<nn::ConvTranspose2DOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(nn::ConvTranspose2DOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &b) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = b.getContext();
    auto outType = cast<RankedTensorType>(op.getType());
    auto inType = cast<RankedTensorType>(adaptor.getInput().getType());
    auto filterType = cast<RankedTensorType>(adaptor.getFilter().getType());
    ArrayRef<int64_t> strides = op.getStrides(), pad = op.getPadding(), dilations = op.getDilations();
    ArrayRef<int64_t> outputPadding = op.getOutputPadding();
    int64_t N = inType.getDimSize(0), C = inType.getDimSize(1), G = static_cast<int64_t>(op.getGroups());
    int64_t Fg = filterType.getDimSize(1), KH = filterType.getDimSize(2), KW = filterType.getDimSize(3);
    int64_t F = outType.getDimSize(1), Cg = C / G;

    // The stretched input: each input cell followed by stride - 1 zeros along H and W (a pad of
    // unit dimensions: MLIR 22's vectoriser drops a strided insert_slice's strides), the
    // kernel's reach in zeros around it, cropped by the padding to the extent the conv needs.
    int64_t H = inType.getDimSize(2), W = inType.getDimSize(3);
    int64_t reachH = dilations[0] * (KH - 1), reachW = dilations[1] * (KW - 1);
    SmallVector<ReassociationIndices> unitAfterHW{{0}, {1}, {2, 3}, {4, 5}};
    Value x = tensor::ExpandShapeOp::create(b, loc, f32Tensor(b, {N, C, H, 1, W, 1}), adaptor.getInput(),
                                            unitAfterHW);
    x = padded(b, loc, x, {0, 0, 0, 0, 0, 0}, {0, 0, 0, strides[0] - 1, 0, strides[1] - 1}, 0.0f);
    x = tensor::CollapseShapeOp::create(b, loc, f32Tensor(b, {N, C, H * strides[0], W * strides[1]}), x,
                                        unitAfterHW);
    // Past the last input cell the full output needs reach + output_padding zeros; the stretch
    // already has stride - 1 of them.
    x = padded(b, loc, x, {0, 0, reachH, reachW},
               {0, 0, std::max<int64_t>(reachH + outputPadding[0] - (strides[0] - 1), 0),
                std::max<int64_t>(reachW + outputPadding[1] - (strides[1] - 1), 0)},
               0.0f);
    SmallVector<int64_t> cropped{N, C, outType.getDimSize(2) + reachH, outType.getDimSize(3) + reachW};
    auto indices = [&](ArrayRef<int64_t> values) {
      return llvm::map_to_vector(values, [&](int64_t v) -> OpFoldResult { return b.getIndexAttr(v); });
    };
    Value input = tensor::ExtractSliceOp::create(b, loc, f32Tensor(b, cropped), x, indices({0, 0, pad[0], pad[1]}),
                                                 indices(cropped), indices({1, 1, 1, 1}));

    // conv filter [F, C/G, KH, KW]: element (f, c, kh, kw) is transposed-conv weight
    // (f / Fg * Cg + c, f % Fg, KH - 1 - kh, KW - 1 - kw).
    AffineExpr f = getAffineDimExpr(0, ctx), c = getAffineDimExpr(1, ctx), kh = getAffineDimExpr(2, ctx),
               kw = getAffineDimExpr(3, ctx);
    AffineMap sourceOf = AffineMap::get(4, 0, {f.floorDiv(Fg) * Cg + c, f % Fg, KH - 1 - kh, KW - 1 - kw}, ctx);
    Value filter = gathered(b, loc, adaptor.getFilter(), f32Tensor(b, {F, Cg, KH, KW}), sourceOf);
    b.replaceOp(op, convolution(b, loc, input, filter, adaptor.getBias(), outType, {1, 1}, dilations, G));
    return success();
  }
};

/// y = x W^T + b as linalg.matmul(x, W^T) accumulating into the broadcast bias; a constant W is
/// transposed at compile time.
struct DenseLowering : OpConversionPattern<nn::DenseOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(nn::DenseOp op, OpAdaptor adaptor, ConversionPatternRewriter &b) const override {
    Location loc = op.getLoc();
    auto outType = cast<RankedTensorType>(op.getType());
    Value init = adaptor.getBias() ? broadcastAlong(b, loc, adaptor.getBias(), outType, 1)
                                   : filledTensor(b, loc, outType, 0.0f);
    Value weightT = transposed(b, loc, adaptor.getWeight(), {1, 0});
    b.replaceOp(op, linalg::MatmulOp::create(b, loc, TypeRange{outType}, ValueRange{adaptor.getInput(), weightT},
                                             ValueRange{init})
                        .getResult(0));
    return success();
  }
};

/// nn.matmul as one linalg.contract over the loops (batch..., m, n, k) writing the result in its
/// own shape: each operand reads the batch dimensions it has (its extent-1 dimensions that
/// broadcast are folded away first), so no broadcast is copied, no product reshaped, and
/// elementwise consumers fuse into the schedule's tiles.
struct MatMulLowering : OpConversionPattern<nn::MatMulOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(nn::MatMulOp op, OpAdaptor adaptor, ConversionPatternRewriter &b) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = b.getContext();
    auto outType = cast<RankedTensorType>(op.getType());
    int64_t rank = outType.getRank(), batch = rank - 2;
    AffineExpr m = getAffineDimExpr(batch, ctx), n = getAffineDimExpr(batch + 1, ctx),
               k = getAffineDimExpr(batch + 2, ctx);
    SmallVector<Value> operands;
    SmallVector<AffineMap> maps;
    auto read = [&](Value value, AffineExpr row, AffineExpr col) {
      auto type = cast<RankedTensorType>(value.getType());
      int64_t operandBatch = type.getRank() - 2;
      SmallVector<int64_t> shape;
      SmallVector<AffineExpr> exprs;
      for (int64_t i = 0; i < operandBatch; ++i) {
        int64_t d = batch - operandBatch + i;
        if (type.getDimSize(i) == 1 && outType.getDimSize(d) != 1)
          continue;
        shape.push_back(type.getDimSize(i));
        exprs.push_back(getAffineDimExpr(d, ctx));
      }
      shape.append({type.getDimSize(operandBatch), type.getDimSize(operandBatch + 1)});
      exprs.append({row, col});
      auto folded = f32Tensor(b, shape);
      if (folded != type)
        value = tensor::CollapseShapeOp::create(b, loc, folded, value, *getReassociationIndicesForReshape(type, folded));
      operands.push_back(value);
      maps.push_back(AffineMap::get(rank + 1, 0, exprs, ctx));
    };
    read(adaptor.getLhs(), m, k);
    read(adaptor.getRhs(), k, n);
    SmallVector<AffineExpr> result;
    for (int64_t d = 0; d < rank; ++d)
      result.push_back(getAffineDimExpr(d, ctx));
    maps.push_back(AffineMap::get(rank + 1, 0, result, ctx));
    b.replaceOpWithNewOp<linalg::ContractOp>(op, TypeRange{outType}, operands,
                                             ValueRange{filledTensor(b, loc, outType, 0.0f)},
                                             b.getAffineMapArrayAttr(maps));
    return success();
  }
};

} // namespace

void populateLinearPatterns(RewritePatternSet &patterns) {
  patterns.add<Conv2DLowering, ConvTranspose2DLowering, DenseLowering, MatMulLowering>(patterns.getContext());
}

} // namespace kiln::linalg_backend
