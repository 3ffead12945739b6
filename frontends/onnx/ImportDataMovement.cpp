// ONNX importer: Reshape, Flatten, Squeeze, Unsqueeze, Constant, Resize, Upsample and Pad.
#include "frontends/onnx/Importer.h"

#include "kiln/Dialect/NN/ResizeSampling.h"

#include <cmath>

namespace kiln::onnxfe {

/// Flatten(axis=1), and Reshape to [N, prod(rest)] (a flatten) or to the input's own shape.
FailureOr<Value> Importer::importReshape(int i, bool flatten) {
  FailureOr<Value> x = runtimeInput(i, 0, "input");
  if (failed(x))
    return failure();
  ArrayRef<int64_t> in = shapeOf(*x);
  int64_t inner = 1;
  for (int64_t d : in.drop_front())
    inner *= d;
  SmallVector<int64_t> flat = {in[0], inner};
  std::string why;
  auto build = [&]() -> FailureOr<Value> {
    auto shape = nn::inferFlattenShape(in, why);
    if (failed(shape))
      return shapeError(i, {*x}, why);
    return nn::FlattenOp::create(builder, nodeLoc(i), tensorType(*shape), *x).getResult();
  };
  if (flatten) {
    // Flatten's axis may equal the rank ([-rank, rank]), unlike the other ops' axes.
    std::string error;
    int64_t rank = in.size();
    auto axis = attr(i, NodeAttrs(node(i)).getInt("axis", 1, error), error);
    if (failed(axis))
      return failure();
    if (*axis < -rank || *axis > rank) {
      nodeError(i) << "axis=" << *axis << " is out of range for a rank-" << rank << " input; expected [" << -rank
                   << ", " << rank << "]";
      return failure();
    }
    if (*axis < 0)
      *axis += rank;
    if (*axis == 1)
      return build();
    int64_t outer = 1;
    for (int64_t d = 0; d < *axis; ++d)
      outer *= in[d];
    return reshapeTo(i, *x, {outer, inner * in[0] / outer});
  }
  auto shapeTensor = constants.find(hasInput(i, 1) ? node(i).input(1) : "");
  if (shapeTensor == constants.end()) {
    InFlightDiagnostic diag = nodeError(i);
    diag << "the target shape is computed at run time";
    diag.attachNote() << "Kiln imports a Reshape whose shape is a constant; export with fixed shapes and "
                         "do_constant_folding=True, or use torch.flatten(x, 1)";
    return failure();
  }
  std::string error;
  auto target = toInt64Values(*shapeTensor->second, error);
  auto allowZero = attr(i, NodeAttrs(node(i)).getInt("allowzero", 0, error), error);
  if (failed(target) || failed(allowZero)) {
    if (failed(target))
      nodeError(i) << "its shape: " << error;
    return failure();
  }
  // Resolve 0 (copy the input's dimension) and one -1 (whatever is left).
  SmallVector<int64_t> resolved;
  int64_t known = 1, inferred = -1;
  int64_t total = inner * in[0];
  for (auto [d, v] : llvm::enumerate(*target)) {
    if (v == 0 && !*allowZero && d < in.size())
      v = in[d];
    if (v == -1 && inferred < 0) {
      inferred = d;
    } else if (v < 1 || known > total / v) {
      nodeError(i) << "the shape [" << llvm::make_range(target->begin(), target->end()) << "] cannot reshape "
                   << nn::formatShape(in);
      return failure();
    } else {
      known *= v;
    }
    resolved.push_back(v);
  }
  if (inferred >= 0 && total % known == 0)
    resolved[inferred] = total / known;
  if (ArrayRef<int64_t>(resolved) == ArrayRef<int64_t>(flat) && in.size() > 2)
    return build();
  return reshapeTo(i, *x, resolved);
}

FailureOr<Value> Importer::reshapeTo(int i, Value x, ArrayRef<int64_t> target) {
  if (shapeOf(x) == target)
    return x;
  std::string why;
  auto shape = nn::inferReshapeShape(shapeOf(x), target, why);
  if (failed(shape))
    return shapeError(i, {x}, why);
  return nn::ReshapeOp::create(builder, nodeLoc(i), tensorType(*shape), x, target).getResult();
}

/// Squeeze (the listed axes, or every 1) and Unsqueeze (insert 1s at the listed output axes):
/// both become a reshape. Opset 13 moved `axes` from an attribute to input 1.
FailureOr<Value> Importer::importSqueeze(int i, bool unsqueeze) {
  FailureOr<Value> x = runtimeInput(i, 0, "input");
  if (failed(x))
    return failure();
  std::optional<std::vector<int64_t>> axes;
  if (opset >= 13) {
    auto given = constantInts(i, 1, "axes");
    if (failed(given))
      return failure();
    axes = *given;
  } else {
    std::string error;
    auto given = attr(i, NodeAttrs(node(i)).getInts("axes", error), error);
    if (failed(given))
      return failure();
    axes = *given;
  }
  ArrayRef<int64_t> in = shapeOf(*x);
  int64_t rank = in.size() + (unsqueeze && axes ? axes->size() : 0);
  if (unsqueeze && !axes) {
    nodeError(i) << "needs 'axes'";
    return failure();
  }
  SmallVector<bool> listed(rank, false);
  for (int64_t a : axes.value_or(std::vector<int64_t>())) {
    if (a < -rank || a >= rank || listed[a < 0 ? a + rank : a]) {
      nodeError(i) << "axis " << a << " is out of range or repeated for a rank-" << rank
                   << (unsqueeze ? " output" : " input");
      return failure();
    }
    listed[a < 0 ? a + rank : a] = true;
  }
  SmallVector<int64_t> target;
  if (unsqueeze) {
    for (int64_t d = 0, k = 0; d < rank; ++d)
      target.push_back(listed[d] ? 1 : in[k++]);
  } else {
    for (int64_t d = 0; d < rank; ++d) {
      if (axes && listed[d] && in[d] != 1) {
        nodeError(i) << "cannot squeeze axis " << d << " of size " << in[d] << " (" << nn::formatShape(in) << ")";
        return failure();
      }
      if (!(axes ? listed[d] : in[d] == 1))
        target.push_back(in[d]);
    }
  }
  if (target.empty()) {
    nodeError(i) << "would make a scalar of " << nn::formatShape(in) << "; Kiln tensors have rank >= 1";
    return failure();
  }
  return reshapeTo(i, *x, target);
}

/// A Constant node: its tensor becomes a constant named by the node's output.
FailureOr<Value> Importer::importConstant(int i) {
  const onnx::NodeProto &n = node(i);
  if (n.attribute_size() != 1) {
    nodeError(i) << "expected exactly one value attribute";
    return failure();
  }
  const onnx::AttributeProto &a = n.attribute(0);
  if (a.name() == "value" && a.type() == onnx::AttributeProto::TENSOR) {
    std::string error;
    if (failed(tensorDims(a.t(), error))) {
      nodeError(i) << error;
      return failure();
    }
    constants[n.output(0)] = &a.t();
    return Value();
  }
  onnx::TensorProto &t = ownedConstants.emplace_back();
  t.set_name(n.output(0));
  if (a.name() == "value_float" || a.name() == "value_floats") {
    t.set_data_type(onnx::TensorProto::FLOAT);
    if (a.name() == "value_float")
      t.add_float_data(a.f());
    else
      t.mutable_float_data()->CopyFrom(a.floats());
  } else if (a.name() == "value_int" || a.name() == "value_ints") {
    t.set_data_type(onnx::TensorProto::INT64);
    if (a.name() == "value_int")
      t.add_int64_data(a.i());
    else
      t.mutable_int64_data()->CopyFrom(a.ints());
  } else {
    nodeError(i) << "a Constant given by '" << a.name() << "' is not supported (use 'value')";
    return failure();
  }
  if (a.name() == "value_floats" || a.name() == "value_ints")
    t.add_dims(a.name() == "value_floats" ? a.floats_size() : a.ints_size());
  constants[n.output(0)] = &t;
  return Value();
}

/// Resize (opsets 10, 11+) and Upsample (7: scales attribute, 9: scales input) of the H x W plane:
/// modes nearest, linear and cubic with every coordinate transformation mode and nearest_mode of
/// nn.resize (opset 10 Resize and Upsample are asymmetric, nearest rounding down).
FailureOr<Value> Importer::importResize(int i) {
  FailureOr<Value> x = runtimeInput(i, 0, "input");
  if (failed(x) || failed(requireRank(i, *x, 4, "resizing a 4-D input [N, C, H, W]")))
    return failure();
  bool upsample = node(i).op_type() == "Upsample";
  NodeAttrs attrs(node(i));
  std::string error;
  auto mode = attr(i, attrs.getString("mode", "nearest", error), error);
  auto coords = attr(i, attrs.getString("coordinate_transformation_mode", opset >= 11 ? "half_pixel" : "asymmetric",
                                        error),
                     error);
  auto nearestMode = attr(i, attrs.getString("nearest_mode", "round_prefer_floor", error), error);
  auto exclude = attr(i, attrs.getInt("exclude_outside", 0, error), error);
  if (failed(mode) || failed(coords) || failed(nearestMode) || failed(exclude))
    return failure();
  // Opset 10 Resize and Upsample are asymmetric and floor (nearest); linear there is asymmetric too.
  bool legacy = upsample || opset < 11;
  std::string coordMode = legacy ? "asymmetric" : *coords;
  std::string rounding = legacy ? "floor" : *nearestMode;
  std::optional<std::vector<float>> scales;
  std::optional<std::vector<int64_t>> sizes;
  if (upsample && opset < 9) {
    const onnx::AttributeProto *a = attrs.find("scales");
    if (!a) {
      nodeError(i) << "needs attribute 'scales'";
      return failure();
    }
    scales = std::vector<float>(a->floats().begin(), a->floats().end());
  } else {
    int scalesIndex = legacy ? 1 : 2;
    auto s = constantFloats(i, scalesIndex, "scales");
    if (failed(s))
      return failure();
    if (*s && !(*s)->empty())
      scales = *s;
    if (!legacy) {
      auto z = constantInts(i, 3, "sizes");
      if (failed(z))
        return failure();
      if (*z && !(*z)->empty())
        sizes = *z;
    }
  }
  ArrayRef<int64_t> in = shapeOf(*x);
  if ((scales && scales->size() != 4) || (sizes && sizes->size() != 4) || (!scales == !sizes)) {
    nodeError(i) << "expected exactly one of 'scales' and 'sizes', with 4 entries [N, C, H, W]";
    return failure();
  }
  Pair size;
  for (int k = 0; k < 4; ++k) {
    // ONNX: the output size is floor(input size * scale); the coordinates use the scale itself.
    int64_t out = sizes ? (*sizes)[k] : static_cast<int64_t>(std::floor(in[k] * double((*scales)[k])));
    if (k < 2 && out != in[k]) {
      nodeError(i) << "resizes dimension " << k << " (" << in[k] << " to " << out
                   << "); Kiln resizes only H and W of [N, C, H, W]";
      return failure();
    }
    if (k >= 2)
      size[k - 2] = out;
  }
  auto unsupported = [&](const std::string &what) -> FailureOr<Value> {
    InFlightDiagnostic diag = nodeError(i);
    diag << what << " is not supported";
    diag.attachNote() << "Kiln resizes with modes nearest, linear and cubic and the coordinate transformation "
                         "modes half_pixel, pytorch_half_pixel, align_corners, asymmetric and tf_half_pixel_for_nn";
    return failure();
  };
  static const std::pair<StringRef, StringRef> kModes[] = {
      {"nearest", "nearest"}, {"linear", "bilinear"}, {"bilinear", "bilinear"}, {"cubic", "bicubic"}};
  const auto *nnMode = llvm::find_if(kModes, [&](const auto &m) { return m.first == *mode; });
  if (nnMode == std::end(kModes))
    return unsupported("mode '" + *mode + "'");
  if (!llvm::is_contained(nn::resizeCoordinateModes(), coordMode))
    return unsupported("coordinate_transformation_mode '" + coordMode + "'");
  if (!llvm::is_contained(nn::resizeNearestModes(), rounding))
    return unsupported("nearest_mode '" + rounding + "'");
  auto cubicA = attr(i, attrs.getFloat("cubic_coeff_a", -0.75f, error), error);
  if (failed(cubicA))
    return failure();
  std::string why;
  auto shape = nn::inferResizeShape(in, nnMode->second, size, why);
  if (failed(shape))
    return shapeError(i, {*x}, why);
  DenseF32ArrayAttr scaleAttr;
  if (scales)
    scaleAttr = builder.getDenseF32ArrayAttr({(*scales)[2], (*scales)[3]});
  return nn::ResizeOp::create(builder, nodeLoc(i), tensorType(*shape), *x, nnMode->second, ArrayRef<int64_t>(size),
                              coordMode, rounding, llvm::APFloat(*cubicA), *exclude != 0, scaleAttr)
      .getResult();
}

/// Pad, mode constant: `pads` and the value are attributes before opset 11, constant inputs after.
FailureOr<Value> Importer::importPad(int i) {
  FailureOr<Value> x = runtimeInput(i, 0, "input");
  if (failed(x))
    return failure();
  NodeAttrs attrs(node(i));
  std::string error;
  auto mode = attr(i, attrs.getString("mode", "constant", error), error);
  if (failed(mode))
    return failure();
  if (*mode != "constant") {
    InFlightDiagnostic diag = nodeError(i);
    diag << "mode '" << *mode << "' is not supported; Kiln pads with a constant";
    diag.attachNote() << "use F.pad(x, pads, mode='constant')";
    return failure();
  }
  std::optional<std::vector<int64_t>> pads;
  float value = 0.0f;
  if (opset < 11) {
    auto p = attr(i, attrs.getInts(opset < 2 ? "paddings" : "pads", error), error);
    auto v = attr(i, attrs.getFloat("value", 0.0f, error), error);
    if (failed(p) || failed(v))
      return failure();
    pads = *p;
    value = *v;
  } else {
    auto p = constantInts(i, 1, "pads");
    auto v = failed(p) ? FailureOr<std::optional<std::vector<float>>>(failure())
                       : constantFloats(i, 2, "constant_value");
    if (failed(v))
      return failure();
    pads = *p;
    if (*v && !(*v)->empty())
      value = (**v)[0];
  }
  if (!pads) {
    nodeError(i) << "needs 'pads'";
    return failure();
  }
  std::string why;
  auto shape = nn::inferPadShape(shapeOf(*x), *pads, why);
  if (failed(shape))
    return shapeError(i, {*x}, why);
  return nn::PadOp::create(builder, nodeLoc(i), tensorType(*shape), *x, ArrayRef<int64_t>(*pads),
                           llvm::APFloat(value))
      .getResult();
}

} // namespace kiln::onnxfe
