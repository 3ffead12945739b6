// ONNX importer: the nn ops the importers compose (reshape, transpose, slice, reduce, concat,
// pad, binary and unary ops, normalisation), each checked against the dialect's shape rule and
// reported at the node being imported.
#include "frontends/onnx/Importer.h"

namespace kiln::onnxfe {

FailureOr<Value> Importer::reshapeTo(int i, Value x, ArrayRef<int64_t> target) {
  if (shapeOf(x) == target)
    return x;
  std::string why;
  auto shape = nn::inferReshapeShape(shapeOf(x), target, why);
  if (failed(shape))
    return shapeError(i, {x}, why);
  return nn::ReshapeOp::create(builder, nodeLoc(i), tensorType(*shape), x, target).getResult();
}

FailureOr<Value> Importer::resultAs(int i, Value x, ArrayRef<int64_t> shape) {
  if (!shape.empty())
    return reshapeTo(i, x, shape);
  scalars.insert(node(i).output(0));
  return reshapeTo(i, x, {1});
}

SmallVector<int64_t> Importer::onnxShape(int i, int index) {
  if (scalars.count(node(i).input(index)))
    return {};
  return SmallVector<int64_t>(shapeOf(values.find(node(i).input(index))->second));
}

FailureOr<size_t> Importer::spatialDims(int i, Value x, StringRef what) {
  ArrayRef<int64_t> in = shapeOf(x);
  if (in.size() >= 3 && in.size() <= 5)
    return in.size() - 2;
  nodeError(i) << what << " of a rank-" << in.size() << " input " << nn::formatShape(in)
               << "; Kiln reads [N, C, L], [N, C, H, W] and [N, C, D, H, W]";
  return failure();
}

FailureOr<Value> Importer::toImage(int i, Value x) {
  ArrayRef<int64_t> in = shapeOf(x);
  return in.size() == 3 ? reshapeTo(i, x, {in[0], in[1], 1, in[2]}) : FailureOr<Value>(x);
}

FailureOr<Value> Importer::fromImage(int i, Value y, bool oneD) {
  ArrayRef<int64_t> out = shapeOf(y);
  return oneD ? reshapeTo(i, y, {out[0], out[1], out[3]}) : FailureOr<Value>(y);
}

FailureOr<Value> Importer::transposeBy(int i, Value x, ArrayRef<int64_t> perm) {
  if (llvm::all_of(llvm::enumerate(perm), [](auto p) { return p.value() == int64_t(p.index()); }))
    return x;
  std::string why;
  auto shape = nn::inferTransposeShape(shapeOf(x), perm, why);
  if (failed(shape))
    return shapeError(i, {x}, why);
  return nn::TransposeOp::create(builder, nodeLoc(i), tensorType(*shape), x, perm).getResult();
}

FailureOr<Value> Importer::sliceBy(int i, Value x, const SliceWindow &window) {
  ArrayRef<int64_t> in = shapeOf(x);
  bool whole = true;
  for (size_t d = 0; d < in.size(); ++d)
    whole = whole && window.starts[d] == 0 && window.steps[d] == 1 && window.counts[d] == in[d];
  if (whole)
    return x;
  std::string why;
  if (failed(nn::checkSlice(in, window.starts, window.steps, window.counts, why)))
    return shapeError(i, {x}, why);
  return nn::SliceOp::create(builder, nodeLoc(i), tensorType(window.counts), x, window.starts, window.steps)
      .getResult();
}

FailureOr<Value> Importer::reduceBy(int i, Value x, StringRef kind, ArrayRef<int64_t> axes) {
  std::string why;
  auto shape = nn::inferReduceShape(shapeOf(x), kind, axes, why);
  if (failed(shape))
    return shapeError(i, {x}, why);
  return nn::ReduceOp::create(builder, nodeLoc(i), tensorType(*shape), x, kind, axes).getResult();
}

FailureOr<Value> Importer::concatOf(int i, ArrayRef<Value> inputs, int64_t axis) {
  if (inputs.size() == 1)
    return inputs.front();
  SmallVector<ArrayRef<int64_t>> shapes;
  for (Value v : inputs)
    shapes.push_back(shapeOf(v));
  std::string why;
  auto shape = nn::inferConcatShape(shapes, axis, why);
  if (failed(shape))
    return shapeError(i, inputs, why);
  return nn::ConcatOp::create(builder, nodeLoc(i), tensorType(*shape), inputs, uint64_t(axis)).getResult();
}

FailureOr<Value> Importer::padBy(int i, Value x, ArrayRef<int64_t> pads, float value) {
  if (llvm::all_of(pads, [](int64_t p) { return p == 0; }))
    return x;
  std::string why;
  auto shape = nn::inferPadShape(shapeOf(x), pads, why);
  if (failed(shape))
    return shapeError(i, {x}, why);
  return nn::PadOp::create(builder, nodeLoc(i), tensorType(*shape), x, pads, llvm::APFloat(value)).getResult();
}

FailureOr<Value> Importer::binary(int i, StringRef op, Value a, Value b) {
  std::string why;
  auto shape = nn::inferBroadcastShape(shapeOf(a), shapeOf(b), why);
  if (failed(shape))
    return shapeError(i, {a, b}, why);
  Location loc = nodeLoc(i);
  Type t = tensorType(*shape);
  if (op == "Add" || op == "Sum" || op == "Mean")
    return nn::AddOp::create(builder, loc, t, a, b).getResult();
  if (op == "Sub")
    return nn::SubOp::create(builder, loc, t, a, b).getResult();
  if (op == "Mul")
    return nn::MulOp::create(builder, loc, t, a, b).getResult();
  if (op == "Div")
    return nn::DivOp::create(builder, loc, t, a, b).getResult();
  if (op == "Max")
    return nn::MaxOp::create(builder, loc, t, a, b).getResult();
  if (op == "Min")
    return nn::MinOp::create(builder, loc, t, a, b).getResult();
  if (op == "Pow")
    return nn::PowOp::create(builder, loc, t, a, b).getResult();
  assert(op == "PRelu" && "binary: unknown op");
  return nn::PReluOp::create(builder, loc, t, a, b).getResult();
}

Value Importer::unary(int i, StringRef fn, Value x, float alpha, float beta) {
  return nn::UnaryOp::create(builder, nodeLoc(i), x.getType(), x, fn, llvm::APFloat(alpha), llvm::APFloat(beta))
      .getResult();
}

/// The one composition behind LayerNormalization, InstanceNormalization, GroupNorm exports and
/// the exported LayerNorm pattern, as PyTorch computes it: d = x - mean(x);
/// y = d * (1 / sqrt(mean(d * d) + eps)) * scale + bias. `statistics`, when given, receives the
/// mean and the inverse standard deviation (LayerNormalization's extra outputs).
FailureOr<Value> Importer::normalize(int i, Value x, ArrayRef<int64_t> axes, float epsilon, Value scale, Value bias,
                                     std::pair<Value, Value> *statistics) {
  FailureOr<Value> mean = reduceBy(i, x, "mean", axes);
  FailureOr<Value> centred = failed(mean) ? mean : binary(i, "Sub", x, *mean);
  FailureOr<Value> square = failed(centred) ? centred : binary(i, "Mul", *centred, *centred);
  FailureOr<Value> variance = failed(square) ? square : reduceBy(i, *square, "mean", axes);
  FailureOr<Value> shifted = failed(variance) ? variance : binary(i, "Add", *variance, scalarParam(i, "epsilon", epsilon));
  if (failed(shifted))
    return failure();
  Value inverseStd = unary(i, "reciprocal", unary(i, "sqrt", *shifted));
  if (statistics)
    *statistics = {*mean, inverseStd};
  FailureOr<Value> y = binary(i, "Mul", *centred, inverseStd);
  if (succeeded(y) && scale)
    y = binary(i, "Mul", *y, scale);
  if (succeeded(y) && bias)
    y = binary(i, "Add", *y, bias);
  return y;
}

} // namespace kiln::onnxfe
