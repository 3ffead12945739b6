// ONNX importer: Conv and ConvTranspose (2-D, 1-D through an H = 1 image, 3-D composed in
// ImportVolumes.cpp) onto nn.conv2d / nn.conv_transpose2d; Gemm and MatMul onto nn.dense (a constant 2-D B) or
// nn.matmul. Weights are nn.params, or run-time inputs when the graph gives them as inputs.
#include "frontends/onnx/Importer.h"

namespace kiln::onnxfe {

FailureOr<ConvOperands> Importer::convOperands(int i, StringRef what) {
  FailureOr<Value> x = operand(i, 0, "input");
  FailureOr<size_t> dims = failed(x) ? FailureOr<size_t>(failure()) : spatialDims(i, *x, what);
  auto w = failed(dims) ? FailureOr<SmallVector<int64_t>>(failure()) : operandShape(i, 1, "weight");
  if (failed(w))
    return failure();
  if (w->size() != shapeOf(*x).size())
    return fail(i, "expected a weight of the input's rank " + std::to_string(shapeOf(*x).size()) + ", got " +
                       nn::formatShape(*w));
  ConvOperands ops{*x, Value(), Value(), *w, *dims};
  FailureOr<Value> filter = failure();
  if (*dims == 3) { // [W0, W1, KD, KH, KW] as [W0, KD * W1, KH, KW] (ImportVolumes.cpp)
    filter = operandPermuted(i, 1, "weight", {0, 2, 1, 3, 4}, {(*w)[0], (*w)[2] * (*w)[1], (*w)[3], (*w)[4]},
                             ".depth_taps");
  } else {
    FailureOr<Value> image = toImage(i, *x);
    if (failed(image))
      return failure();
    ops.input = *image;
    filter = operandAs(i, 1, "weight", *dims == 1 ? SmallVector<int64_t>{(*w)[0], (*w)[1], 1, (*w)[2]} : *w);
  }
  FailureOr<Value> bias = hasInput(i, 2) && succeeded(filter) ? operand(i, 2, "bias") : FailureOr<Value>(Value());
  if (failed(filter) || failed(bias))
    return failure();
  ops.filter = *filter;
  ops.bias = *bias;
  return ops;
}

static std::optional<ArrayRef<int64_t>> shapeIfAny(Value v) {
  return v ? std::optional<ArrayRef<int64_t>>(cast<RankedTensorType>(v.getType()).getShape()) : std::nullopt;
}

FailureOr<Value> Importer::importConv(int i) {
  auto ops = convOperands(i, "convolution");
  if (failed(ops))
    return failure();
  auto group = intAttr(i, "group", 1);
  auto window = failed(group) ? FailureOr<Window>(failure())
                              : windowAttrs(i, shapeOf(ops->input).take_back(ops->dims), ops->kernel());
  if (failed(window))
    return failure();
  if (ops->dims == 3)
    return convVolume(i, *ops, *window, *group);
  return conv2D(i, ops->input, ops->filter, ops->bias, planeOf(*window), *group, ops->dims == 1);
}

FailureOr<Value> Importer::conv2D(int i, Value input, Value filter, Value bias, const PlaneWindow &window,
                                  int64_t group, bool oneD) {
  std::string why;
  auto shape = nn::inferConv2DShape(shapeOf(input), shapeOf(filter), shapeIfAny(bias), window.strides, window.pads,
                                    window.dilations, group, why);
  if (failed(shape))
    return shapeError(i, {input, filter}, why);
  Value y = nn::Conv2DOp::create(builder, nodeLoc(i), tensorType(*shape), input, filter, bias,
                                 ArrayRef<int64_t>(window.strides), ArrayRef<int64_t>(window.pads),
                                 ArrayRef<int64_t>(window.dilations), uint64_t(group))
                .getResult();
  return fromImage(i, y, oneD);
}

/// ConvTranspose: weight [C, F/group, spatial...]. `output_shape` (or auto_pad SAME, output = input *
/// stride) sets the padding: the cells the full output has beyond it are cut, half at each end
/// (the extra one at the end, or at the start for SAME_LOWER), and missing cells become
/// output_padding.
FailureOr<Value> Importer::importConvTranspose(int i) {
  auto ops = convOperands(i, "transposed convolution");
  if (failed(ops))
    return failure();
  const size_t dims = ops->dims;
  ArrayRef<int64_t> in = shapeOf(ops->input).take_back(dims);
  NodeAttrs attrs(node(i));
  std::string error;
  auto group = intAttr(i, "group", 1);
  auto autoPad = attr(i, attrs.getString("auto_pad", "NOTSET", error), error);
  auto outputPaddingAttr = attr(i, attrs.getInts("output_padding", error), error);
  auto outputShape = attr(i, attrs.getInts("output_shape", error), error);
  if (failed(group) || failed(autoPad) || failed(outputPaddingAttr) || failed(outputShape))
    return failure();
  // windowAttrs's SAME padding is a convolution's; it is replaced below.
  auto window = windowAttrs(i, in, ops->kernel());
  if (failed(window))
    return failure();
  SmallVector<int64_t> outputPadding(dims, 0);
  if (*outputPaddingAttr) {
    if ((*outputPaddingAttr)->size() != dims)
      return fail(i, "attribute 'output_padding' has " + std::to_string((*outputPaddingAttr)->size()) +
                         " entries; expected " + std::to_string(dims));
    outputPadding.assign((*outputPaddingAttr)->begin(), (*outputPaddingAttr)->end());
  }
  std::optional<SmallVector<int64_t>> wanted;
  if (*outputShape) {
    size_t n = (*outputShape)->size();
    if (n != dims && n != dims + 2)
      return fail(i, "attribute 'output_shape' has " + std::to_string(n) + " entries; expected the " +
                         std::to_string(dims) + " spatial sizes");
    wanted = SmallVector<int64_t>((*outputShape)->end() - dims, (*outputShape)->end());
  } else if (*autoPad == "SAME_UPPER" || *autoPad == "SAME_LOWER") {
    wanted.emplace();
    for (size_t k = 0; k < dims; ++k)
      wanted->push_back(in[k] * window->strides[k]);
  }
  for (size_t k = 0; wanted && k < dims; ++k) {
    int64_t full = (in[k] - 1) * window->strides[k] + window->extent(k) + outputPadding[k];
    int64_t cut = full - (*wanted)[k];
    int64_t lo = *autoPad == "SAME_LOWER" ? cut - cut / 2 : cut / 2;
    window->padBegin[k] = cut > 0 ? lo : 0;
    window->padEnd[k] = cut > 0 ? cut - lo : 0;
    if (cut < 0)
      outputPadding[k] -= cut;
  }
  if (dims == 3)
    return convTransposeVolume(i, *ops, *window, outputPadding, *group);
  return convTranspose2D(i, ops->input, ops->filter, ops->bias, planeOf(*window), lastTwo(outputPadding, 0), *group,
                         dims == 1);
}

FailureOr<Value> Importer::convTranspose2D(int i, Value input, Value filter, Value bias, const PlaneWindow &window,
                                           Pair outputPadding, int64_t group, bool oneD) {
  std::string why;
  auto shape = nn::inferConvTranspose2DShape(shapeOf(input), shapeOf(filter), shapeIfAny(bias), window.strides,
                                             window.pads, outputPadding, window.dilations, group, why);
  if (failed(shape))
    return shapeError(i, {input, filter}, why);
  Value y = nn::ConvTranspose2DOp::create(builder, nodeLoc(i), tensorType(*shape), input, filter, bias,
                                          ArrayRef<int64_t>(window.strides), ArrayRef<int64_t>(window.pads),
                                          ArrayRef<int64_t>(outputPadding), ArrayRef<int64_t>(window.dilations),
                                          uint64_t(group))
                .getResult();
  return fromImage(i, y, oneD);
}

/// Y = alpha * A' * B' + beta * C -> nn.dense. A constant B (and a per-unit constant C) are
/// folded with alpha and beta into the dense weight and bias at import; a run-time B (a graph
/// input) is transposed by nn.transpose when transB=0 and scaled after; any other C is added.
FailureOr<Value> Importer::importGemm(int i) {
  auto alpha = floatAttr(i, "alpha", 1.0f), beta = floatAttr(i, "beta", 1.0f);
  auto transA = intAttr(i, "transA", 0), transB = intAttr(i, "transB", 0);
  if (failed(alpha) || failed(beta) || failed(transA) || failed(transB))
    return failure();
  FailureOr<Value> a = operand(i, 0, "input A");
  if (failed(a) || failed(requireRank(i, *a, 2, "Gemm on a 2-D input A")))
    return failure();
  if (*transA && failed(a = transposeBy(i, *a, {1, 0})))
    return failure();
  Location loc = nodeLoc(i);
  Value w;
  bool scaleAfter = false;
  if (isConstant(i, 1) && !values.count(node(i).input(1))) {
    auto b = constantInput(i, 1, "weight B");
    if (failed(b))
      return failure();
    auto &[name, tensor] = *b;
    if (tensor.shape.size() != 2)
      return fail(i, "expected a 2-D weight B, got " + nn::formatShape(tensor.shape));
    // The dense weight is [M, K]: B itself when transB=1, else B transposed.
    std::string wName = name + (*transB ? "" : ".transposed") + (*alpha != 1.0f ? ".scaled" : "");
    kiln::HostTensor weight = *transB ? std::move(tensor) : permuted(tensor, {1, 0});
    for (float &v : weight.data)
      v *= *alpha;
    w = param(wName, std::move(weight), loc);
  } else {
    FailureOr<Value> b = operand(i, 1, "weight B");
    if (failed(b) || failed(requireRank(i, *b, 2, "Gemm with a 2-D B")))
      return failure();
    if (!*transB && failed(b = transposeBy(i, *b, {1, 0})))
      return failure();
    w = *b;
    scaleAfter = *alpha != 1.0f;
  }
  int64_t units = shapeOf(w)[0];
  Value bias, addend;
  if (hasInput(i, 2) && *beta != 0.0f) {
    std::optional<kiln::HostTensor> perUnit;
    std::string cName = hasInput(i, 2) ? node(i).input(2) : "";
    if (isConstant(i, 2) && !values.count(cName) && !scaleAfter) {
      auto c = constantInput(i, 2, "bias C");
      if (failed(c))
        return failure();
      const kiln::HostTensor &t = c->second;
      if (t.size() == 1 || (t.size() == units && t.shape.back() == units)) {
        perUnit = kiln::HostTensor({units});
        for (int64_t u = 0; u < units; ++u)
          perUnit->data[u] = t.data[t.size() == 1 ? 0 : u] * *beta;
        std::string name = cName + (t.size() == 1 && units > 1 ? ".broadcast" : "") + (*beta != 1.0f ? ".scaled" : "");
        bias = param(name, std::move(*perUnit), loc);
      }
    }
    if (!bias) {
      FailureOr<Value> c = operand(i, 2, "bias C");
      if (succeeded(c) && *beta != 1.0f)
        c = binary(i, "Mul", *c, scalarParam(i, "beta", *beta));
      if (failed(c))
        return failure();
      addend = *c;
    }
  }
  std::string why;
  auto shape = nn::inferDenseShape(shapeOf(*a), shapeOf(w), shapeIfAny(bias), why);
  if (failed(shape))
    return shapeError(i, {*a, w}, why);
  FailureOr<Value> y = nn::DenseOp::create(builder, loc, tensorType(*shape), *a, w, bias).getResult();
  if (scaleAfter)
    y = binary(i, "Mul", *y, scalarParam(i, "alpha", *alpha));
  if (succeeded(y) && addend)
    y = binary(i, "Add", *y, addend);
  return y;
}

/// The constant [M] bias of the one Add that reads MatMul i's output (taken into the dense op).
std::optional<std::pair<int, std::pair<std::string, kiln::HostTensor>>> Importer::fusableBias(int i, int64_t units) {
  const std::string &out = node(i).output(0);
  auto readers = consumers.find(out);
  if (graphOutputs.count(out) || readers == consumers.end() || readers->second.size() != 1)
    return std::nullopt;
  int j = readers->second.front();
  const onnx::NodeProto &add = node(j);
  if (add.op_type() != "Add" || add.input_size() != 2 || add.input(0) == add.input(1))
    return std::nullopt;
  const std::string &other = add.input(0) == out ? add.input(1) : add.input(0);
  std::optional<kiln::HostTensor> t = floatConstant(other);
  if (!t || t->size() != units || t->shape.empty() || t->shape.back() != units || t->shape.size() > 2)
    return std::nullopt;
  t->shape = {units};
  return std::make_pair(j, std::make_pair(other, std::move(*t)));
}

/// MatMul with numpy semantics. A constant 2-D B [K, M] makes nn.dense over A reshaped to 2-D
/// (and back), taking in a following Add of a constant [M] bias when that Add is the MatMul's
/// only reader; otherwise nn.matmul, 1-D operands promoted ([K] -> [1, K] / [K, 1]) and dropped.
FailureOr<Value> Importer::importMatMul(int i) {
  FailureOr<Value> a = operand(i, 0, "input A");
  auto bShape = failed(a) ? FailureOr<SmallVector<int64_t>>(failure()) : operandShape(i, 1, "input B");
  if (failed(bShape))
    return failure();
  ArrayRef<int64_t> aShape = shapeOf(*a);
  Location loc = nodeLoc(i);
  // The dense weight [M, K]: a constant B transposed at import, or the input W of a computed
  // B = Transpose(W) (F.linear with a run-time weight exports as MatMul(x, Transpose(W))).
  Value weight;
  auto computed = values.find(node(i).input(1));
  auto transpose = computed == values.end() ? nullptr : computed->second.getDefiningOp<nn::TransposeOp>();
  if (bShape->size() == 2 && aShape.back() == (*bShape)[0]) {
    if (isConstant(i, 1) && computed == values.end()) {
      auto b = constantInput(i, 1, "weight B");
      if (failed(b))
        return failure();
      weight = param(b->first + ".transposed", permuted(b->second, {1, 0}), loc);
    } else if (transpose && transpose.getPerm() == ArrayRef<int64_t>{1, 0}) {
      weight = transpose.getInput();
    }
  }
  if (weight) {
    int64_t k = (*bShape)[0], m = (*bShape)[1], rows = HostTensor::numElements(aShape) / k;
    FailureOr<Value> flat = reshapeTo(i, *a, {rows, k});
    if (failed(flat))
      return failure();
    const std::string &bName = node(i).input(1);
    if (transpose && transpose->use_empty() && consumers[bName].size() == 1 && !graphOutputs.count(bName)) {
      values.erase(bName); // read only here: the transpose is not built
      transpose->erase();
    }
    auto bias = fusableBias(i, m);
    Value bv = bias ? param(bias->second.first, std::move(bias->second.second), loc) : Value();
    Value y = nn::DenseOp::create(builder, loc, tensorType({rows, m}), *flat, weight, bv).getResult();
    SmallVector<int64_t> outShape(aShape.drop_back());
    outShape.push_back(m);
    FailureOr<Value> result = reshapeTo(i, y, outShape);
    if (succeeded(result) && bias) {
      fusedNodes.insert(bias->first);
      values[node(bias->first).output(0)] = *result;
    }
    return result;
  }
  FailureOr<Value> b = operand(i, 1, "input B");
  if (failed(b))
    return failure();
  bool aVector = aShape.size() == 1, bVector = bShape->size() == 1;
  FailureOr<Value> lhs = aVector ? reshapeTo(i, *a, {1, aShape[0]}) : *a;
  FailureOr<Value> rhs = bVector ? reshapeTo(i, *b, {(*bShape)[0], 1}) : *b;
  if (failed(lhs) || failed(rhs))
    return failure();
  std::string why;
  auto shape = nn::inferMatMulShape(shapeOf(*lhs), shapeOf(*rhs), why);
  if (failed(shape))
    return shapeError(i, {*a, *b}, why);
  Value y = nn::MatMulOp::create(builder, loc, tensorType(*shape), *lhs, *rhs).getResult();
  SmallVector<int64_t> outShape(shape->begin(), shape->end());
  if (bVector)
    outShape.pop_back();
  if (aVector)
    outShape.erase(outShape.end() - (bVector ? 1 : 2));
  return resultAs(i, y, outShape);
}

} // namespace kiln::onnxfe
