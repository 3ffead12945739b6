// ONNX importer: Resize, Upsample and Pad (their sizes, scales and pads may be folded shape
// computations, e.g. fcn_resnet50's Resize sizes from Shape/Gather/Concat).
#include "frontends/onnx/Importer.h"

#include "kiln/Dialect/NN/ResizeSampling.h"

#include <cmath>

namespace kiln::onnxfe {

namespace {

/// One axis of a Resize: ONNX's attributes and what they give along it.
struct ResizeAxis {
  int64_t in, out;
  double scale;           ///< given, or out / in when sizes are given
  double roiStart = 0, roiEnd = 1;
};

struct ResizeForm {
  std::string mode, coordMode, rounding;
  float cubicA = -0.75f;
  bool excludeOutside = false;
};

/// The input coordinate of output index x along `axis` (ONNX's coordinate_transformation_mode);
/// nullopt outside the crop (tf_crop_and_resize).
std::optional<double> sourceCoordinate(const ResizeForm &form, const ResizeAxis &axis, int64_t x) {
  const std::string &m = form.coordMode;
  double in = axis.in, out = axis.in * axis.scale; // fractional with scales, as ONNX computes it
  if (m == "align_corners")
    return out == 1 ? 0.0 : x * (in - 1) / (out - 1);
  if (m == "asymmetric")
    return x / axis.scale;
  if (m == "tf_half_pixel_for_nn")
    return (x + 0.5) / axis.scale;
  if (m == "pytorch_half_pixel")
    return out == 1 ? -0.5 : (x + 0.5) / axis.scale - 0.5;
  if (m == "tf_crop_and_resize") {
    double span = (axis.roiEnd - axis.roiStart) * (in - 1);
    double c = (out == 1 ? span / 2 : x * span / (out - 1)) + axis.roiStart * (in - 1);
    return c < 0 || c > in - 1 ? std::nullopt : std::optional<double>(c);
  }
  if (m == "half_pixel_symmetric") // opset 19: half_pixel recentred for the whole output size
    return in / 2 * (1 - axis.out / out) + (x + 0.5) / axis.scale - 0.5;
  return (x + 0.5) / axis.scale - 0.5; // half_pixel
}

/// The interpolation weights of the neighbours at and after floor(c) (ONNX's coefficients for the
/// ratio in (0, 1]).
SmallVector<double, 4> coefficients(const ResizeForm &form, double ratio) {
  if (form.mode == "nearest") {
    if (ratio == 1.0)
      return {0, 1};
    const std::string &r = form.rounding;
    bool up = r == "ceil" || (r == "round_prefer_floor" && ratio > 0.5) || (r == "round_prefer_ceil" && ratio >= 0.5);
    return {up ? 0.0 : 1.0, up ? 1.0 : 0.0};
  }
  if (form.mode == "linear")
    return {1 - ratio, ratio};
  double a = form.cubicA, r = ratio, s = 1 - ratio;
  return {((a * (r + 1) - 5 * a) * (r + 1) + 8 * a) * (r + 1) - 4 * a, ((a + 2) * r - (a + 3)) * r * r + 1,
          ((a + 2) * s - (a + 3)) * s * s + 1, ((a * (s + 1) - 5 * a) * (s + 1) + 8 * a) * (s + 1) - 4 * a};
}

/// The [out, in] matrix of a 1-D resize (rows of weights over the input, edges clamped): the
/// backend test generator's interpolate_1d_with_x as a linear map.
kiln::HostTensor resizeMatrix(const ResizeForm &form, const ResizeAxis &axis) {
  kiln::HostTensor m({axis.out, axis.in});
  for (int64_t x = 0; x < axis.out; ++x) {
    std::optional<double> c = sourceCoordinate(form, axis, x);
    if (!c)
      continue; // outside the crop: the extrapolation value (0)
    double base = std::floor(*c), ratio = *c == base ? 1.0 : *c - base;
    SmallVector<double, 4> coeffs = coefficients(form, ratio);
    int64_t n = coeffs.size(), pad = (n + 1) / 2;
    // The n nearest indices (ties to the smaller), searched in the input padded by `pad` at each end.
    int64_t first = std::clamp<int64_t>(int64_t(std::ceil(*c)) - n / 2, -pad, axis.in + pad - n);
    if (form.excludeOutside) {
      double kept = 0;
      for (int64_t k = 0; k < n; ++k)
        kept += first + k >= 0 && first + k < axis.in ? coeffs[k] : 0;
      for (int64_t k = 0; k < n; ++k)
        coeffs[k] = first + k >= 0 && first + k < axis.in ? coeffs[k] / kept : 0;
    }
    for (int64_t k = 0; k < n; ++k)
      m.data[x * axis.in + std::clamp<int64_t>(first + k, 0, axis.in - 1)] += float(coeffs[k]);
  }
  return m;
}

} // namespace

/// Resize (opsets 10, 11+) and Upsample (7: scales attribute, 9: scales input). The H x W plane of
/// a 4-D input is nn.resize (every mode, rounding and coordinate mode it has); the other forms
/// (tf_crop_and_resize, half_pixel_symmetric, other axes) are separable: per resized axis, a
/// constant [out, in] interpolation matrix applied by nn.dense.
FailureOr<Value> Importer::importResize(int i) {
  FailureOr<Value> x = operand(i, 0, "input");
  if (failed(x))
    return failure();
  bool upsample = opType(i) == "Upsample";
  NodeAttrs attrs(node(i));
  std::string error;
  auto mode = attr(i, attrs.getString("mode", "nearest", error), error);
  auto coords = attr(i, attrs.getString("coordinate_transformation_mode", "half_pixel", error), error);
  auto nearestMode = attr(i, attrs.getString("nearest_mode", "round_prefer_floor", error), error);
  auto exclude = intAttr(i, "exclude_outside", 0);
  auto cubicA = floatAttr(i, "cubic_coeff_a", -0.75f);
  auto extrapolation = floatAttr(i, "extrapolation_value", 0.0f);
  auto antialias = intAttr(i, "antialias", 0);
  auto policy = attr(i, attrs.getString("keep_aspect_ratio_policy", "stretch", error), error);
  auto axesAttr = attr(i, attrs.getInts("axes", error), error);
  if (failed(mode) || failed(coords) || failed(nearestMode) || failed(exclude) || failed(cubicA) ||
      failed(extrapolation) || failed(antialias) || failed(policy) || failed(axesAttr))
    return failure();
  // Opset 10 Resize and Upsample are asymmetric, and floor for nearest.
  bool legacy = upsample || opset < 11;
  ResizeForm form{*mode == "bilinear" ? "linear" : *mode, legacy ? "asymmetric" : *coords,
                  legacy ? "floor" : *nearestMode, *cubicA, *exclude != 0};
  if (form.mode != "nearest" && form.mode != "linear" && form.mode != "cubic")
    return fail(i, "mode '" + *mode + "' is not one of nearest, linear, cubic");
  if (!llvm::is_contained({"half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners", "asymmetric",
                           "tf_half_pixel_for_nn", "tf_crop_and_resize"},
                          StringRef(form.coordMode)) ||
      !llvm::is_contained({"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"}, StringRef(form.rounding)))
    return fail(i, "coordinate_transformation_mode '" + form.coordMode + "' or nearest_mode '" + form.rounding +
                       "' is not one ONNX defines");
  if (*antialias || *policy != "stretch")
    return fail(i, "antialias and keep_aspect_ratio_policy other than 'stretch' are not supported");
  std::optional<std::vector<float>> scales, roi;
  std::optional<std::vector<int64_t>> sizes;
  if (upsample && opset < 9) {
    const onnx::AttributeProto *a = attrs.find("scales");
    if (!a)
      return fail(i, "needs attribute 'scales'");
    scales = std::vector<float>(a->floats().begin(), a->floats().end());
  } else {
    auto s = constantFloats(i, legacy ? 1 : 2, "scales");
    auto r = failed(s) || legacy ? FailureOr<std::optional<std::vector<float>>>(std::nullopt)
                                 : constantFloats(i, 1, "roi");
    auto z = failed(r) || legacy ? FailureOr<std::optional<std::vector<int64_t>>>(std::nullopt)
                                 : constantInts(i, 3, "sizes");
    if (failed(s) || failed(r) || failed(z))
      return failure();
    if (*s && !(*s)->empty())
      scales = *s;
    if (*z && !(*z)->empty())
      sizes = *z;
    roi = *r;
  }
  ArrayRef<int64_t> in = shapeOf(*x);
  int64_t rank = in.size();
  std::vector<int64_t> axes;
  for (int64_t d = 0; d < rank; ++d)
    axes.push_back(d);
  if (*axesAttr) {
    auto normalized = normalizeAxes(**axesAttr, rank, error);
    if (failed(normalized))
      return fail(i, error);
    axes = **axesAttr;
    for (int64_t &a : axes)
      a = a < 0 ? a + rank : a;
  }
  size_t n = axes.size();
  if ((scales && scales->size() != n) || (sizes && sizes->size() != n) || (!scales == !sizes))
    return fail(i, "expected exactly one of 'scales' and 'sizes', with one entry per resized axis (" +
                       std::to_string(n) + ")");
  std::vector<ResizeAxis> plan;
  for (int64_t d = 0; d < rank; ++d)
    plan.push_back(ResizeAxis{in[d], in[d], 1.0});
  for (size_t k = 0; k < n; ++k) {
    ResizeAxis &axis = plan[axes[k]];
    axis.out = sizes ? (*sizes)[k] : int64_t(std::floor(in[axes[k]] * double((*scales)[k]) + 1e-9));
    axis.scale = sizes ? double(axis.out) / axis.in : (*scales)[k];
    if (roi && roi->size() == 2 * n) {
      axis.roiStart = (*roi)[k];
      axis.roiEnd = (*roi)[k + n];
    }
    if (axis.out < 1 || !(axis.scale > 0))
      return fail(i, "resizes axis " + std::to_string(axes[k]) + " of size " + std::to_string(axis.in) + " to " +
                         std::to_string(axis.out) + "; Kiln's tensors have positive dimensions");
  }
  // The H x W plane of a 4-D input in a form nn.resize computes (PyTorch's exports among them).
  if (rank == 4 && plan[0].out == in[0] && plan[1].out == in[1] &&
      llvm::is_contained(nn::resizeCoordinateModes(), form.coordMode)) {
    StringRef nnMode = form.mode == "nearest" ? "nearest" : form.mode == "linear" ? "bilinear" : "bicubic";
    Pair size{plan[2].out, plan[3].out};
    std::string why;
    auto shape = nn::inferResizeShape(in, nnMode, size, why);
    if (failed(shape))
      return shapeError(i, {*x}, why);
    DenseF32ArrayAttr scaleAttr;
    if (!sizes)
      scaleAttr = builder.getDenseF32ArrayAttr({float(plan[2].scale), float(plan[3].scale)});
    return nn::ResizeOp::create(builder, nodeLoc(i), tensorType(*shape), *x, nnMode, ArrayRef<int64_t>(size),
                                form.coordMode, form.rounding, llvm::APFloat(form.cubicA), form.excludeOutside,
                                scaleAttr)
        .getResult();
  }
  Value y = *x;
  for (int64_t d = rank - 1; d >= 0; --d) {
    kiln::HostTensor matrix = resizeMatrix(form, plan[d]);
    bool identity = plan[d].out == plan[d].in;
    for (int64_t r = 0; identity && r < plan[d].out; ++r)
      for (int64_t c = 0; identity && c < plan[d].in; ++c)
        identity = matrix.data[r * plan[d].in + c] == (r == c ? 1.0f : 0.0f);
    if (identity)
      continue;
    // Axis d last, flattened to [rows, in], times the matrix, and back.
    SmallVector<int64_t> perm, inverse(rank);
    for (int64_t k = 0; k < rank; ++k)
      if (k != d)
        perm.push_back(k);
    perm.push_back(d);
    for (int64_t k = 0; k < rank; ++k)
      inverse[perm[k]] = k;
    FailureOr<Value> moved = transposeBy(i, y, perm);
    if (failed(moved))
      return failure();
    SmallVector<int64_t> movedShape(shapeOf(*moved));
    int64_t rows = HostTensor::numElements(std::vector<int64_t>(movedShape.begin(), movedShape.end())) / plan[d].in;
    FailureOr<Value> flat = reshapeTo(i, *moved, {rows, plan[d].in});
    if (failed(flat))
      return failure();
    Value w = param(nodeName(i) + ".interpolation" + std::to_string(d), std::move(matrix), nodeLoc(i));
    Value product = nn::DenseOp::create(builder, nodeLoc(i), tensorType({rows, plan[d].out}), *flat, w, Value());
    movedShape.back() = plan[d].out;
    FailureOr<Value> unflat = reshapeTo(i, product, movedShape);
    FailureOr<Value> back = failed(unflat) ? unflat : transposeBy(i, *unflat, inverse);
    if (failed(back))
      return failure();
    y = *back;
  }
  if (form.coordMode != "tf_crop_and_resize" || *extrapolation == 0.0f)
    return y;
  // Outside the crop (along any axis) the output is extrapolation_value: the matrices gave 0 there.
  std::vector<int64_t> fillShape;
  for (const ResizeAxis &axis : plan)
    fillShape.push_back(axis.out);
  kiln::HostTensor fill(fillShape);
  for (int64_t k = 0; k < fill.size(); ++k) {
    bool inside = true;
    for (int64_t d = rank - 1, rest = k; d >= 0; rest /= plan[d].out, --d)
      inside = inside && sourceCoordinate(form, plan[d], rest % plan[d].out).has_value();
    fill.data[k] = inside ? 0.0f : *extrapolation;
  }
  return binary(i, "Add", y, param(nodeName(i) + ".extrapolation", std::move(fill), nodeLoc(i)));
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
  return padBy(i, *x, *pads, value);
}

} // namespace kiln::onnxfe
