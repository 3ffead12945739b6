// ONNX importer: activations, the nn.unary functions (Exp ... Gelu), binary and variadic
// elementwise ops, Pow, PRelu, Clip, Softmax and LogSoftmax.
#include "frontends/onnx/Importer.h"

#include <cmath>
#include <limits>

namespace kiln::onnxfe {

/// Softmax and LogSoftmax along `axis`. Before opset 13 they normalise over dims axis..rank-1
/// taken together: the input is reshaped to [dims before axis..., their product] and back.
FailureOr<Value> Importer::importSoftmax(int i) {
  FailureOr<Value> x = operand(i, 0, "input");
  if (failed(x))
    return failure();
  ArrayRef<int64_t> in = shapeOf(*x);
  auto axis = axisAttr(i, "axis", opset < 13 ? 1 : -1, in.size());
  if (failed(axis))
    return failure();
  FailureOr<Value> source = *x;
  if (opset < 13) {
    SmallVector<int64_t> flat(in.begin(), in.begin() + *axis);
    flat.push_back(HostTensor::numElements(std::vector<int64_t>(in.begin() + *axis, in.end())));
    source = reshapeTo(i, *x, flat);
    if (failed(source))
      return failure();
  }
  Value y = opType(i) == "LogSoftmax"
                ? nn::LogSoftmaxOp::create(builder, nodeLoc(i), source->getType(), *source, uint64_t(*axis)).getResult()
                : nn::SoftmaxOp::create(builder, nodeLoc(i), source->getType(), *source, uint64_t(*axis)).getResult();
  return reshapeTo(i, y, in);
}

/// Clip: bounds as attributes before opset 11, optional inputs after: constant bounds give
/// nn.clip, computed ones (or graph inputs) nn.max / nn.min.
FailureOr<Value> Importer::importClip(int i) {
  FailureOr<Value> x = operand(i, 0, "input");
  if (failed(x))
    return failure();
  float lo = -std::numeric_limits<float>::infinity(), hi = std::numeric_limits<float>::infinity();
  if (opset < 11) {
    auto a = floatAttr(i, "min", lo), b = floatAttr(i, "max", hi);
    if (failed(a) || failed(b))
      return failure();
    lo = *a;
    hi = *b;
  } else if ((hasInput(i, 1) && !isConstant(i, 1)) || (hasInput(i, 2) && !isConstant(i, 2))) {
    FailureOr<Value> y = *x;
    for (int k = 1; k <= 2 && succeeded(y); ++k) {
      if (!hasInput(i, k))
        continue;
      FailureOr<Value> bound = operand(i, k, k == 1 ? "min" : "max");
      y = failed(bound) ? bound : binary(i, k == 1 ? "Max" : "Min", *y, *bound);
    }
    return y;
  } else {
    for (int k = 1; k <= 2; ++k) {
      auto bound = constantFloats(i, k, k == 1 ? "min" : "max");
      if (failed(bound))
        return failure();
      if (*bound && (*bound)->size() != 1)
        return fail(i, std::string("its ") + (k == 1 ? "min" : "max") + " must be one value");
      if (*bound)
        (k == 1 ? lo : hi) = (**bound)[0];
    }
  }
  if (lo > hi) // ONNX: every output is max then (numpy.clip's rule)
    lo = hi;
  return nn::ClipOp::create(builder, nodeLoc(i), x->getType(), *x, llvm::APFloat(lo), llvm::APFloat(hi))
      .getResult();
}

/// Where with a constant condition (a mask) over computed values: a * c + b * (1 - c), exact for
/// finite values. A condition computed from the data is a data-dependent selection: refused.
FailureOr<Value> Importer::importWhere(int i) {
  if (!isConstant(i, 0))
    return importFoldOnly(i);
  auto mask = constantInts(i, 0, "condition");
  std::string error;
  auto dims = failed(mask) ? FailureOr<std::vector<int64_t>>(failure())
                           : tensorDims(*constants.find(node(i).input(0))->second, error);
  if (failed(dims))
    return failed(mask) ? failure() : fail(i, error);
  kiln::HostTensor keep(dims->empty() ? std::vector<int64_t>{1} : *dims), drop = keep;
  for (int64_t k = 0; k < keep.size(); ++k) {
    keep.data[k] = (**mask)[k] != 0;
    drop.data[k] = 1.0f - keep.data[k];
  }
  FailureOr<Value> a = operand(i, 1, "X");
  FailureOr<Value> b = failed(a) ? a : operand(i, 2, "Y");
  if (failed(b))
    return failure();
  FailureOr<Value> kept = binary(i, "Mul", *a, param(nodeName(i) + ".condition", std::move(keep), nodeLoc(i)));
  FailureOr<Value> dropped =
      failed(kept) ? kept : binary(i, "Mul", *b, param(nodeName(i) + ".not_condition", std::move(drop), nodeLoc(i)));
  return failed(dropped) ? dropped : binary(i, "Add", *kept, *dropped);
}

/// Add, Sub, Mul, Div (two operands) and Max, Min, Sum, Mean (one or more), with numpy
/// broadcasting (before opset 7: `broadcast` aligns B at `axis`); a constant operand is an nn.param.
FailureOr<Value> Importer::importElementwise(int i) {
  StringRef type = opType(i);
  bool variadic = type == "Max" || type == "Min" || type == "Sum" || type == "Mean";
  int count = node(i).input_size();
  if (variadic ? count < 1 : count != 2)
    return fail(i, std::string("expected ") + (variadic ? "one or more" : "two") + " operands, got " +
                       std::to_string(count));
  SmallVector<Value> operands;
  for (int k = 0; k < count; ++k) {
    FailureOr<Value> v = operand(i, k, "operand " + std::to_string(k));
    if (failed(v))
      return failure();
    operands.push_back(*v);
  }
  if (!variadic && opset < 7) {
    FailureOr<Value> b = legacyBroadcast(i, operands[0], operands[1]);
    if (failed(b))
      return failure();
    operands[1] = *b;
  }
  Location loc = nodeLoc(i);
  if (count == 1)
    return operands.front();
  SmallVector<ArrayRef<int64_t>> shapes;
  for (Value v : operands)
    shapes.push_back(shapeOf(v));
  std::string why;
  if ((type == "Sum" || type == "Mean") && count > 2) {
    auto same = nn::inferAllSameShape(shapes, why);
    if (succeeded(same)) {
      if (type == "Sum")
        return nn::SumOp::create(builder, loc, tensorType(*same), operands).getResult();
      return nn::MeanOp::create(builder, loc, tensorType(*same), operands).getResult();
    }
  }
  FailureOr<Value> acc = operands.front();
  for (Value next : ArrayRef<Value>(operands).drop_front())
    if (succeeded(acc))
      acc = binary(i, type, *acc, next);
  if (succeeded(acc) && type == "Mean")
    acc = binary(i, "Mul", *acc, scalarParam(i, "inverse_count", 1.0f / static_cast<float>(count)));
  return acc;
}

/// Opsets 1 to 6: with broadcast=1, B's dimensions line up with A's from `axis` (default: the
/// trailing ones, numpy's rule); a reshape adds B's trailing 1s.
FailureOr<Value> Importer::legacyBroadcast(int i, Value a, Value b) {
  auto broadcast = intAttr(i, "broadcast", 0);
  int64_t rankA = shapeOf(a).size(), rankB = shapeOf(b).size();
  auto axis = intAttr(i, "axis", rankA - rankB);
  if (failed(broadcast) || failed(axis))
    return failure();
  if (!*broadcast || *axis == rankA - rankB)
    return b;
  int64_t start = *axis < 0 ? *axis + rankA : *axis;
  if (start < 0 || start + rankB > rankA)
    return fail(i, "axis=" + std::to_string(*axis) + " does not place B " + nn::formatShape(shapeOf(b)) +
                       " inside A " + nn::formatShape(shapeOf(a)));
  SmallVector<int64_t> shape(shapeOf(b).begin(), shapeOf(b).end());
  shape.append(rankA - start - rankB, 1);
  return reshapeTo(i, b, shape);
}

/// Relu, Sigmoid, Tanh, LeakyRelu, HardSigmoid and HardSwish: their own nn ops.
FailureOr<Value> Importer::importActivation(int i) {
  StringRef type = opType(i);
  FailureOr<Value> x = operand(i, 0, "input");
  if (failed(x))
    return failure();
  Location loc = nodeLoc(i);
  Type t = x->getType();
  if (type == "Relu")
    return nn::ReluOp::create(builder, loc, t, *x).getResult();
  if (type == "Sigmoid")
    return nn::SigmoidOp::create(builder, loc, t, *x).getResult();
  if (type == "Tanh")
    return nn::TanhOp::create(builder, loc, t, *x).getResult();
  if (type == "HardSwish")
    return nn::HardSwishOp::create(builder, loc, t, *x).getResult();
  if (type == "LeakyRelu") {
    auto alpha = floatAttr(i, "alpha", 0.01f);
    if (failed(alpha))
      return failure();
    return nn::LeakyReluOp::create(builder, loc, t, *x, llvm::APFloat(*alpha)).getResult();
  }
  assert(type == "HardSigmoid" && "op missing from importActivation");
  auto alpha = floatAttr(i, "alpha", 0.2f), beta = floatAttr(i, "beta", 0.5f);
  if (failed(alpha) || failed(beta))
    return failure();
  return nn::HardSigmoidOp::create(builder, loc, t, *x, llvm::APFloat(*alpha), llvm::APFloat(*beta)).getResult();
}

/// The ONNX ops that are one nn.unary function, with the ONNX attributes that set alpha and beta
/// (and their defaults).
struct UnaryForm {
  StringRef fn;
  StringRef alphaName = "";
  float alpha = 1.0f;
  StringRef betaName = "";
  float beta = 1.0f;
};

static const llvm::StringMap<UnaryForm> &unaryForms() {
  static const llvm::StringMap<UnaryForm> forms = {
      {"Exp", {"exp"}},           {"Log", {"log"}},
      {"Sqrt", {"sqrt"}},         {"Reciprocal", {"reciprocal"}},
      {"Neg", {"neg"}},           {"Abs", {"abs"}},
      {"Erf", {"erf"}},           {"Floor", {"floor"}},
      {"Ceil", {"ceil"}},         {"Round", {"round"}},
      {"Sign", {"sign"}},         {"Elu", {"elu", "alpha", 1.0f}},
      {"Selu", {"selu", "alpha", 1.67326319217681884765625f, "gamma", 1.05070102214813232421875f}},
      {"Celu", {"celu", "alpha", 1.0f}},
      {"Softplus", {"softplus"}}, {"Softsign", {"softsign"}},
      {"Mish", {"mish"}},         {"ThresholdedRelu", {"thresholded_relu", "alpha", 1.0f}},
      {"Gelu", {"gelu"}}};
  return forms;
}

FailureOr<Value> Importer::importUnary(int i) {
  FailureOr<Value> x = operand(i, 0, "input");
  if (failed(x))
    return failure();
  const UnaryForm &form = unaryForms().find(opType(i))->second;
  float alpha = form.alpha, beta = form.beta;
  if (!form.alphaName.empty()) {
    auto a = floatAttr(i, form.alphaName, form.alpha);
    if (failed(a))
      return failure();
    alpha = *a;
  }
  if (!form.betaName.empty()) {
    auto b = floatAttr(i, form.betaName, form.beta);
    if (failed(b))
      return failure();
    beta = *b;
  }
  StringRef fn = form.fn;
  if (opType(i) == "Gelu") {
    std::string error;
    auto approximate = attr(i, NodeAttrs(node(i)).getString("approximate", "none", error), error);
    if (failed(approximate))
      return failure();
    if (*approximate != "none" && *approximate != "tanh")
      return fail(i, "approximate='" + *approximate + "' is not one of none, tanh");
    fn = *approximate == "tanh" ? "gelu_tanh" : "gelu";
  }
  return unary(i, fn, *x, alpha, beta);
}

/// Pow: a constant scalar exponent is nn.unary pow (2 is x * x, 0.5 sqrt, 1 the input itself);
/// any other exponent nn.pow with broadcasting.
FailureOr<Value> Importer::importPow(int i) {
  FailureOr<Value> x = operand(i, 0, "base");
  if (failed(x))
    return failure();
  if (isConstant(i, 1)) {
    auto exponent = constantFloats(i, 1, "exponent");
    if (failed(exponent))
      return failure();
    if ((*exponent)->size() == 1 && shapeOf(*x).size() >= constants.find(node(i).input(1))->second->dims_size()) {
      float e = (**exponent)[0];
      if (e == 1.0f)
        return *x;
      if (e == 2.0f)
        return binary(i, "Mul", *x, *x);
      if (e == 0.5f)
        return unary(i, "sqrt", *x);
      return unary(i, "pow", *x, e);
    }
  }
  FailureOr<Value> y = operand(i, 1, "exponent");
  if (failed(y))
    return failure();
  if (opset < 7) {
    y = legacyBroadcast(i, *x, *y);
    if (failed(y))
      return failure();
  }
  return binary(i, "Pow", *x, *y);
}

/// PRelu: the slope (an initializer or a graph input) broadcasts to the input (ONNX's
/// unidirectional rule: the result has the input's shape).
FailureOr<Value> Importer::importPRelu(int i) {
  FailureOr<Value> x = operand(i, 0, "input");
  FailureOr<Value> slope = failed(x) ? x : operand(i, 1, "slope");
  if (failed(slope))
    return failure();
  FailureOr<Value> y = binary(i, "PRelu", *x, *slope);
  if (succeeded(y) && shapeOf(*y) != shapeOf(*x))
    return shapeError(i, {*x, *slope}, "the slope must broadcast to the input's shape");
  return y;
}

} // namespace kiln::onnxfe
