// convert-nn-to-linalg: the pass (a partial conversion over the per-category pattern sets) and the
// IR builders those patterns share. nn.param is left alone; every other nn op must be rewritten.
#include "compiler/linalg/Passes.h"
#include "compiler/linalg/PopulatePatterns.h"

#include "kiln/Dialect/NN/NNDialect.h"
#include "kiln/Dialect/NN/NNOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"

#include <limits>

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
  return mapped(b, loc, resultType, value, sourceOf, firstInput);
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
  return mapped(b, loc, type, vector, AffineMap::get(type.getRank(), 0, {getAffineDimExpr(dim, ctx)}, ctx), firstInput);
}

AffineMap broadcastMap(RankedTensorType operand, RankedTensorType result) {
  MLIRContext *ctx = operand.getContext();
  int64_t rank = result.getRank();
  SmallVector<AffineExpr> exprs;
  for (int64_t i = 0; i < operand.getRank(); ++i) {
    int64_t d = rank - operand.getRank() + i;
    exprs.push_back(operand.getDimSize(i) == 1 && result.getDimSize(d) != 1 ? getAffineConstantExpr(0, ctx)
                                                                            : getAffineDimExpr(d, ctx));
  }
  return AffineMap::get(rank, 0, exprs, ctx);
}

Value mapped(OpBuilder &b, Location loc, RankedTensorType type, ValueRange inputs, ArrayRef<AffineMap> inputMaps,
             const ScalarFn &body) {
  SmallVector<AffineMap> maps(inputMaps);
  maps.push_back(AffineMap::getMultiDimIdentityMap(type.getRank(), b.getContext()));
  return linalg::GenericOp::create(
             b, loc, TypeRange{type}, inputs, ValueRange{emptyTensor(b, loc, type)}, maps, allParallel(type.getRank()),
             [&](OpBuilder &nb, Location nl, ValueRange args) { linalg::YieldOp::create(nb, nl, body(nb, nl, args)); })
      .getResult(0);
}

Value elementwise(OpBuilder &b, Location loc, RankedTensorType type, ValueRange inputs, const ScalarFn &body,
                  int64_t channelDim) {
  MLIRContext *ctx = b.getContext();
  int64_t rank = type.getRank();
  SmallVector<AffineMap> maps;
  for (Value input : inputs)
    maps.push_back(cast<RankedTensorType>(input.getType()).getRank() == rank
                       ? AffineMap::getMultiDimIdentityMap(rank, ctx)
                       : AffineMap::get(rank, 0, {getAffineDimExpr(channelDim, ctx)}, ctx));
  return mapped(b, loc, type, inputs, maps, body);
}

Value scalarAt(OpBuilder &b, Location loc, Value vector, int64_t index) {
  Value at = arith::ConstantIndexOp::create(b, loc, index);
  return tensor::ExtractOp::create(b, loc, vector, ValueRange{at});
}

Value withReducedDims(OpBuilder &b, Location loc, Value value, RankedTensorType type) {
  auto kept = cast<RankedTensorType>(value.getType());
  if (kept.getRank() == type.getRank())
    return value;
  std::optional<SmallVector<ReassociationIndices>> groups = getReassociationIndicesForReshape(kept, type);
  assert(groups && "a reduction's kept dimensions regroup into its result type");
  return tensor::ExpandShapeOp::create(b, loc, type, value, *groups);
}

Value ScalarBuilder::c(double value) const { return f32Constant(b, l, static_cast<float>(value)); }
Value ScalarBuilder::add(Value x, Value y) const { return arith::AddFOp::create(b, l, x, y); }
Value ScalarBuilder::sub(Value x, Value y) const { return arith::SubFOp::create(b, l, x, y); }
Value ScalarBuilder::mul(Value x, Value y) const { return arith::MulFOp::create(b, l, x, y); }
Value ScalarBuilder::div(Value x, Value y) const { return arith::DivFOp::create(b, l, x, y); }
Value ScalarBuilder::gt(Value x, Value y) const { return arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGT, x, y); }
Value ScalarBuilder::lt(Value x, Value y) const { return arith::CmpFOp::create(b, l, arith::CmpFPredicate::OLT, x, y); }
Value ScalarBuilder::eq(Value x, Value y) const { return arith::CmpFOp::create(b, l, arith::CmpFPredicate::OEQ, x, y); }
Value ScalarBuilder::select(Value condition, Value x, Value y) const {
  return arith::SelectOp::create(b, l, condition, x, y);
}
Value ScalarBuilder::abs(Value x) const { return math::AbsFOp::create(b, l, x); }
Value ScalarBuilder::exp(Value x) const { return math::ExpOp::create(b, l, x); }
Value ScalarBuilder::log(Value x) const { return math::LogOp::create(b, l, x); }
Value ScalarBuilder::sqrt(Value x) const { return math::SqrtOp::create(b, l, x); }
Value ScalarBuilder::tanh(Value x) const { return math::TanhOp::create(b, l, x); }
Value ScalarBuilder::erf(Value x) const { return math::ErfOp::create(b, l, x); }
Value ScalarBuilder::pow(Value x, Value y) const { return math::PowFOp::create(b, l, x, y); }

Value ScalarBuilder::expm1(Value x) const {
  // u = exp(x): x where u rounds to 1, -1 where u - 1 does, u where it overflows, else
  // (u - 1) * x / log(u).
  Value u = exp(x), uMinusOne = sub(u, c(1.0));
  Value corrected = mul(uMinusOne, div(x, log(u)));
  Value large = select(eq(u, c(std::numeric_limits<float>::infinity())), u, corrected);
  return select(eq(u, c(1.0)), x, select(eq(uMinusOne, c(-1.0)), c(-1.0), large));
}

Value ScalarBuilder::log1p(Value x) const {
  // u = 1 + x: x where u rounds to 1, log(u) where u overflows, else log(u) * x / (u - 1).
  Value u = add(x, c(1.0)), logU = log(u);
  Value corrected = mul(logU, div(x, sub(u, c(1.0))));
  Value large = select(eq(u, c(std::numeric_limits<float>::infinity())), logU, corrected);
  return select(eq(u, c(1.0)), x, large);
}

namespace {

/// Makes every tensor.extract from a (rank-keeping) tensor.extract_slice read the slice's source at
/// offset + index * stride. The vectorizer turns an extract inside a generic (a gather: slice_grad,
/// resize, a pool's gradient) into a vector.gather at indices linearised over the slice's shape,
/// which MLIR 22 lowers as offsets into the bufferized view's memory: dense only when the view is
/// (llvm-project #184706 fixes the lowering). A gradient of torch.chunk read the wrong batch.
void readSlicesFromTheirSource(func::FuncOp fn) {
  fn.walk([](tensor::ExtractOp extract) {
    auto slice = extract.getTensor().getDefiningOp<tensor::ExtractSliceOp>();
    if (!slice || slice.getSourceType().getRank() != slice.getResultType().getRank())
      return;
    OpBuilder b(extract);
    Location loc = extract.getLoc();
    SmallVector<Value> at;
    for (auto [index, offset, stride] :
         llvm::zip_equal(extract.getIndices(), slice.getMixedOffsets(), slice.getMixedStrides())) {
      Value step = arith::MulIOp::create(b, loc, index, getValueOrCreateConstantIndexOp(b, loc, stride));
      at.push_back(arith::AddIOp::create(b, loc, getValueOrCreateConstantIndexOp(b, loc, offset), step));
    }
    extract.getTensorMutable().assign(slice.getSource());
    extract.getIndicesMutable().assign(at);
  });
}

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
    populateReductionPatterns(patterns);
    populateLinearGradPatterns(patterns);
    populatePoolingGradPatterns(patterns);
    populateLossPatterns(patterns);
    populateTrainingFormPatterns(patterns);
    populateOptimizerPatterns(patterns);
    if (failed(applyPartialConversion(getOperation(), target, std::move(patterns))))
      return signalPassFailure();
    readSlicesFromTheirSource(getOperation());
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
