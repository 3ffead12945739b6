// convert-nn-to-linalg, data movement: nn.flatten -> tensor.collapse_shape, nn.concat ->
// tensor.insert_slice of each input into a tensor.empty, nn.dropout -> its input (the identity at
// inference). Padding (tensor.pad) is built where conv and pooling need it (ConvertNNToLinalg.cpp).
#include "compiler/linalg/PopulatePatterns.h"

#include "kiln/Dialect/NN/NNOps.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"

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

struct ConcatLowering : OpConversionPattern<nn::ConcatOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(nn::ConcatOp op, OpAdaptor adaptor, ConversionPatternRewriter &b) const override {
    Location loc = op.getLoc();
    auto type = cast<RankedTensorType>(op.getType());
    int64_t axis = static_cast<int64_t>(op.getAxis()), offset = 0;
    Value result = emptyTensor(b, loc, type);
    for (Value input : adaptor.getInputs()) {
      auto inType = cast<RankedTensorType>(input.getType());
      SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0)), sizes, strides(type.getRank(),
                                                                                            b.getIndexAttr(1));
      for (int64_t d = 0; d < type.getRank(); ++d)
        sizes.push_back(b.getIndexAttr(inType.getDimSize(d)));
      offsets[axis] = b.getIndexAttr(offset);
      result = tensor::InsertSliceOp::create(b, loc, input, result, offsets, sizes, strides);
      offset += inType.getDimSize(axis);
    }
    b.replaceOp(op, result);
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
  patterns.add<FlattenLowering, ConcatLowering, DropoutLowering>(patterns.getContext());
}

} // namespace kiln::linalg_backend
