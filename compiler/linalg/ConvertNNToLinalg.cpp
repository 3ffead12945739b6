// convert-nn-to-linalg: the pass (a partial conversion over the per-category pattern sets) and the
// IR builders those patterns share. nn.param is left alone; every other nn op must be rewritten.
#include "compiler/linalg/Passes.h"
#include "compiler/linalg/PopulatePatterns.h"

#include "kiln/Dialect/NN/NNDialect.h"
#include "kiln/Dialect/NN/NNOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

namespace kiln::linalg_backend {

Value f32Constant(OpBuilder &b, Location loc, float value) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(value));
}

Value emptyTensor(OpBuilder &b, Location loc, RankedTensorType type) {
  return tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType());
}

Value filledTensor(OpBuilder &b, Location loc, RankedTensorType type, float value) {
  return linalg::FillOp::create(b, loc, ValueRange{f32Constant(b, loc, value)}, ValueRange{emptyTensor(b, loc, type)})
      .getResult(0);
}

DenseElementsAttr denseConstant(Value value) {
  auto constant = value.getDefiningOp<arith::ConstantOp>();
  return constant ? dyn_cast<DenseElementsAttr>(constant.getValue()) : DenseElementsAttr();
}

static SmallVector<utils::IteratorType> allParallel(int64_t rank) {
  return SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel);
}

/// The element of `data` (of `type`) at each index of `resultType` mapped through `sourceOf`.
static DenseElementsAttr gatherAtCompileTime(DenseElementsAttr data, RankedTensorType resultType, AffineMap sourceOf) {
  if (data.isSplat())
    return data.resizeSplat(resultType);
  auto type = cast<RankedTensorType>(data.getType());
  std::vector<float> in(data.getValues<float>().begin(), data.getValues<float>().end());
  std::vector<float> out(static_cast<size_t>(resultType.getNumElements()));
  int64_t rank = resultType.getRank();
  SmallVector<int64_t> index(rank, 0);
  for (float &value : out) {
    int64_t at = 0;
    SmallVector<int64_t> source = sourceOf.compose(index);
    for (int64_t d = 0; d < type.getRank(); ++d)
      at = at * type.getDimSize(d) + source[d];
    value = in[at];
    for (int64_t d = rank - 1; d >= 0 && ++index[d] == resultType.getDimSize(d); --d)
      index[d] = 0;
  }
  return DenseElementsAttr::get(resultType, ArrayRef<float>(out));
}

Value transposed(OpBuilder &b, Location loc, Value value, ArrayRef<int64_t> perm) {
  auto type = cast<RankedTensorType>(value.getType());
  SmallVector<int64_t> shape;
  for (int64_t p : perm)
    shape.push_back(type.getDimSize(p));
  auto resultType = RankedTensorType::get(shape, type.getElementType());
  if (denseConstant(value)) {
    // result[j] = input[i] where i's index along dim perm[d] is j's index along d.
    SmallVector<unsigned> inverse(perm.size());
    for (auto [d, p] : llvm::enumerate(perm))
      inverse[p] = static_cast<unsigned>(d);
    return gathered(b, loc, value, resultType, AffineMap::getPermutationMap(inverse, b.getContext()));
  }
  return linalg::TransposeOp::create(b, loc, value, emptyTensor(b, loc, resultType), perm).getResult()[0];
}

Value gathered(OpBuilder &b, Location loc, Value value, RankedTensorType resultType, AffineMap sourceOf) {
  if (DenseElementsAttr data = denseConstant(value))
    return arith::ConstantOp::create(b, loc, gatherAtCompileTime(data, resultType, sourceOf));
  MLIRContext *ctx = b.getContext();
  SmallVector<AffineMap> maps = {sourceOf, AffineMap::getMultiDimIdentityMap(resultType.getRank(), ctx)};
  return linalg::GenericOp::create(b, loc, TypeRange{resultType}, ValueRange{value},
                                   ValueRange{emptyTensor(b, loc, resultType)}, maps,
                                   allParallel(resultType.getRank()),
                                   [](OpBuilder &nb, Location nl, ValueRange args) {
                                     linalg::YieldOp::create(nb, nl, args[0]);
                                   })
      .getResult(0);
}

Value padded(OpBuilder &b, Location loc, Value value, ArrayRef<int64_t> low, ArrayRef<int64_t> high,
             float padValue) {
  if (llvm::all_of(low, [](int64_t v) { return v == 0; }) && llvm::all_of(high, [](int64_t v) { return v == 0; }))
    return value;
  auto type = cast<RankedTensorType>(value.getType());
  SmallVector<int64_t> shape(type.getShape());
  SmallVector<OpFoldResult> lowOfr, highOfr;
  for (size_t d = 0; d < shape.size(); ++d) {
    shape[d] += low[d] + high[d];
    lowOfr.push_back(b.getIndexAttr(low[d]));
    highOfr.push_back(b.getIndexAttr(high[d]));
  }
  auto resultType = RankedTensorType::get(shape, type.getElementType());
  return tensor::PadOp::create(b, loc, resultType, value, lowOfr, highOfr, f32Constant(b, loc, padValue));
}

Value broadcastAlong(OpBuilder &b, Location loc, Value vector, RankedTensorType type, int64_t dim) {
  MLIRContext *ctx = b.getContext();
  int64_t rank = type.getRank();
  SmallVector<AffineMap> maps = {AffineMap::get(rank, 0, {getAffineDimExpr(dim, ctx)}, ctx),
                                 AffineMap::getMultiDimIdentityMap(rank, ctx)};
  return linalg::GenericOp::create(b, loc, TypeRange{type}, ValueRange{vector}, ValueRange{emptyTensor(b, loc, type)},
                                   maps, allParallel(rank),
                                   [](OpBuilder &nb, Location nl, ValueRange args) {
                                     linalg::YieldOp::create(nb, nl, args[0]);
                                   })
      .getResult(0);
}

Value elementwise(OpBuilder &b, Location loc, RankedTensorType type, ValueRange inputs, const ScalarFn &body,
                  int64_t channelDim) {
  MLIRContext *ctx = b.getContext();
  int64_t rank = type.getRank();
  AffineMap identity = AffineMap::getMultiDimIdentityMap(rank, ctx);
  SmallVector<AffineMap> maps;
  for (Value input : inputs) {
    int64_t inputRank = cast<RankedTensorType>(input.getType()).getRank();
    maps.push_back(inputRank == rank ? identity : AffineMap::get(rank, 0, {getAffineDimExpr(channelDim, ctx)}, ctx));
  }
  maps.push_back(identity);
  return linalg::GenericOp::create(b, loc, TypeRange{type}, inputs, ValueRange{emptyTensor(b, loc, type)}, maps,
                                   allParallel(rank),
                                   [&](OpBuilder &nb, Location nl, ValueRange args) {
                                     linalg::YieldOp::create(nb, nl, body(nb, nl, args));
                                   })
      .getResult(0);
}

Value scalarAt(OpBuilder &b, Location loc, Value vector, int64_t index) {
  Value at = arith::ConstantIndexOp::create(b, loc, index);
  return tensor::ExtractOp::create(b, loc, vector, ValueRange{at});
}

namespace {

struct ConvertNNToLinalgPass : PassWrapper<ConvertNNToLinalgPass, OperationPass<func::FuncOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(ConvertNNToLinalgPass)

  StringRef getArgument() const override { return "convert-nn-to-linalg"; }
  StringRef getDescription() const override {
    return "Lower nn layer and training ops to linalg/tensor/arith/math on tensors (nn.param is kept)";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<linalg::LinalgDialect, tensor::TensorDialect, arith::ArithDialect, math::MathDialect>();
  }

  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    ConversionTarget target(*ctx);
    target.addLegalDialect<linalg::LinalgDialect, tensor::TensorDialect, arith::ArithDialect, math::MathDialect,
                           func::FuncDialect>();
    target.addIllegalDialect<nn::NNDialect>();
    target.addLegalOp<nn::ParamOp>();
    RewritePatternSet patterns(ctx);
    populateLinearPatterns(patterns);
    populatePoolingPatterns(patterns);
    populateElementwisePatterns(patterns);
    populateDataMovementPatterns(patterns);
    populateLinearGradPatterns(patterns);
    populatePoolingGradPatterns(patterns);
    populateLossPatterns(patterns);
    populateTrainingFormPatterns(patterns);
    populateOptimizerPatterns(patterns);
    if (failed(applyPartialConversion(getOperation(), target, std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
} // namespace kiln::linalg_backend

namespace kiln {

std::unique_ptr<Pass> createConvertNNToLinalgPass() {
  return std::make_unique<linalg_backend::ConvertNNToLinalgPass>();
}

void registerLinalgBackendPasses() { PassRegistration<linalg_backend::ConvertNNToLinalgPass>(); }

} // namespace kiln
