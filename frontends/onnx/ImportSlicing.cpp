// ONNX importer: Slice, Split and Gather of constant indices on computed tensors, all onto
// nn.slice (Gather: slices of index runs, an nn.concat, and a reshape to ONNX's result shape).
#include "frontends/onnx/Importer.h"

namespace kiln::onnxfe {

/// Slice: starts/ends/axes/steps as attributes before opset 10, constant (or folded) inputs after;
/// negative indices, clamping, any axis, negative steps (ONNX's rules, resolveSlice).
FailureOr<Value> Importer::importSlice(int i) {
  FailureOr<Value> x = operand(i, 0, "input");
  if (failed(x))
    return failure();
  std::optional<std::vector<int64_t>> lists[4]; // starts, ends, axes, steps
  static const char *names[] = {"starts", "ends", "axes", "steps"};
  std::string error;
  for (int k = 0; k < 4; ++k) {
    auto list = opset < 10 ? (k == 3 ? FailureOr<std::optional<std::vector<int64_t>>>(std::nullopt)
                                     : attr(i, NodeAttrs(node(i)).getInts(names[k], error), error))
                           : constantInts(i, k + 1, names[k]);
    if (failed(list))
      return failure();
    lists[k] = *list;
  }
  if (!lists[0] || !lists[1])
    return fail(i, "needs starts and ends");
  auto asRef = [](const std::optional<std::vector<int64_t>> &v) {
    return v ? std::optional<ArrayRef<int64_t>>(*v) : std::nullopt;
  };
  auto window = resolveSlice(shapeOf(*x), *lists[0], *lists[1], asRef(lists[2]), asRef(lists[3]), error);
  if (failed(window))
    return fail(i, error);
  for (auto [d, count] : llvm::enumerate(window->counts))
    if (count == 0)
      return fail(i, "takes no element along axis " + std::to_string(d) + " of " + nn::formatShape(shapeOf(*x)) +
                         "; Kiln's tensors have positive dimensions");
  return sliceBy(i, *x, *window);
}

/// Split along `axis`: sizes from the `split` attribute (before opset 13) or input, or
/// `num_outputs` (opset 18: parts of ceil(n / k), the last smaller), or equal parts.
FailureOr<Value> Importer::importSplit(int i) {
  FailureOr<Value> x = operand(i, 0, "input");
  if (failed(x))
    return failure();
  ArrayRef<int64_t> in = shapeOf(*x);
  auto axis = axisAttr(i, "axis", 0, in.size());
  auto numOutputs = intAttr(i, "num_outputs", 0);
  if (failed(axis) || failed(numOutputs))
    return failure();
  std::optional<std::vector<int64_t>> sizes;
  std::string error;
  if (opset >= 13 || (opset < 2 && hasInput(i, 1))) {
    auto given = constantInts(i, 1, "split");
    if (failed(given))
      return failure();
    sizes = *given;
  } else {
    auto given = attr(i, NodeAttrs(node(i)).getInts("split", error), error);
    if (failed(given))
      return failure();
    sizes = *given;
  }
  int64_t length = in[*axis], parts = node(i).output_size();
  if (!sizes) {
    int64_t each = *numOutputs ? (length + *numOutputs - 1) / *numOutputs : length / std::max<int64_t>(parts, 1);
    if (!*numOutputs && each * parts != length)
      return fail(i, "cannot split " + std::to_string(length) + " into " + std::to_string(parts) + " equal parts");
    sizes.emplace();
    for (int64_t k = 0, left = length; k < parts; ++k, left -= each)
      sizes->push_back(std::min(each, left));
  }
  int64_t total = 0;
  for (int64_t s : *sizes)
    total += s;
  if (int64_t(sizes->size()) != parts || total != length || llvm::is_contained(*sizes, 0))
    return fail(i, "the split sizes must be " + std::to_string(parts) + " positive parts adding up to " +
                       std::to_string(length) + " (axis " + std::to_string(*axis) + " of " + nn::formatShape(in) + ")");
  Value first;
  for (int64_t k = 0, offset = 0; k < parts; offset += (*sizes)[k], ++k) {
    FailureOr<Value> part = sliceBy(i, *x, sliceAlong(in, *axis, offset, 1, (*sizes)[k]));
    if (failed(part))
      return failure();
    if (k == 0)
      first = *part;
    else if (!node(i).output(k).empty())
      values[node(i).output(k)] = *part;
  }
  return first;
}

/// Gather of constant indices (any shape, negatives from the end) along `axis`: one nn.slice per
/// run of evenly spaced indices, concatenated, reshaped to data[:axis] + indices + data[axis+1:].
FailureOr<Value> Importer::importGather(int i) {
  FailureOr<Value> x = operand(i, 0, "data");
  if (failed(x))
    return failure();
  ArrayRef<int64_t> in = shapeOf(*x);
  auto axis = axisAttr(i, "axis", 0, in.size());
  auto indices = failed(axis) ? FailureOr<std::optional<std::vector<int64_t>>>(failure())
                              : constantInts(i, 1, "indices");
  if (failed(indices))
    return failure();
  if (!*indices || (*indices)->empty())
    return fail(i, "needs at least one index");
  std::string error;
  auto indexShape = tensorDims(*constants.find(node(i).input(1))->second, error);
  if (failed(indexShape))
    return fail(i, error);
  int64_t d = in[*axis];
  std::vector<int64_t> idx = **indices;
  for (int64_t &v : idx) {
    if (v < -d || v >= d)
      return fail(i, "index " + std::to_string(v) + " is out of range for axis " + std::to_string(*axis) +
                         " of size " + std::to_string(d));
    v = v < 0 ? v + d : v;
  }
  SmallVector<Value> runs;
  for (size_t k = 0; k < idx.size();) {
    int64_t step = k + 1 < idx.size() && idx[k + 1] != idx[k] ? idx[k + 1] - idx[k] : 1;
    size_t end = k + 1;
    while (end < idx.size() && idx[end] - idx[end - 1] == step)
      ++end;
    FailureOr<Value> run = sliceBy(i, *x, sliceAlong(in, *axis, idx[k], step, end - k));
    if (failed(run))
      return failure();
    runs.push_back(*run);
    k = end;
  }
  FailureOr<Value> gathered = concatOf(i, runs, *axis);
  if (failed(gathered))
    return failure();
  SmallVector<int64_t> shape(in.begin(), in.begin() + *axis);
  shape.append(indexShape->begin(), indexShape->end());
  shape.append(in.begin() + *axis + 1, in.end());
  return resultAs(i, *gathered, shape);
}

} // namespace kiln::onnxfe
