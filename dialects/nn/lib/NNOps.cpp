// Verifiers and result-type inference of the nn ops; the rules themselves are in ShapeRules.cpp.
#include "kiln/Dialect/NN/NNOps.h"
#include "kiln/Dialect/NN/ResizeSampling.h"
#include "kiln/Dialect/NN/ShapeRules.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/OpImplementation.h"

#include <cstdio>

using namespace mlir;
using namespace kiln::nn;

static ArrayRef<int64_t> shapeOf(Value v) { return cast<RankedTensorType>(v.getType()).getShape(); }

static std::optional<ArrayRef<int64_t>> optionalShapeOf(Value v) {
  if (!v)
    return std::nullopt;
  return shapeOf(v);
}

/// Turns a shape rule's result into the inferred f32 tensor type, or reports `why` at `loc`.
static LogicalResult finish(MLIRContext *context, std::optional<Location> loc, FailureOr<Shape> shape,
                            const std::string &why, SmallVectorImpl<Type> &types) {
  if (failed(shape))
    return emitOptionalError(loc, why);
  types.push_back(RankedTensorType::get(*shape, Float32Type::get(context)));
  return success();
}

#define KILN_INFER_SIGNATURE(OpName)                                                                        \
  LogicalResult OpName::inferReturnTypes(MLIRContext *context, std::optional<Location> loc,               \
                                         ValueRange operands, DictionaryAttr attributes,                   \
                                         OpaqueProperties properties, RegionRange regions,                 \
                                         SmallVectorImpl<Type> &types)

KILN_INFER_SIGNATURE(Conv2DOp) {
  Adaptor op(operands, attributes, properties, regions);
  std::string why;
  auto shape = inferConv2DShape(shapeOf(op.getInput()), shapeOf(op.getFilter()), optionalShapeOf(op.getBias()),
                                op.getStrides(), op.getPadding(), op.getDilations(),
                                static_cast<int64_t>(op.getGroups()), why);
  return finish(context, loc, shape, why, types);
}

KILN_INFER_SIGNATURE(ConvTranspose2DOp) {
  Adaptor op(operands, attributes, properties, regions);
  std::string why;
  auto shape = inferConvTranspose2DShape(shapeOf(op.getInput()), shapeOf(op.getFilter()),
                                         optionalShapeOf(op.getBias()), op.getStrides(), op.getPadding(),
                                         op.getOutputPadding(), op.getDilations(),
                                         static_cast<int64_t>(op.getGroups()), why);
  return finish(context, loc, shape, why, types);
}

template <typename PoolAdaptor>
static LogicalResult inferPool(MLIRContext *context, std::optional<Location> loc, PoolAdaptor op,
                               SmallVectorImpl<Type> &types) {
  std::string why;
  auto shape = inferPool2DShape(shapeOf(op.getInput()), op.getKernel(), op.getStrides(), op.getPadding(), why,
                                op.getCeilMode());
  return finish(context, loc, shape, why, types);
}

KILN_INFER_SIGNATURE(MaxPool2DOp) {
  return inferPool(context, loc, Adaptor(operands, attributes, properties, regions), types);
}

KILN_INFER_SIGNATURE(AvgPool2DOp) {
  return inferPool(context, loc, Adaptor(operands, attributes, properties, regions), types);
}

KILN_INFER_SIGNATURE(GlobalAvgPoolOp) {
  Adaptor op(operands, attributes, properties, regions);
  std::string why;
  return finish(context, loc, inferGlobalPoolShape(shapeOf(op.getInput()), why), why, types);
}

KILN_INFER_SIGNATURE(GlobalMaxPoolOp) {
  Adaptor op(operands, attributes, properties, regions);
  std::string why;
  return finish(context, loc, inferGlobalPoolShape(shapeOf(op.getInput()), why), why, types);
}

KILN_INFER_SIGNATURE(ResizeOp) {
  Adaptor op(operands, attributes, properties, regions);
  std::string why;
  return finish(context, loc, inferResizeShape(shapeOf(op.getInput()), op.getMode(), op.getSize(), why), why, types);
}

KILN_INFER_SIGNATURE(LRNOp) {
  Adaptor op(operands, attributes, properties, regions);
  std::string why;
  return finish(context, loc, inferLRNShape(shapeOf(op.getInput()), static_cast<int64_t>(op.getSize()), why), why,
                types);
}

KILN_INFER_SIGNATURE(PadOp) {
  Adaptor op(operands, attributes, properties, regions);
  std::string why;
  return finish(context, loc, inferPadShape(shapeOf(op.getInput()), op.getPads(), why), why, types);
}

KILN_INFER_SIGNATURE(ReshapeOp) {
  Adaptor op(operands, attributes, properties, regions);
  std::string why;
  return finish(context, loc, inferReshapeShape(shapeOf(op.getInput()), op.getShape(), why), why, types);
}

#define KILN_INFER_BROADCAST(OpName)                                                                        \
  KILN_INFER_SIGNATURE(OpName) {                                                                            \
    Adaptor op(operands, attributes, properties, regions);                                                  \
    std::string why;                                                                                        \
    auto shape = inferBroadcastShape(shapeOf(op.getLhs()), shapeOf(op.getRhs()), why);                      \
    return finish(context, loc, shape, why, types);                                                         \
  }
KILN_INFER_BROADCAST(AddOp)
KILN_INFER_BROADCAST(SubOp)
KILN_INFER_BROADCAST(MulOp)
KILN_INFER_BROADCAST(DivOp)
KILN_INFER_BROADCAST(MaxOp)
KILN_INFER_BROADCAST(MinOp)
KILN_INFER_BROADCAST(PowOp)
KILN_INFER_BROADCAST(PReluOp)

KILN_INFER_SIGNATURE(TransposeOp) {
  Adaptor op(operands, attributes, properties, regions);
  std::string why;
  return finish(context, loc, inferTransposeShape(shapeOf(op.getInput()), op.getPerm(), why), why, types);
}

KILN_INFER_SIGNATURE(ReduceOp) {
  Adaptor op(operands, attributes, properties, regions);
  std::string why;
  return finish(context, loc, inferReduceShape(shapeOf(op.getInput()), op.getKind(), op.getAxes(), why), why, types);
}

KILN_INFER_SIGNATURE(MatMulOp) {
  Adaptor op(operands, attributes, properties, regions);
  std::string why;
  return finish(context, loc, inferMatMulShape(shapeOf(op.getLhs()), shapeOf(op.getRhs()), why), why, types);
}

template <typename VariadicAdaptor>
static LogicalResult inferAllSame(MLIRContext *context, std::optional<Location> loc, VariadicAdaptor op,
                                  SmallVectorImpl<Type> &types) {
  std::string why;
  SmallVector<ArrayRef<int64_t>> shapes;
  for (Value v : op.getInputs())
    shapes.push_back(shapeOf(v));
  return finish(context, loc, inferAllSameShape(shapes, why), why, types);
}

KILN_INFER_SIGNATURE(SumOp) { return inferAllSame(context, loc, Adaptor(operands, attributes, properties, regions), types); }
KILN_INFER_SIGNATURE(MeanOp) {
  return inferAllSame(context, loc, Adaptor(operands, attributes, properties, regions), types);
}

KILN_INFER_SIGNATURE(BatchNormOp) {
  Adaptor op(operands, attributes, properties, regions);
  std::string why;
  ArrayRef<int64_t> stats[] = {shapeOf(op.getScale()), shapeOf(op.getShift()), shapeOf(op.getMean()),
                               shapeOf(op.getVariance())};
  return finish(context, loc, inferBatchNormShape(shapeOf(op.getInput()), stats, why), why, types);
}

KILN_INFER_SIGNATURE(DenseOp) {
  Adaptor op(operands, attributes, properties, regions);
  std::string why;
  auto shape = inferDenseShape(shapeOf(op.getInput()), shapeOf(op.getWeight()), optionalShapeOf(op.getBias()), why);
  return finish(context, loc, shape, why, types);
}

KILN_INFER_SIGNATURE(FlattenOp) {
  Adaptor op(operands, attributes, properties, regions);
  std::string why;
  return finish(context, loc, inferFlattenShape(shapeOf(op.getInput()), why), why, types);
}

KILN_INFER_SIGNATURE(ConcatOp) {
  Adaptor op(operands, attributes, properties, regions);
  std::string why;
  SmallVector<ArrayRef<int64_t>> shapes;
  for (Value v : op.getInputs())
    shapes.push_back(shapeOf(v));
  return finish(context, loc, inferConcatShape(shapes, static_cast<int64_t>(op.getAxis()), why), why, types);
}

LogicalResult ParamOp::verify() {
  std::string why;
  if (getName().empty())
    return emitOpError("expected a non-empty parameter name");
  if (failed(checkStaticShape(getType().getShape(), why)))
    return emitOpError(why);
  return success();
}

LogicalResult SoftmaxOp::verify() {
  std::string why;
  if (failed(inferSoftmaxShape(getType().getShape(), static_cast<int64_t>(getAxis()), why)))
    return emitOpError(why);
  return success();
}

LogicalResult LogSoftmaxOp::verify() {
  std::string why;
  if (failed(inferSoftmaxShape(getType().getShape(), static_cast<int64_t>(getAxis()), why)))
    return emitOpError(why);
  return success();
}

LogicalResult ClipOp::verify() {
  float lo = getMin().convertToFloat(), hi = getMax().convertToFloat();
  if (!(lo <= hi)) {
    char text[64];
    std::snprintf(text, sizeof text, "got min %g and max %g", lo, hi);
    return emitOpError("expected min <= max, ") << text;
  }
  return success();
}

/// The binary ops print `%a, %b : T` when both operands and the result have type T (the common
/// case, and add's original form), else `%a, %b : (A, B) -> R`.
static ParseResult parseBinary(OpAsmParser &parser, OperationState &result) {
  SmallVector<OpAsmParser::UnresolvedOperand, 2> operands;
  SMLoc loc = parser.getCurrentLocation();
  Type lhsType, rhsType, resultType;
  if (parser.parseOperandList(operands, 2) || parser.parseOptionalAttrDict(result.attributes) ||
      parser.parseColon())
    return failure();
  if (succeeded(parser.parseOptionalLParen())) {
    if (parser.parseType(lhsType) || parser.parseComma() || parser.parseType(rhsType) || parser.parseRParen() ||
        parser.parseArrow() || parser.parseType(resultType))
      return failure();
  } else {
    if (parser.parseType(resultType))
      return failure();
    lhsType = rhsType = resultType;
  }
  result.addTypes(resultType);
  return parser.resolveOperands(operands, {lhsType, rhsType}, loc, result.operands);
}

static void printBinary(OpAsmPrinter &p, Operation *op) {
  Value lhs = op->getOperand(0), rhs = op->getOperand(1);
  Type resultType = op->getResult(0).getType();
  p << " " << lhs << ", " << rhs;
  p.printOptionalAttrDict(op->getAttrs());
  p << " : ";
  if (lhs.getType() == resultType && rhs.getType() == resultType)
    p << resultType;
  else
    p << "(" << lhs.getType() << ", " << rhs.getType() << ") -> " << resultType;
}

#define KILN_BINARY_FORMAT(OpName)                                                                          \
  ParseResult OpName::parse(OpAsmParser &parser, OperationState &result) { return parseBinary(parser, result); } \
  void OpName::print(OpAsmPrinter &p) { printBinary(p, getOperation()); }
KILN_BINARY_FORMAT(AddOp)
KILN_BINARY_FORMAT(SubOp)
KILN_BINARY_FORMAT(MulOp)
KILN_BINARY_FORMAT(DivOp)
KILN_BINARY_FORMAT(MaxOp)
KILN_BINARY_FORMAT(MinOp)
KILN_BINARY_FORMAT(PowOp)
KILN_BINARY_FORMAT(PReluOp)

LogicalResult UnaryOp::verify() {
  if (!llvm::is_contained(unaryFunctions(), getFn()))
    return emitOpError("unknown function '") << getFn() << "' (docs/design.md lists nn.unary's functions)";
  return success();
}

LogicalResult SliceOp::verify() {
  std::string why;
  if (failed(checkSlice(shapeOf(getInput()), getStarts(), getSteps(), shapeOf(getOutput()), why)))
    return emitOpError(why);
  return success();
}

LogicalResult BroadcastOp::verify() {
  std::string why;
  if (failed(checkBroadcastTo(shapeOf(getInput()), shapeOf(getOutput()), why)))
    return emitOpError(why);
  return success();
}

LogicalResult ResizeOp::verify() {
  if (!llvm::is_contained(resizeCoordinateModes(), getCoordinateMode()))
    return emitOpError("expected coordinate_mode half_pixel, pytorch_half_pixel, align_corners, asymmetric or "
                       "tf_half_pixel_for_nn, got '")
           << getCoordinateMode() << "'";
  if (!llvm::is_contained(resizeNearestModes(), getNearestMode()))
    return emitOpError("expected nearest_mode floor, ceil, round_prefer_floor or round_prefer_ceil, got '")
           << getNearestMode() << "'";
  std::optional<ArrayRef<float>> scales = getScales();
  if (scales && (scales->size() != 2 || !llvm::all_of(*scales, [](float s) { return s > 0.0f; })))
    return emitOpError("expected scales to be two positive factors [h, w]");
  return success();
}

LogicalResult DropoutOp::verify() {
  float rate = getRate().convertToFloat();
  if (!(rate >= 0.0f && rate < 1.0f))
    return emitOpError("expected rate in [0, 1), got ") << rate;
  return success();
}

#define GET_OP_CLASSES
#include "kiln/Dialect/NN/NNOps.cpp.inc"
