// ONNX importer: Conv, ConvTranspose, Gemm and MatMul (+ Add) to nn.conv2d, nn.conv_transpose2d
// and nn.dense, with weights and biases as nn.param.
#include "frontends/onnx/Importer.h"

#include <cmath>

namespace kiln::onnxfe {

/// Gathers a convolution's operands; `form` names what the input must be, `weightLayout` the
/// expected weight dimensions (both for the messages).
FailureOr<ConvOperands> Importer::convOperands(int i, StringRef form, StringRef weightLayout) {
  FailureOr<Value> x = runtimeInput(i, 0, "input");
  if (failed(x) || failed(requireRank(i, *x, 4, form)))
    return failure();
  auto weight = constantInput(i, 1, "weight");
  if (failed(weight))
    return failure();
  ConvOperands ops{*x, std::move(*weight), std::nullopt};
  if (hasInput(i, 2)) {
    auto b = constantInput(i, 2, "bias");
    if (failed(b))
      return failure();
    ops.bias = std::move(*b);
  }
  if (ops.weight.second.shape.size() != 4) {
    nodeError(i) << "expected a 4-D weight " << weightLayout << ", got " << nn::formatShape(ops.weight.second.shape);
    return failure();
  }
  return ops;
}

FailureOr<Value> Importer::importConv(int i) {
  auto ops = convOperands(i, "2-D convolution of a 4-D input [N, C, H, W]", "[F, C/group, KH, KW]");
  if (failed(ops))
    return failure();
  auto &[x, weight, bias] = *ops;
  const std::vector<int64_t> &filter = weight.second.shape;
  std::string error;
  auto group = attr(i, NodeAttrs(node(i)).getInt("group", 1, error), error);
  auto window = windowAttrs(i, shapeOf(x), Pair{filter[2], filter[3]});
  if (failed(group) || failed(window))
    return failure();
  std::string why;
  auto shape = nn::inferConv2DShape(shapeOf(x), filter,
                                    ops->biasShape(),
                                    window->strides, window->pads, window->dilations, *group, why);
  if (failed(shape))
    return shapeError(i, {x}, why);
  Location loc = nodeLoc(i);
  Value w = param(weight.first, std::move(weight.second), loc);
  Value b = bias ? param(bias->first, std::move(bias->second), loc) : Value();
  return nn::Conv2DOp::create(builder, loc, tensorType(*shape), x, w, b, ArrayRef<int64_t>(window->strides),
                              ArrayRef<int64_t>(window->pads), ArrayRef<int64_t>(window->dilations),
                              uint64_t(*group))
      .getResult();
}

/// Y = alpha * A * B' + beta * C -> nn.dense with the weight and bias folded at import.
FailureOr<Value> Importer::importGemm(int i) {
  NodeAttrs attrs(node(i));
  std::string error;
  auto alpha = attr(i, attrs.getFloat("alpha", 1.0f, error), error);
  auto beta = attr(i, attrs.getFloat("beta", 1.0f, error), error);
  auto transA = attr(i, attrs.getInt("transA", 0, error), error);
  auto transB = attr(i, attrs.getInt("transB", 0, error), error);
  if (failed(alpha) || failed(beta) || failed(transA) || failed(transB))
    return failure();
  FailureOr<Value> x = runtimeInput(i, 0, "input A");
  if (failed(x) || failed(requireRank(i, *x, 2, "Gemm on a 2-D input A [N, K]")))
    return failure();
  if (*transA) {
    InFlightDiagnostic diag = nodeError(i);
    diag << "transA=1 is not supported";
    diag.attachNote() << "Kiln maps Gemm to a dense layer on A [N, K]; export without transposing the input";
    return failure();
  }
  auto b = constantInput(i, 1, "weight B");
  if (failed(b))
    return failure();
  auto &[bName, bTensor] = *b;
  if (bTensor.shape.size() != 2) {
    nodeError(i) << "expected a 2-D weight B, got " << nn::formatShape(bTensor.shape);
    return failure();
  }
  // The dense weight is [M, K]: B itself when transB=1, else B transposed.
  std::string wName = bName;
  kiln::HostTensor w = std::move(bTensor);
  if (!*transB) {
    kiln::HostTensor t({w.shape[1], w.shape[0]});
    for (int64_t r = 0; r < w.shape[0]; ++r)
      for (int64_t c = 0; c < w.shape[1]; ++c)
        t.data[c * w.shape[0] + r] = w.data[r * w.shape[1] + c];
    w = std::move(t);
    wName += ".transposed";
  }
  if (*alpha != 1.0f) {
    for (float &v : w.data)
      v *= *alpha;
    wName += ".scaled";
  }
  int64_t units = w.shape[0];
  std::optional<std::pair<std::string, kiln::HostTensor>> bias;
  if (hasInput(i, 2) && *beta != 0.0f) {
    auto c = constantInput(i, 2, "bias C");
    if (failed(c))
      return failure();
    auto &[cName, cTensor] = *c;
    // A per-unit bias: [M], [1, M], or one value broadcast to all M units.
    int64_t count = cTensor.size();
    bool perUnit = count == units && cTensor.shape.size() >= 1 && cTensor.shape.back() == units;
    if (!perUnit && count != 1) {
      nodeError(i) << "bias C of shape " << nn::formatShape(cTensor.shape)
                   << " is not one value per output unit (" << units << ")";
      return failure();
    }
    kiln::HostTensor bt({units});
    for (int64_t u = 0; u < units; ++u)
      bt.data[u] = cTensor.data[perUnit ? u : 0] * *beta;
    std::string name = cName + (perUnit ? "" : ".broadcast") + (*beta != 1.0f ? ".scaled" : "");
    bias = std::make_pair(name, std::move(bt));
  }
  std::string why;
  auto shape = nn::inferDenseShape(shapeOf(*x), w.shape,
                                   bias ? std::optional<ArrayRef<int64_t>>(bias->second.shape) : std::nullopt, why);
  if (failed(shape))
    return shapeError(i, {*x}, why);
  Location loc = nodeLoc(i);
  Value wv = param(wName, std::move(w), loc);
  Value bv = bias ? param(bias->first, std::move(bias->second), loc) : Value();
  return nn::DenseOp::create(builder, loc, tensorType(*shape), *x, wv, bv).getResult();
}

/// MatMul(A [N, K], constant B [K, M]) -> nn.dense, taking in a following Add of a constant
/// per-unit bias when the MatMul's only reader is that Add.
FailureOr<Value> Importer::importMatMul(int i) {
  FailureOr<Value> x = runtimeInput(i, 0, "input A");
  if (failed(x) || failed(requireRank(i, *x, 2, "MatMul on a 2-D input A [N, K] (it becomes a dense layer)")))
    return failure();
  auto b = constantInput(i, 1, "weight B");
  if (failed(b))
    return failure();
  auto &[bName, bTensor] = *b;
  if (bTensor.shape.size() != 2) {
    nodeError(i) << "expected a 2-D weight B [K, M], got " << nn::formatShape(bTensor.shape);
    return failure();
  }
  int64_t k = bTensor.shape[0], m = bTensor.shape[1];
  kiln::HostTensor w({m, k});
  for (int64_t r = 0; r < k; ++r)
    for (int64_t c = 0; c < m; ++c)
      w.data[c * k + r] = bTensor.data[r * m + c];

  // The bias: the other operand of the single Add reading this MatMul's output.
  std::optional<std::pair<std::string, kiln::HostTensor>> bias;
  int addNode = -1;
  const std::string &out = node(i).output(0);
  auto readers = consumers.find(out);
  if (!graphOutputs.count(out) && readers != consumers.end() && readers->second.size() == 1) {
    int j = readers->second.front();
    const onnx::NodeProto &add = node(j);
    if (add.op_type() == "Add" && add.input_size() == 2 && add.input(0) != add.input(1)) {
      const std::string &other = add.input(0) == out ? add.input(1) : add.input(0);
      auto c = constants.find(other);
      std::string error;
      if (c != constants.end()) {
        FailureOr<kiln::HostTensor> t = toFloatTensor(*c->second, error);
        if (succeeded(t) && t->size() == m && !t->shape.empty() && t->shape.back() == m && t->shape.size() <= 2) {
          t->shape = {m};
          bias = std::make_pair(other, std::move(*t));
          addNode = j;
        }
      }
    }
  }
  std::string why;
  auto shape = nn::inferDenseShape(shapeOf(*x), w.shape,
                                   bias ? std::optional<ArrayRef<int64_t>>(bias->second.shape) : std::nullopt, why);
  if (failed(shape))
    return shapeError(i, {*x}, why);
  Location loc = nodeLoc(i);
  Value wv = param(bName + ".transposed", std::move(w), loc);
  Value bv = bias ? param(bias->first, std::move(bias->second), loc) : Value();
  Value result = nn::DenseOp::create(builder, loc, tensorType(*shape), *x, wv, bv).getResult();
  if (addNode >= 0) {
    fusedNodes.insert(addNode);
    values[node(addNode).output(0)] = result;
  }
  return result;
}

/// ConvTranspose: weight [C, F/group, KH, KW] and bias constant. `output_shape` (or auto_pad SAME,
/// output = input * stride) sets the padding: the cells the full output has beyond it are cut,
/// half at each end (the extra one at the end, or at the start for SAME_LOWER), and missing
/// cells become output_padding.
FailureOr<Value> Importer::importConvTranspose(int i) {
  auto ops = convOperands(i, "2-D transposed convolution of a 4-D input [N, C, H, W]", "[C, F/group, KH, KW]");
  if (failed(ops))
    return failure();
  auto &[x, weight, bias] = *ops;
  const std::vector<int64_t> &filter = weight.second.shape;
  NodeAttrs attrs(node(i));
  std::string error;
  auto group = attr(i, attrs.getInt("group", 1, error), error);
  auto autoPad = attr(i, attrs.getString("auto_pad", "NOTSET", error), error);
  auto outputPaddingAttr = attr(i, attrs.getInts("output_padding", error), error);
  auto outputShape = attr(i, attrs.getInts("output_shape", error), error);
  if (failed(group) || failed(autoPad) || failed(outputPaddingAttr) || failed(outputShape))
    return failure();
  // windowAttrs's SAME padding is a convolution's; it is replaced below.
  auto window = windowAttrs(i, shapeOf(x), Pair{filter[2], filter[3]});
  if (failed(window))
    return failure();
  Pair outputPadding{0, 0};
  if (*outputPaddingAttr) {
    if ((*outputPaddingAttr)->size() != 2) {
      nodeError(i) << "attribute 'output_padding' has " << (*outputPaddingAttr)->size() << " entries; expected 2";
      return failure();
    }
    outputPadding = {(**outputPaddingAttr)[0], (**outputPaddingAttr)[1]};
  }
  ArrayRef<int64_t> in = shapeOf(x);
  std::optional<Pair> wanted;
  if (*outputShape) {
    size_t n = (*outputShape)->size();
    if (n != 2 && n != 4) {
      nodeError(i) << "attribute 'output_shape' has " << n << " entries; expected [H, W]";
      return failure();
    }
    wanted = Pair{(**outputShape)[n - 2], (**outputShape)[n - 1]};
  } else if (*autoPad == "SAME_UPPER" || *autoPad == "SAME_LOWER") {
    wanted = Pair{in[2] * window->strides[0], in[3] * window->strides[1]};
  }
  if (wanted) {
    for (int k = 0; k < 2; ++k) {
      int64_t full = (in[2 + k] - 1) * window->strides[k] + window->dilations[k] * (window->kernel[k] - 1) + 1 +
                     outputPadding[k];
      int64_t cut = full - (*wanted)[k];
      int64_t lo = *autoPad == "SAME_LOWER" ? cut - cut / 2 : cut / 2;
      window->pads[k] = cut > 0 ? lo : 0;
      window->pads[k + 2] = cut > 0 ? cut - lo : 0;
      if (cut < 0)
        outputPadding[k] -= cut;
    }
  }
  std::string why;
  auto shape = nn::inferConvTranspose2DShape(
      in, filter, ops->biasShape(), window->strides,
      window->pads, outputPadding, window->dilations, *group, why);
  if (failed(shape))
    return shapeError(i, {x}, why);
  Location loc = nodeLoc(i);
  Value w = param(weight.first, std::move(weight.second), loc);
  Value b = bias ? param(bias->first, std::move(bias->second), loc) : Value();
  return nn::ConvTranspose2DOp::create(builder, loc, tensorType(*shape), x, w, b, ArrayRef<int64_t>(window->strides),
                                       ArrayRef<int64_t>(window->pads), ArrayRef<int64_t>(outputPadding),
                                       ArrayRef<int64_t>(window->dilations), uint64_t(*group))
      .getResult();
}

} // namespace kiln::onnxfe
