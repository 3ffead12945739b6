// convert-nn-to-linalg, linear layers: nn.conv2d and nn.dense.
//
// Layout decision for conv2d (the nn value stays NCHW at the op boundary):
//  - groups == 1, constant filter: linalg.conv_2d_nhwc_hwcf. The input is transposed to NHWC,
//    the filter is re-laid out to HWCF at compile time, the result is transposed back. Channels
//    innermost is what the register-tiled schedule vectorises (docs/performance.md).
//  - depthwise (groups == C == F), constant filter: linalg.depthwise_conv_2d_nhwc_hwc, same idea.
//  - groups == 1, filter not a constant (lit tests): linalg.conv_2d_nchw_fchw, no transposes.
//  - any other grouping: linalg.conv_2d_ngchw_gfchw on expanded [N, G, C/G, H, W] views.
// Bias initialises the accumulator (a broadcast generic) instead of being added afterwards, except
// for the grouped form. Padding is a tensor.pad with zeros.
#include "compiler/linalg/PopulatePatterns.h"

#include "kiln/Dialect/NN/NNOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

namespace kiln::linalg_backend {
namespace {

RankedTensorType f32Tensor(OpBuilder &b, ArrayRef<int64_t> shape) {
  return RankedTensorType::get(shape, b.getF32Type());
}

struct Conv2DLowering : OpConversionPattern<nn::Conv2DOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(nn::Conv2DOp op, OpAdaptor adaptor, ConversionPatternRewriter &b) const override {
    Location loc = op.getLoc();
    auto outType = cast<RankedTensorType>(op.getType());
    auto filterType = cast<RankedTensorType>(adaptor.getFilter().getType());
    ArrayRef<int64_t> pad = op.getPadding(); // top, left, bottom, right
    int64_t N = outType.getDimSize(0), F = outType.getDimSize(1), OH = outType.getDimSize(2),
            OW = outType.getDimSize(3);
    int64_t C = cast<RankedTensorType>(adaptor.getInput().getType()).getDimSize(1);
    int64_t Cg = filterType.getDimSize(1), KH = filterType.getDimSize(2), KW = filterType.getDimSize(3);
    int64_t G = static_cast<int64_t>(op.getGroups());
    Attribute strides = b.getI64TensorAttr(op.getStrides()), dilations = b.getI64TensorAttr(op.getDilations());
    Value input = padded(b, loc, adaptor.getInput(), {0, 0, pad[0], pad[1]}, {0, 0, pad[2], pad[3]}, 0.0f);
    Value filter = adaptor.getFilter(), bias = adaptor.getBias();
    bool constantFilter = static_cast<bool>(denseConstant(filter));

    if ((G == 1 || (Cg == 1 && F == C && G == C)) && constantFilter) {
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
        Value w3 = arith::ConstantOp::create(b, loc, denseConstant(w).reshape(hwc));
        conv = linalg::DepthwiseConv2DNhwcHwcOp::create(b, loc, TypeRange{nhwc}, ValueRange{x, w3}, ValueRange{init},
                                                        strides, dilations)
                   .getResult(0);
      }
      b.replaceOp(op, transposed(b, loc, conv, {0, 3, 1, 2}));
      return success();
    }
    if (G == 1) {
      Value init = bias ? broadcastAlong(b, loc, bias, outType, 1) : filledTensor(b, loc, outType, 0.0f);
      b.replaceOp(op, linalg::Conv2DNchwFchwOp::create(b, loc, TypeRange{outType}, ValueRange{input, filter},
                                                       ValueRange{init}, strides, dilations)
                          .getResult(0));
      return success();
    }
    // Grouped: [N, G, C/G, H, W] x [G, F/G, C/G, KH, KW] -> [N, G, F/G, OH, OW].
    auto inType = cast<RankedTensorType>(input.getType());
    Value x = tensor::ExpandShapeOp::create(
        b, loc, f32Tensor(b, {N, G, C / G, inType.getDimSize(2), inType.getDimSize(3)}), input,
        SmallVector<ReassociationIndices>{{0}, {1, 2}, {3}, {4}});
    Value w = tensor::ExpandShapeOp::create(b, loc, f32Tensor(b, {G, F / G, Cg, KH, KW}), filter,
                                            SmallVector<ReassociationIndices>{{0, 1}, {2}, {3}, {4}});
    RankedTensorType grouped = f32Tensor(b, {N, G, F / G, OH, OW});
    Value conv = linalg::Conv2DNgchwGfchwOp::create(b, loc, TypeRange{grouped}, ValueRange{x, w},
                                                    ValueRange{filledTensor(b, loc, grouped, 0.0f)}, strides,
                                                    dilations)
                     .getResult(0);
    Value result = tensor::CollapseShapeOp::create(b, loc, outType, conv,
                                                   SmallVector<ReassociationIndices>{{0}, {1, 2}, {3}, {4}});
    if (bias)
      result = elementwise(b, loc, outType, ValueRange{result, bias}, [](OpBuilder &nb, Location nl, ValueRange a) {
        return arith::AddFOp::create(nb, nl, a[0], a[1]).getResult();
      });
    b.replaceOp(op, result);
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

} // namespace

void populateLinearPatterns(RewritePatternSet &patterns) {
  patterns.add<Conv2DLowering, DenseLowering>(patterns.getContext());
}

} // namespace kiln::linalg_backend
