// ONNX importer: Resize, Upsample and Pad (their sizes, scales and pads may be folded shape
// computations, e.g. fcn_resnet50's Resize sizes from Shape/Gather/Concat).
#include "frontends/onnx/Importer.h"

#include <cmath>

namespace kiln::onnxfe {

/// Resize (opsets 10, 11+) and Upsample (7: scales attribute, 9: scales input) of the H x W plane:
/// `nearest` with asymmetric coordinates and floor rounding (PyTorch's nearest export), or
/// `linear` with half_pixel / pytorch_half_pixel / align_corners coordinates (bilinear).
FailureOr<Value> Importer::importResize(int i) {
  FailureOr<Value> x = operand(i, 0, "input");
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
    int64_t out = in[k];
    if (sizes) {
      out = (*sizes)[k];
    } else {
      double exact = in[k] * double((*scales)[k]);
      if (std::fabs(exact - std::round(exact)) > 1e-4 * std::max(1.0, exact)) {
        InFlightDiagnostic diag = nodeError(i);
        diag << "scale " << (*scales)[k] << " on dimension " << k << " of size " << in[k]
             << " does not give a whole output size";
        diag.attachNote() << "Kiln resizes to an integer output size; give 'sizes' or a scale that divides evenly";
        return failure();
      }
      out = static_cast<int64_t>(std::round(exact));
    }
    if (k < 2 && out != in[k]) {
      nodeError(i) << "resizes dimension " << k << " (" << in[k] << " to " << out
                   << "); Kiln resizes only H and W of [N, C, H, W]";
      return failure();
    }
    if (k >= 2)
      size[k - 2] = out;
  }
  std::string nnMode;
  bool alignCorners = false;
  auto unsupported = [&](const std::string &what) -> FailureOr<Value> {
    InFlightDiagnostic diag = nodeError(i);
    diag << what << " is not supported";
    diag.attachNote() << "Kiln resizes like PyTorch's Upsample / interpolate: mode='nearest' (asymmetric, floor) "
                         "or mode='bilinear' (align_corners True or False)";
    return failure();
  };
  if (*exclude)
    return unsupported("exclude_outside=1");
  if (*mode == "nearest") {
    if (coordMode != "asymmetric" || rounding != "floor")
      return unsupported("mode 'nearest' with coordinate_transformation_mode '" + coordMode + "' and nearest_mode '" +
                         rounding + "'");
    nnMode = "nearest";
  } else if (*mode == "linear" || *mode == "bilinear") {
    nnMode = "bilinear";
    if (coordMode == "align_corners")
      alignCorners = true;
    else if (coordMode == "pytorch_half_pixel" && (size[0] == 1 || size[1] == 1))
      return unsupported("pytorch_half_pixel to an output of size 1");
    else if (coordMode != "half_pixel" && coordMode != "pytorch_half_pixel")
      return unsupported("mode 'linear' with coordinate_transformation_mode '" + coordMode + "'");
  } else {
    return unsupported("mode '" + *mode + "'");
  }
  std::string why;
  auto shape = nn::inferResizeShape(in, nnMode, size, why);
  if (failed(shape))
    return shapeError(i, {*x}, why);
  return nn::ResizeOp::create(builder, nodeLoc(i), tensorType(*shape), *x, nnMode, ArrayRef<int64_t>(size),
                              alignCorners)
      .getResult();
}

/// Pad, mode constant: `pads` and the value are attributes before opset 11, constant inputs after.
FailureOr<Value> Importer::importPad(int i) {
  FailureOr<Value> x = operand(i, 0, "input");
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
  if (!pads)
    return fail(i, "needs 'pads'");
  if (opset >= 18 && hasInput(i, 3)) { // pads for the listed axes only
    auto axes = constantInts(i, 3, "axes");
    if (failed(axes))
      return failure();
    int64_t rank = shapeOf(*x).size(), n = (*axes)->size();
    auto normalized = normalizeAxes(**axes, rank, error);
    if (failed(normalized) || int64_t(pads->size()) != 2 * n)
      return fail(i, failed(normalized) ? error : "expected 2 pads per listed axis");
    std::vector<int64_t> full(2 * rank, 0);
    for (int64_t k = 0; k < n; ++k) {
      int64_t axis = (**axes)[k] < 0 ? (**axes)[k] + rank : (**axes)[k];
      full[axis] = (*pads)[k];
      full[axis + rank] = (*pads)[k + n];
    }
    pads = full;
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
