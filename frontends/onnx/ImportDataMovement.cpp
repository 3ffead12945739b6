// ONNX importer: Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Concat, Expand, Tile,
// DepthToSpace, SpaceToDepth, Identity and Dropout on computed tensors (on constants they fold).
#include "frontends/onnx/Importer.h"

namespace kiln::onnxfe {

FailureOr<Value> Importer::importIdentity(int i) { return alias(i); }

FailureOr<Value> Importer::importDropout(int i) {
  if (failed(requireUnusedOutputs(i, 1)))
    return failure();
  if (hasInput(i, 2)) {
    auto mode = constants.find(node(i).input(2));
    std::string error;
    FailureOr<std::vector<int64_t>> flags =
        mode == constants.end() ? FailureOr<std::vector<int64_t>>(failure()) : toInt64Values(*mode->second, error);
    if (failed(flags) || llvm::any_of(*flags, [](int64_t v) { return v != 0; }))
      return fail(i, "training_mode must be a constant false (Kiln compiles inference)");
  }
  return alias(i);
}

/// Reshape to a constant (or folded) shape; to [N, prod(rest)] of a rank > 2 input it is nn.flatten.
/// Reshape-1 to -4 give the shape as an attribute.
FailureOr<Value> Importer::importReshape(int i) {
  FailureOr<Value> x = operand(i, 0, "input");
  if (failed(x))
    return failure();
  std::optional<std::vector<int64_t>> target;
  std::string error;
  if (opset < 5) {
    auto given = attr(i, NodeAttrs(node(i)).getInts("shape", error), error);
    if (failed(given))
      return failure();
    target = *given;
  } else {
    auto given = constantInts(i, 1, "shape");
    if (failed(given))
      return failure();
    target = *given;
  }
  auto allowZero = intAttr(i, "allowzero", 0);
  if (failed(allowZero))
    return failure();
  if (!target)
    return fail(i, "needs a shape");
  ArrayRef<int64_t> in = shapeOf(*x);
  auto resolved = resolveReshape(in, *target, *allowZero, error);
  if (failed(resolved))
    return fail(i, error);
  if (in.size() > 2 && resolved->size() == 2 && (*resolved)[0] == in[0]) {
    std::string why;
    auto shape = nn::inferFlattenShape(in, why);
    if (failed(shape))
      return shapeError(i, {*x}, why);
    return nn::FlattenOp::create(builder, nodeLoc(i), tensorType(*shape), *x).getResult();
  }
  return reshapeTo(i, *x, *resolved);
}

/// Flatten at any axis in [-rank, rank] to [prod(dims before), prod(dims from axis)].
FailureOr<Value> Importer::importFlatten(int i) {
  FailureOr<Value> x = operand(i, 0, "input");
  if (failed(x))
    return failure();
  ArrayRef<int64_t> in = shapeOf(*x);
  int64_t rank = in.size();
  auto axis = intAttr(i, "axis", 1);
  if (failed(axis))
    return failure();
  if (*axis < -rank || *axis > rank)
    return fail(i, "axis=" + std::to_string(*axis) + " is out of range for a rank-" + std::to_string(rank) +
                       " input; expected [" + std::to_string(-rank) + ", " + std::to_string(rank) + "]");
  int64_t a = *axis < 0 ? *axis + rank : *axis, outer = 1, inner = 1;
  for (int64_t d = 0; d < rank; ++d)
    (d < a ? outer : inner) *= in[d];
  return reshapeTo(i, *x, {outer, inner});
}

/// Squeeze (the listed axes, or every 1) and Unsqueeze (1s at the listed output axes): a reshape.
/// Opset 13 moved `axes` from an attribute to input 1.
FailureOr<Value> Importer::importSqueeze(int i) {
  FailureOr<Value> x = operand(i, 0, "input");
  auto axes = failed(x) ? FailureOr<std::optional<std::vector<int64_t>>>(failure()) : axesOperand(i, 1, 13);
  if (failed(axes))
    return failure();
  std::string error;
  auto target = squeezedShape(onnxShape(i, 0), *axes ? std::optional<ArrayRef<int64_t>>(**axes) : std::nullopt,
                              opType(i) == "Unsqueeze", error);
  if (failed(target))
    return fail(i, error);
  return resultAs(i, *x, *target);
}

FailureOr<Value> Importer::importTranspose(int i) {
  FailureOr<Value> x = operand(i, 0, "input");
  if (failed(x))
    return failure();
  std::string error;
  auto perm = attr(i, NodeAttrs(node(i)).getInts("perm", error), error);
  if (failed(perm))
    return failure();
  SmallVector<int64_t> order; // default: the dimensions reversed
  if (*perm)
    order.assign((*perm)->begin(), (*perm)->end());
  for (int64_t d = shapeOf(*x).size() - 1; !*perm && d >= 0; --d)
    order.push_back(d);
  return transposeBy(i, *x, order);
}

FailureOr<Value> Importer::importConcat(int i) {
  SmallVector<Value> inputs;
  for (int k = 0; k < node(i).input_size(); ++k) {
    FailureOr<Value> v = operand(i, k, "input " + std::to_string(k));
    if (failed(v))
      return failure();
    inputs.push_back(*v);
  }
  if (inputs.empty())
    return fail(i, "needs at least one input");
  auto axis = axisAttr(i, "axis", 1, shapeOf(inputs.front()).size());
  if (failed(axis))
    return failure();
  return concatOf(i, inputs, *axis);
}

/// Expand: numpy broadcast of the input and the shape (either may be larger).
FailureOr<Value> Importer::importExpand(int i) {
  FailureOr<Value> x = operand(i, 0, "input");
  auto target = failed(x) ? FailureOr<std::optional<std::vector<int64_t>>>(failure()) : constantInts(i, 1, "shape");
  if (failed(target))
    return failure();
  if (!*target)
    return fail(i, "needs a shape");
  SmallVector<int64_t> given((*target)->begin(), (*target)->end());
  for (int64_t &d : given)
    d = std::max<int64_t>(d, 1); // ONNX's 1 and a 1-broadcast are the same here; 0 is caught below
  std::string why;
  auto shape = nn::inferBroadcastShape(shapeOf(*x), given, why);
  if (failed(shape) || llvm::is_contained(**target, 0))
    return shapeError(i, {*x}, failed(shape) ? why : "expanding to a zero-size dimension");
  if (ArrayRef<int64_t>(*shape) == shapeOf(*x))
    return *x;
  return nn::BroadcastOp::create(builder, nodeLoc(i), tensorType(*shape), *x).getResult();
}

/// Tile: a size-1 axis inserted before each repeated axis, broadcast to the repeats, reshaped back.
FailureOr<Value> Importer::importTile(int i) {
  FailureOr<Value> x = operand(i, 0, "input");
  auto repeats = failed(x) ? FailureOr<std::optional<std::vector<int64_t>>>(failure()) : constantInts(i, 1, "repeats");
  if (failed(repeats))
    return failure();
  ArrayRef<int64_t> in = shapeOf(*x);
  if (!*repeats || (*repeats)->size() != in.size() || llvm::any_of(**repeats, [](int64_t r) { return r < 1; }))
    return fail(i, "expected one positive repeat count per dimension of " + nn::formatShape(in));
  SmallVector<int64_t> spread, broadcast, result;
  for (auto [d, r] : llvm::zip(in, **repeats)) {
    if (r > 1 && d > 1) {
      spread.push_back(1);
      broadcast.push_back(r);
    }
    spread.push_back(d);
    broadcast.push_back(d > 1 ? d : r);
    result.push_back(d * r);
  }
  if (result == SmallVector<int64_t>(in.begin(), in.end()))
    return *x;
  FailureOr<Value> spreadOut = reshapeTo(i, *x, spread);
  if (failed(spreadOut))
    return failure();
  Value tiled = nn::BroadcastOp::create(builder, nodeLoc(i), tensorType(broadcast), *spreadOut).getResult();
  return reshapeTo(i, tiled, result);
}

/// DepthToSpace (DCR or CRD) and SpaceToDepth: reshape to rank 6, transpose, reshape back.
FailureOr<Value> Importer::importDepthToSpace(int i) {
  FailureOr<Value> x = operand(i, 0, "input");
  if (failed(x) || failed(requireRank(i, *x, 4, opType(i).str() + " of a 4-D input [N, C, H, W]")))
    return failure();
  std::string error;
  auto block = intAttr(i, "blocksize", 0);
  auto mode = attr(i, NodeAttrs(node(i)).getString("mode", "DCR", error), error);
  if (failed(block) || failed(mode))
    return failure();
  ArrayRef<int64_t> in = shapeOf(*x);
  int64_t b = *block, n = in[0], c = in[1], h = in[2], w = in[3];
  bool toSpace = opType(i) == "DepthToSpace";
  if (b < 1 || (toSpace ? c % (b * b) : h % b + w % b) != 0 || (*mode != "DCR" && *mode != "CRD"))
    return fail(i, "blocksize " + std::to_string(b) + " and mode '" + *mode + "' do not fit " + nn::formatShape(in) +
                       (toSpace ? " (C must divide by blocksize^2; mode DCR or CRD)" : " (H and W must divide by blocksize)"));
  SmallVector<int64_t> spread, perm, result;
  if (!toSpace) {
    spread = {n, c, h / b, b, w / b, b};
    perm = {0, 3, 5, 1, 2, 4};
    result = {n, c * b * b, h / b, w / b};
  } else if (*mode == "DCR") {
    spread = {n, b, b, c / (b * b), h, w};
    perm = {0, 3, 4, 1, 5, 2};
    result = {n, c / (b * b), h * b, w * b};
  } else {
    spread = {n, c / (b * b), b, b, h, w};
    perm = {0, 1, 4, 2, 5, 3};
    result = {n, c / (b * b), h * b, w * b};
  }
  FailureOr<Value> y = reshapeTo(i, *x, spread);
  if (succeeded(y))
    y = transposeBy(i, *y, perm);
  if (succeeded(y))
    y = reshapeTo(i, *y, result);
  return y;
}

} // namespace kiln::onnxfe
