// ONNX importer: reading a node's operands (runtime values, constants) and attributes
// (windows, axes), and defining its results.
#include "frontends/onnx/Importer.h"

#include <cmath>
#include <limits>

namespace kiln::onnxfe {

FailureOr<Value> Importer::operand(int i, int index, StringRef role) {
  if (!hasInput(i, index)) {
    nodeError(i) << "needs its " << role << " (input " << index << ")";
    return failure();
  }
  const std::string &name = node(i).input(index);
  if (auto it = values.find(name); it != values.end())
    return it->second;
  if (constants.count(name)) {
    auto tensor = constantInput(i, index, role);
    if (failed(tensor))
      return failure();
    return param(tensor->first, std::move(tensor->second), nodeLoc(i));
  }
  return fail(i, "its " + role + " '" + name + "' is not defined by an earlier node or a model input");
}

FailureOr<std::pair<std::string, kiln::HostTensor>> Importer::constantInput(int i, int index, StringRef role) {
  if (!hasInput(i, index)) {
    nodeError(i) << "needs its " << role << " (input " << index << ")";
    return failure();
  }
  const std::string &name = node(i).input(index);
  auto it = constants.find(name);
  if (it == constants.end()) {
    InFlightDiagnostic diag = nodeError(i);
    diag << "its " << role << " '" << name << "' depends on the model's data";
    diag.attachNote() << "Kiln reads the " << role << " at import: an initializer, a Constant, or a value "
                      << "computed only from shapes and constants (folded)";
    return failure();
  }
  std::string error;
  FailureOr<kiln::HostTensor> tensor = toFloatTensor(*it->second, error);
  if (failed(tensor)) {
    nodeError(i) << "its " << role << ": " << error;
    return failure();
  }
  return std::make_pair(name, std::move(*tensor));
}

std::optional<kiln::HostTensor> Importer::floatConstant(const std::string &value) {
  auto c = constants.find(value);
  std::string error;
  FailureOr<kiln::HostTensor> t = c == constants.end() ? FailureOr<kiln::HostTensor>(failure())
                                                       : toFloatTensor(*c->second, error);
  return succeeded(t) ? std::optional<kiln::HostTensor>(std::move(*t)) : std::nullopt;
}

FailureOr<std::optional<std::vector<int64_t>>> Importer::constantInts(int i, int index, StringRef role) {
  if (!hasInput(i, index))
    return std::optional<std::vector<int64_t>>();
  auto it = constants.find(node(i).input(index));
  if (it == constants.end()) {
    InFlightDiagnostic diag = nodeError(i);
    diag << "its " << role << " '" << node(i).input(index) << "' depends on the model's data";
    diag.attachNote() << "Kiln compiles fixed shapes: the " << role << " must be a constant or computed only "
                      << "from shapes and constants (folded at import)";
    return failure();
  }
  std::string error;
  auto values = toInt64Values(*it->second, error);
  if (failed(values)) {
    nodeError(i) << "its " << role << ": " << error;
    return failure();
  }
  return std::optional<std::vector<int64_t>>(std::move(*values));
}

FailureOr<std::optional<std::vector<float>>> Importer::constantFloats(int i, int index, StringRef role) {
  if (!hasInput(i, index))
    return std::optional<std::vector<float>>();
  auto tensor = constantInput(i, index, role);
  if (failed(tensor))
    return failure();
  return std::optional<std::vector<float>>(std::move(tensor->second.data));
}

FailureOr<SmallVector<int64_t>> Importer::operandShape(int i, int index, StringRef role) {
  if (hasInput(i, index)) {
    if (auto v = values.find(node(i).input(index)); v != values.end())
      return SmallVector<int64_t>(shapeOf(v->second));
    if (auto c = constants.find(node(i).input(index)); c != constants.end()) {
      std::string error;
      auto dims = tensorDims(*c->second, error);
      if (failed(dims))
        return fail(i, error);
      return SmallVector<int64_t>(dims->begin(), dims->end());
    }
  }
  (void)operand(i, index, role); // reports the missing input
  return failure();
}

FailureOr<Value> Importer::operandAs(int i, int index, StringRef role, ArrayRef<int64_t> shape) {
  if (isConstant(i, index) && !values.count(node(i).input(index))) {
    auto tensor = constantInput(i, index, role);
    if (failed(tensor))
      return failure();
    if (tensor->second.size() != HostTensor::numElements(shape))
      return fail(i, "its " + role + " " + nn::formatShape(tensor->second.shape) + " cannot be read as " +
                         nn::formatShape(shape));
    tensor->second.shape.assign(shape.begin(), shape.end());
    return param(tensor->first, std::move(tensor->second), nodeLoc(i));
  }
  FailureOr<Value> v = operand(i, index, role);
  return failed(v) ? v : reshapeTo(i, *v, shape);
}

kiln::HostTensor permuted(const kiln::HostTensor &t, ArrayRef<int64_t> perm) {
  const size_t rank = t.shape.size();
  std::vector<int64_t> shape(rank), strides(rank, 1);
  for (size_t d = rank; d-- > 1;)
    strides[d - 1] = strides[d] * t.shape[d];
  for (size_t d = 0; d < rank; ++d)
    shape[d] = t.shape[perm[d]];
  kiln::HostTensor out(shape);
  std::vector<int64_t> index(rank, 0); // the result's index, in C order
  for (float &v : out.data) {
    int64_t from = 0;
    for (size_t d = 0; d < rank; ++d)
      from += index[d] * strides[perm[d]];
    v = t.data[from];
    for (size_t d = rank; d-- > 0 && ++index[d] == shape[d];)
      index[d] = 0;
  }
  return out;
}

FailureOr<Value> Importer::operandPermuted(int i, int index, StringRef role, ArrayRef<int64_t> perm,
                                           ArrayRef<int64_t> shape, StringRef suffix) {
  if (isConstant(i, index) && !values.count(node(i).input(index))) {
    auto tensor = constantInput(i, index, role);
    if (failed(tensor))
      return failure();
    kiln::HostTensor rearranged = permuted(tensor->second, perm);
    rearranged.shape.assign(shape.begin(), shape.end());
    return param(tensor->first + suffix.str(), std::move(rearranged), nodeLoc(i));
  }
  FailureOr<Value> v = operand(i, index, role);
  FailureOr<Value> t = failed(v) ? v : transposeBy(i, *v, perm);
  return failed(t) ? t : reshapeTo(i, *t, shape);
}

FailureOr<std::optional<std::vector<int64_t>>> Importer::axesOperand(int i, int index, int64_t inputSince) {
  if (opset >= inputSince)
    return constantInts(i, index, "axes");
  std::string error;
  return attr(i, NodeAttrs(node(i)).getInts("axes", error), error);
}

FailureOr<int64_t> Importer::intAttr(int i, StringRef name, int64_t dflt) {
  std::string error;
  return attr(i, NodeAttrs(node(i)).getInt(name, dflt, error), error);
}

FailureOr<float> Importer::floatAttr(int i, StringRef name, float dflt) {
  std::string error;
  return attr(i, NodeAttrs(node(i)).getFloat(name, dflt, error), error);
}

LogicalResult Importer::requireRank(int i, Value x, size_t rank, StringRef form) {
  if (shapeOf(x).size() == rank)
    return success();
  InFlightDiagnostic diag = nodeError(i);
  diag << "Kiln supports " << form << ", but '" << node(i).input(0) << "' is " << nn::formatShape(shapeOf(x));
  return failure();
}

LogicalResult Importer::requireUnusedOutputs(int i, int from) {
  for (int k = from; k < node(i).output_size(); ++k) {
    const std::string &out = node(i).output(k);
    if (out.empty() || (!consumers.count(out) && !graphOutputs.count(out)))
      continue;
    InFlightDiagnostic diag = nodeError(i);
    diag << "its output " << k << " '" << out << "' is used, but Kiln computes only output 0";
    diag.attachNote() << "export the model for inference (model.eval()) without this extra output";
    return failure();
  }
  return success();
}

Value Importer::scalarParam(int i, StringRef what, float value) {
  kiln::HostTensor tensor({1});
  tensor.data[0] = value;
  return param(nodeName(i) + "." + what.str(), std::move(tensor), nodeLoc(i));
}

Value Importer::param(std::string name, kiln::HostTensor tensor, Location loc) {
  // The same name must always mean the same data: a differing reuse gets a numbered name.
  std::string unique = name;
  for (int k = 1;; ++k) {
    auto it = params.find(unique);
    if (it == params.end() || (it->second.shape == tensor.shape && it->second.data == tensor.data))
      break;
    unique = name + "." + std::to_string(k);
  }
  auto type = tensorType(tensor.shape);
  params.emplace(unique, std::move(tensor));
  UnitAttr constant = isInitializerData(name) ? UnitAttr() : builder.getUnitAttr();
  return nn::ParamOp::create(builder, loc, type, builder.getStringAttr(unique), constant);
}

bool Importer::isInitializerData(StringRef name) const {
  for (StringRef base = name;;) {
    if (auto c = constants.find(base); c != constants.end())
      return llvm::any_of(graph().initializer(), [&](const onnx::TensorProto &t) { return &t == c->second; });
    auto [stem, suffix] = base.rsplit('.');
    if (suffix != "transposed" && suffix != "scaled" && suffix != "broadcast")
      return false;
    base = stem;
  }
}

LogicalResult Importer::shapeError(int i, ArrayRef<Value> inputs, StringRef why) {
  InFlightDiagnostic diag = nodeError(i);
  diag << why;
  for (auto [k, value] : llvm::enumerate(inputs))
    if (value)
      diag.attachNote(valueLoc(node(i).input(k))) << "'" << node(i).input(k) << "' is "
                                                  << nn::formatShape(shapeOf(value));
  return failure();
}

LogicalResult Importer::define(int i, Value result) {
  values[node(i).output(0)] = result;
  return success();
}

/// Identity, Dropout, a Cast to float: the output names the input's value.
FailureOr<Value> Importer::alias(int i) {
  const std::string &in = node(i).input(0);
  if (auto c = constants.find(in); c != constants.end()) {
    constants[node(i).output(0)] = c->second; // a constant under a new (usually more telling) name
    return Value();
  }
  if (scalars.count(in))
    scalars.insert(node(i).output(0));
  return operand(i, 0, "input");
}

FailureOr<int64_t> Importer::axisAttr(int i, StringRef name, int64_t dflt, int64_t rank) {
  std::string error;
  auto axis = attr(i, NodeAttrs(node(i)).getInt(name, dflt, error), error);
  if (failed(axis))
    return failure();
  if (*axis < -rank || *axis >= rank) {
    nodeError(i) << name << "=" << *axis << " is out of range for a rank-" << rank << " input; expected ["
                 << -rank << ", " << rank << ")";
    return failure();
  }
  return *axis < 0 ? *axis + rank : *axis;
}

FailureOr<Window> Importer::windowAttrs(int i, ArrayRef<int64_t> spatial,
                                        std::optional<ArrayRef<int64_t>> weightKernel) {
  NodeAttrs attrs(node(i));
  std::string error;
  const size_t dims = spatial.size();
  auto listOf = [&](StringRef name, SmallVector<int64_t> &out, bool required) -> LogicalResult {
    auto list = attr(i, attrs.getInts(name, error), error);
    if (failed(list))
      return failure();
    if (!*list)
      return required ? fail(i, "needs attribute '" + name + "'") : success();
    if ((*list)->size() != dims) {
      nodeError(i) << "attribute '" << name << "' has " << (*list)->size() << " entries; expected " << dims
                   << " for the input's " << dims << "-D window";
      return failure();
    }
    out.assign((*list)->begin(), (*list)->end());
    return success();
  };
  Window w;
  w.kernel.assign(dims, 1);
  w.strides.assign(dims, 1);
  w.dilations.assign(dims, 1);
  w.padBegin.assign(dims, 0);
  w.padEnd.assign(dims, 0);
  if (weightKernel)
    w.kernel.assign(weightKernel->begin(), weightKernel->end());
  SmallVector<int64_t> given = w.kernel;
  if (failed(listOf("kernel_shape", given, !weightKernel)) || failed(listOf("strides", w.strides, false)) ||
      failed(listOf("dilations", w.dilations, false)))
    return failure();
  if (weightKernel && given != w.kernel) {
    nodeError(i) << "kernel_shape " << nn::formatShape(given) << " disagrees with the weight's "
                 << nn::formatShape(w.kernel);
    return failure();
  }
  w.kernel = given;
  auto autoPad = attr(i, attrs.getString("auto_pad", "NOTSET", error), error);
  auto pads = attr(i, attrs.getInts("pads", error), error);
  if (failed(autoPad) || failed(pads))
    return failure();
  if (*autoPad == "NOTSET") {
    if (*pads) {
      if ((*pads)->size() != 2 * dims) {
        nodeError(i) << "attribute 'pads' has " << (*pads)->size() << " entries; expected " << 2 * dims
                     << " (the begin of each spatial axis, then each end)";
        return failure();
      }
      w.padBegin.assign((*pads)->begin(), (*pads)->begin() + dims);
      w.padEnd.assign((*pads)->begin() + dims, (*pads)->end());
    }
    return w;
  }
  if (*pads && llvm::any_of(**pads, [](int64_t p) { return p != 0; })) {
    InFlightDiagnostic diag = nodeError(i);
    diag << "sets both auto_pad=" << *autoPad << " and pads";
    diag.attachNote() << "keep one of them (ONNX forbids using both)";
    return failure();
  }
  if (*autoPad == "VALID")
    return w;
  if (*autoPad != "SAME_UPPER" && *autoPad != "SAME_LOWER") {
    nodeError(i) << "auto_pad='" << *autoPad << "' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID";
    return failure();
  }
  w.explicitPads = false;
  for (size_t a = 0; a < dims; ++a) {
    auto [lo, hi] = nn::samePadding(spatial[a], w.kernel[a], w.strides[a], w.dilations[a]);
    if (*autoPad == "SAME_LOWER")
      std::swap(lo, hi);
    w.padBegin[a] = lo;
    w.padEnd[a] = hi;
  }
  return w;
}

Pair lastTwo(ArrayRef<int64_t> values, int64_t fill) {
  size_t n = values.size();
  return n == 1 ? Pair{fill, values[0]} : Pair{values[n - 2], values[n - 1]};
}

PlaneWindow planeOf(const Window &w) {
  Pair begin = lastTwo(w.padBegin, 0), end = lastTwo(w.padEnd, 0);
  return {lastTwo(w.kernel, 1), lastTwo(w.strides, 1), lastTwo(w.dilations, 1), {begin[0], begin[1], end[0], end[1]}};
}

} // namespace kiln::onnxfe
