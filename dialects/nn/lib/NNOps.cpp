// Verifiers and result-type inference of the nn ops; the rules themselves are in ShapeRules.cpp.
#include "kiln/Dialect/NN/NNOps.h"
#include "kiln/Dialect/NN/ShapeRules.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"

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

template <typename PoolAdaptor>
static LogicalResult inferPool(MLIRContext *context, std::optional<Location> loc, PoolAdaptor op,
                               SmallVectorImpl<Type> &types) {
  std::string why;
  auto shape = inferPool2DShape(shapeOf(op.getInput()), op.getKernel(), op.getStrides(), op.getPadding(), why);
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

LogicalResult DropoutOp::verify() {
  float rate = getRate().convertToFloat();
  if (!(rate >= 0.0f && rate < 1.0f))
    return emitOpError("expected rate in [0, 1), got ") << rate;
  return success();
}

#define GET_OP_CLASSES
#include "kiln/Dialect/NN/NNOps.cpp.inc"
