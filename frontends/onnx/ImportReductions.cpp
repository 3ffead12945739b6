// ONNX importer: Reduce* (ten kinds) and ArgMax/ArgMin onto nn.reduce, which keeps the reduced
// dims; keepdims = 0 is a reshape after it.
#include "frontends/onnx/Importer.h"

namespace kiln::onnxfe {

static const llvm::StringMap<StringRef> &reduceKindsByOp() {
  static const llvm::StringMap<StringRef> kinds = {
      {"ReduceMean", "mean"}, {"ReduceSum", "sum"},          {"ReduceMax", "max"},
      {"ReduceMin", "min"},   {"ReduceProd", "prod"},        {"ReduceL1", "l1"},
      {"ReduceL2", "l2"},     {"ReduceLogSum", "log_sum"},   {"ReduceLogSumExp", "log_sum_exp"},
      {"ReduceSumSquare", "sum_square"}};
  return kinds;
}

/// The reduced value without the reduced `axes` (ONNX keepdims = 0).
static SmallVector<int64_t> withoutAxes(ArrayRef<int64_t> shape, ArrayRef<int64_t> axes) {
  SmallVector<int64_t> out;
  for (auto [d, size] : llvm::enumerate(shape))
    if (!llvm::is_contained(axes, int64_t(d)))
      out.push_back(size);
  return out;
}

/// Reduce*: `axes` an attribute, or input 1 (ReduceSum from opset 13, the others from 18); no axes
/// reduce everything unless noop_with_empty_axes; keepdims (default 1).
FailureOr<Value> Importer::importReduce(int i) {
  FailureOr<Value> x = operand(i, 0, "input");
  auto axes = failed(x) ? FailureOr<std::optional<std::vector<int64_t>>>(failure())
                        : axesOperand(i, 1, opType(i) == "ReduceSum" ? 13 : 18);
  auto keepDims = intAttr(i, "keepdims", 1);
  auto noop = intAttr(i, "noop_with_empty_axes", 0);
  if (failed(axes) || failed(keepDims) || failed(noop))
    return failure();
  int64_t rank = shapeOf(*x).size();
  std::vector<int64_t> listed = axes->value_or(std::vector<int64_t>());
  if (listed.empty()) {
    if (*noop)
      return *x;
    for (int64_t d = 0; d < rank; ++d)
      listed.push_back(d);
  }
  std::string error;
  auto normalized = normalizeAxes(listed, rank, error);
  if (failed(normalized))
    return fail(i, error);
  FailureOr<Value> y = reduceBy(i, *x, reduceKindsByOp().find(opType(i))->second, *normalized);
  if (failed(y) || *keepDims)
    return y;
  return resultAs(i, *y, withoutAxes(shapeOf(*x), *normalized));
}

/// ArgMax/ArgMin along `axis` as float indices; select_last_index reads the axis backwards (a
/// flipped nn.slice) and maps the index back (n - 1 - index).
FailureOr<Value> Importer::importArgReduce(int i) {
  FailureOr<Value> x = operand(i, 0, "input");
  if (failed(x))
    return failure();
  ArrayRef<int64_t> in = shapeOf(*x);
  auto axis = axisAttr(i, "axis", 0, in.size());
  auto keepDims = intAttr(i, "keepdims", 1);
  auto last = intAttr(i, "select_last_index", 0);
  if (failed(axis) || failed(keepDims) || failed(last))
    return failure();
  Value source = *x;
  if (*last) {
    SliceWindow flip = sliceAlong(in, *axis, in[*axis] - 1, -1, in[*axis]);
    FailureOr<Value> flipped = in[*axis] > 1 ? sliceBy(i, *x, flip) : *x;
    if (failed(flipped))
      return failure();
    source = *flipped;
  }
  FailureOr<Value> y = reduceBy(i, source, opType(i) == "ArgMax" ? "arg_max" : "arg_min", {*axis});
  if (succeeded(y) && *last && in[*axis] > 1)
    y = binary(i, "Sub", scalarParam(i, "last_index", float(in[*axis] - 1)), *y);
  if (failed(y) || *keepDims)
    return y;
  return resultAs(i, *y, withoutAxes(in, {*axis}));
}

} // namespace kiln::onnxfe
