// convert-nn-to-linalg, pooling: nn.max_pool2d -> tensor.pad(lowest) + linalg.pooling_nchw_max;
// nn.avg_pool2d -> tensor.pad(0) + linalg.pooling_nchw_sum + a division by the window size (a
// compile-time [OH, OW] table of counts when they differ: count_include_pad false, or ceil_mode
// windows clipped at the bottom/right). ceil_mode's last windows read extra high padding;
// nn.global_avg_pool -> linalg.pooling_nchw_sum over the whole plane + a division by H * W;
// nn.global_max_pool -> linalg.pooling_nchw_max over the whole plane. The padding, the max pool and
// the avg pool's division are shared with the gradients (PoolingGrad.cpp).
#include "compiler/linalg/PopulatePatterns.h"

#include "kiln/Dialect/NN/NNOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <algorithm>
#include <limits>

using namespace mlir;

namespace kiln::linalg_backend {
namespace {

/// linalg.pooling_nchw_{max,sum} of `input` (already padded) into `init`.
template <typename PoolOp>
Value pool(OpBuilder &b, Location loc, Value input, Value init, ArrayRef<int64_t> kernel, ArrayRef<int64_t> strides) {
  Value window = tensor::EmptyOp::create(b, loc, kernel, b.getF32Type());
  return PoolOp::create(b, loc, TypeRange{init.getType()}, ValueRange{input, window}, ValueRange{init},
                        b.getI64TensorAttr(strides), b.getI64TensorAttr({1, 1}))
      .getResult(0);
}

Value divideBy(OpBuilder &b, Location loc, Value sum, float divisor) {
  auto type = cast<RankedTensorType>(sum.getType());
  return elementwise(b, loc, type, ValueRange{sum}, [divisor](OpBuilder &nb, Location nl, ValueRange a) {
    return arith::DivFOp::create(nb, nl, a[0], f32Constant(nb, nl, divisor)).getResult();
  });
}

} // namespace

Value paddedForWindows(OpBuilder &b, Location loc, Value input, RankedTensorType outType, ArrayRef<int64_t> kernel,
                       ArrayRef<int64_t> strides, ArrayRef<int64_t> padding, float value) {
  auto inType = cast<RankedTensorType>(input.getType());
  SmallVector<int64_t> high{0, 0};
  for (int64_t d = 0; d < 2; ++d) {
    int64_t reached = (outType.getDimSize(d + 2) - 1) * strides[d] + kernel[d];
    int64_t available = inType.getDimSize(d + 2) + padding[d] + padding[d + 2];
    high.push_back(padding[d + 2] + std::max<int64_t>(reached - available, 0));
  }
  return padded(b, loc, input, {0, 0, padding[0], padding[1]}, high, value);
}

Value maxPooled(OpBuilder &b, Location loc, Value input, RankedTensorType outType, ArrayRef<int64_t> kernel,
                ArrayRef<int64_t> strides, ArrayRef<int64_t> padding) {
  const float lowest = std::numeric_limits<float>::lowest();
  Value x = paddedForWindows(b, loc, input, outType, kernel, strides, padding, lowest);
  return pool<linalg::PoolingNchwMaxOp>(b, loc, x, filledTensor(b, loc, outType, lowest), kernel, strides);
}

Value dividedByWindowCounts(OpBuilder &b, Location loc, Value windows, int64_t H, int64_t W, ArrayRef<int64_t> kernel,
                            ArrayRef<int64_t> strides, ArrayRef<int64_t> pad, bool includePad) {
  auto outType = cast<RankedTensorType>(windows.getType());
  // Divisor per output position: the window's rows x columns inside the input, or inside input +
  // padding with count_include_pad (as the reference, compiler/reference/PoolWindow.h).
  int64_t OH = outType.getDimSize(2), OW = outType.getDimSize(3);
  auto count = [&](int64_t start, int64_t k, int64_t size, int64_t padAfter) {
    int64_t end = std::min(start + k, includePad ? size + padAfter : size);
    return std::max<int64_t>(end - (includePad ? start : std::max<int64_t>(start, 0)), 1);
  };
  std::vector<float> divisors;
  for (int64_t oy = 0; oy < OH; ++oy)
    for (int64_t ox = 0; ox < OW; ++ox)
      divisors.push_back(static_cast<float>(count(oy * strides[0] - pad[0], kernel[0], H, pad[2]) *
                                            count(ox * strides[1] - pad[1], kernel[1], W, pad[3])));
  if (llvm::all_equal(divisors))
    return divideBy(b, loc, windows, divisors.front());
  auto tableType = RankedTensorType::get({OH, OW}, b.getF32Type());
  Value table = arith::ConstantOp::create(b, loc, DenseElementsAttr::get(tableType, ArrayRef<float>(divisors)));
  MLIRContext *ctx = b.getContext();
  AffineMap id = AffineMap::getMultiDimIdentityMap(4, ctx);
  AffineMap hw = AffineMap::get(4, 0, {getAffineDimExpr(2, ctx), getAffineDimExpr(3, ctx)}, ctx);
  return linalg::GenericOp::create(b, loc, TypeRange{outType}, ValueRange{windows, table},
                                   ValueRange{emptyTensor(b, loc, outType)}, SmallVector<AffineMap>{id, hw, id},
                                   SmallVector<utils::IteratorType>(4, utils::IteratorType::parallel),
                                   [](OpBuilder &nb, Location nl, ValueRange a) {
                                     Value quotient = arith::DivFOp::create(nb, nl, a[0], a[1]);
                                     linalg::YieldOp::create(nb, nl, quotient);
                                   })
      .getResult(0);
}

namespace {

struct MaxPool2DLowering : OpConversionPattern<nn::MaxPool2DOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(nn::MaxPool2DOp op, OpAdaptor adaptor, ConversionPatternRewriter &b) const override {
    b.replaceOp(op, maxPooled(b, op.getLoc(), adaptor.getInput(), cast<RankedTensorType>(op.getType()), op.getKernel(),
                              op.getStrides(), op.getPadding()));
    return success();
  }
};

struct AvgPool2DLowering : OpConversionPattern<nn::AvgPool2DOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(nn::AvgPool2DOp op, OpAdaptor adaptor, ConversionPatternRewriter &b) const override {
    Location loc = op.getLoc();
    auto outType = cast<RankedTensorType>(op.getType());
    auto inType = cast<RankedTensorType>(adaptor.getInput().getType());
    ArrayRef<int64_t> pad = op.getPadding(), kernel = op.getKernel(), strides = op.getStrides();
    Value input = paddedForWindows(b, loc, adaptor.getInput(), outType, kernel, strides, pad, 0.0f);
    Value sum = pool<linalg::PoolingNchwSumOp>(b, loc, input, filledTensor(b, loc, outType, 0.0f), kernel, strides);
    b.replaceOp(op, dividedByWindowCounts(b, loc, sum, inType.getDimSize(2), inType.getDimSize(3), kernel, strides,
                                          pad, op.getCountIncludePad()));
    return success();
  }
};

struct GlobalAvgPoolLowering : OpConversionPattern<nn::GlobalAvgPoolOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(nn::GlobalAvgPoolOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &b) const override {
    Location loc = op.getLoc();
    auto inType = cast<RankedTensorType>(adaptor.getInput().getType());
    int64_t H = inType.getDimSize(2), W = inType.getDimSize(3);
    Value init = filledTensor(b, loc, cast<RankedTensorType>(op.getType()), 0.0f);
    Value sum = pool<linalg::PoolingNchwSumOp>(b, loc, adaptor.getInput(), init, {H, W}, {1, 1});
    b.replaceOp(op, divideBy(b, loc, sum, static_cast<float>(H * W)));
    return success();
  }
};

struct GlobalMaxPoolLowering : OpConversionPattern<nn::GlobalMaxPoolOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(nn::GlobalMaxPoolOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &b) const override {
    Location loc = op.getLoc();
    auto inType = cast<RankedTensorType>(adaptor.getInput().getType());
    Value init = filledTensor(b, loc, cast<RankedTensorType>(op.getType()), std::numeric_limits<float>::lowest());
    b.replaceOp(op, pool<linalg::PoolingNchwMaxOp>(b, loc, adaptor.getInput(), init,
                                                   {inType.getDimSize(2), inType.getDimSize(3)}, {1, 1}));
    return success();
  }
};

} // namespace

void populatePoolingPatterns(RewritePatternSet &patterns) {
  patterns.add<MaxPool2DLowering, AvgPool2DLowering, GlobalAvgPoolLowering, GlobalMaxPoolLowering>(patterns.getContext());
}

} // namespace kiln::linalg_backend
