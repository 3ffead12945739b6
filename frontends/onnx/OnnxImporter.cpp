// ONNX model -> nn dialect (see OnnxImporter.h and docs/onnx.md). The steps, in order: read the
// file (bounded); list every unsupported op at once; refuse external data; run ONNX's checker;
// fix the input shapes; check the attributes ONNX's shape inference would trust (a zero stride
// crashes it); run ONNX shape inference; build one nn op per node after checking the dialect's
// shape rules; compare the built shapes with ONNX's. Every error names the node, its op type and
// what would fix it, and nothing is returned after one.
#include "frontends/onnx/OnnxImporter.h"
#include "frontends/onnx/OnnxModel.h"

#include "kiln/Dialect/NN/NNOps.h"
#include "kiln/Dialect/NN/ShapeRules.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

#include <onnx/checker.h>
#include <onnx/shape_inference/implementation.h>

#include <array>
#include <cmath>
#include <deque>
#include <limits>

using namespace mlir;
using namespace kiln::onnxfe;
namespace nn = kiln::nn;

namespace {

constexpr llvm::StringLiteral kNameAttr = "nn.name";
/// Opsets whose semantics of the supported ops this importer implements.
constexpr int64_t kMinOpset = 7, kMaxOpset = 17;

/// The ONNX ops this importer maps (docs/onnx.md lists their accepted forms; the conformance
/// runner tests/onnx/conformance/run_conformance.py keeps the same list).
const StringRef kSupportedOps[] = {
    "Add",         "AveragePool", "BatchNormalization", "Clip",          "Concat",   "Constant",  "Conv",
    "ConvTranspose", "Div",       "Dropout",            "Flatten",       "Gemm",     "GlobalAveragePool",
    "GlobalMaxPool", "HardSigmoid", "HardSwish",        "Identity",      "LRN",      "LeakyRelu", "LogSoftmax",
    "MatMul",      "Max",         "MaxPool",            "Mean",          "Min",      "Mul",       "Pad",
    "Relu",        "Reshape",     "Resize",             "Sigmoid",       "Softmax",  "Squeeze",   "Sub",
    "Sum",         "Tanh",        "Unsqueeze",          "Upsample"};

/// Ops whose forms Kiln reads are the same in opsets 1 to 6 as in 7 (a model of an older opset is
/// read when it uses only these).
const StringRef kSameSinceOpset1[] = {"AveragePool", "Concat",   "Constant",   "Conv",       "Flatten",
                                      "GlobalAveragePool", "GlobalMaxPool", "HardSigmoid", "Identity", "LRN",
                                      "LeakyRelu",   "LogSoftmax", "MaxPool",   "Relu",       "Sigmoid",
                                      "Softmax",     "Tanh"};

using Pair = std::array<int64_t, 2>;

/// Kernel, strides, dilations and [top, left, bottom, right] padding of a Conv or pool node.
struct Window {
  Pair kernel{1, 1}, strides{1, 1}, dilations{1, 1};
  std::array<int64_t, 4> pads{0, 0, 0, 0};
  bool explicitPads = true; ///< auto_pad is NOTSET or VALID (ceil_mode matters only then)
};

/// The operands of a Conv or ConvTranspose node: runtime input, constant 4-D weight, optional bias.
struct ConvOperands {
  Value input;
  std::pair<std::string, kiln::HostTensor> weight;
  std::optional<std::pair<std::string, kiln::HostTensor>> bias;
  std::optional<ArrayRef<int64_t>> biasShape() const {
    return bias ? std::optional<ArrayRef<int64_t>>(bias->second.shape) : std::nullopt;
  }
};

class Importer {
public:
  Importer(MLIRContext &context, const std::string &path, const kiln::OnnxImportOptions &options)
      : context(context), path(path), options(options), builder(&context),
        fileLoc(FileLineColLoc::get(&context, path, 0, 0)) {}

  OwningOpRef<ModuleOp> run();

  /// The parameters of the built module (valid after run() succeeded).
  std::map<std::string, kiln::HostTensor> params;

private:
  const onnx::GraphProto &graph() const { return model.graph(); }
  const onnx::NodeProto &node(int i) const { return graph().node(i); }
  std::string nodeName(int i) const {
    return node(i).name().empty() ? node(i).op_type() + "_" + std::to_string(i) : node(i).name();
  }
  Location nodeLoc(int i) { return NameLoc::get(StringAttr::get(&context, nodeName(i)), fileLoc); }
  Location valueLoc(StringRef name) { return NameLoc::get(StringAttr::get(&context, name), fileLoc); }
  /// "error: Conv 'conv1': ..." at the node.
  InFlightDiagnostic nodeError(int i) {
    InFlightDiagnostic diag = emitError(nodeLoc(i));
    diag << node(i).op_type() << " '" << nodeName(i) << "': ";
    return diag;
  }
  LogicalResult fileError(const std::string &message) {
    emitError(fileLoc) << message;
    return failure();
  }

  RankedTensorType tensorType(ArrayRef<int64_t> shape) {
    return RankedTensorType::get(shape, Float32Type::get(&context));
  }
  static ArrayRef<int64_t> shapeOf(Value v) { return cast<RankedTensorType>(v.getType()).getShape(); }

  // Steps of run(), in order.
  LogicalResult checkOpsets();
  LogicalResult checkSupportedOps();
  LogicalResult checkExternalData();
  LogicalResult runChecker();
  LogicalResult collectConstants();
  LogicalResult setUpInputs(SmallVectorImpl<Type> &argTypes, SmallVectorImpl<std::string> &argNames);
  LogicalResult checkAttributes(int i);
  LogicalResult runShapeInference();
  LogicalResult importNode(int i);
  LogicalResult compareWithOnnxShapes();

  // Operands.
  FailureOr<Value> runtimeInput(int i, int index, StringRef role);
  FailureOr<std::pair<std::string, kiln::HostTensor>> constantInput(int i, int index, StringRef role);
  /// An integer constant input (a shape, axes, pads), or nullopt when the input is absent.
  FailureOr<std::optional<std::vector<int64_t>>> constantInts(int i, int index, StringRef role);
  /// A float constant input (scales, a clip bound), or nullopt when the input is absent.
  FailureOr<std::optional<std::vector<float>>> constantFloats(int i, int index, StringRef role);
  /// A computed value, or a constant operand as an nn.param (elementwise ops).
  FailureOr<Value> valueOrParam(int i, int index, StringRef role);
  bool hasInput(int i, int index) const { return node(i).input_size() > index && !node(i).input(index).empty(); }
  LogicalResult requireRank(int i, Value x, size_t rank, StringRef form);
  LogicalResult requireUnusedOutputs(int i, int from);
  Value param(std::string name, kiln::HostTensor tensor, Location loc);
  LogicalResult shapeError(int i, ArrayRef<Value> inputs, StringRef why);
  LogicalResult define(int i, Value result);
  LogicalResult alias(int i);

  // Attributes.
  template <typename T>
  FailureOr<T> attr(int i, FailureOr<T> value, const std::string &error) {
    if (failed(value))
      nodeError(i) << error << " (see the ONNX operator specification)";
    return value;
  }
  FailureOr<Window> windowAttrs(int i, ArrayRef<int64_t> input, std::optional<Pair> weightKernel);
  FailureOr<int64_t> axisAttr(int i, StringRef name, int64_t dflt, int64_t rank);

  // Op groups.
  FailureOr<ConvOperands> convOperands(int i, StringRef form, StringRef weightLayout);
  FailureOr<Value> importConv(int i);
  FailureOr<Value> importPool(int i);
  FailureOr<Value> importBatchNorm(int i);
  FailureOr<Value> importSoftmax(int i);
  FailureOr<Value> importGemm(int i);
  FailureOr<Value> importMatMul(int i);
  FailureOr<Value> importReshape(int i, bool flatten);
  FailureOr<Value> importConstant(int i);
  FailureOr<Value> importConvTranspose(int i);
  FailureOr<Value> importResize(int i);
  FailureOr<Value> importPad(int i);
  FailureOr<Value> importClip(int i);
  FailureOr<Value> importElementwise(int i);
  FailureOr<Value> importSqueeze(int i, bool unsqueeze);
  FailureOr<Value> importActivation(int i);
  /// nn.reshape to `target`, or the input itself when the shape does not change.
  FailureOr<Value> reshapeTo(int i, Value x, ArrayRef<int64_t> target);

  MLIRContext &context;
  const std::string &path;
  const kiln::OnnxImportOptions &options;
  OpBuilder builder;
  Location fileLoc;
  onnx::ModelProto model;
  int64_t opset = 0;

  llvm::StringMap<Value> values;                              ///< computed values by ONNX name
  llvm::StringMap<const onnx::TensorProto *> constants;       ///< initializers, Constant outputs
  std::deque<onnx::TensorProto> ownedConstants;               ///< Constant nodes' scalar/list forms
  llvm::StringMap<int> producers;                             ///< node index of each node output
  llvm::StringMap<SmallVector<int, 2>> consumers;             ///< node indices reading each value
  llvm::StringSet<> graphOutputs;
  llvm::DenseSet<int> fusedNodes;                             ///< Adds folded into a MatMul's dense
};

//===----------------------------------------------------------------------===//
// Steps before building
//===----------------------------------------------------------------------===//

LogicalResult Importer::checkOpsets() {
  for (const onnx::OperatorSetIdProto &set : model.opset_import())
    if (set.domain().empty() || set.domain() == "ai.onnx")
      opset = set.version();
  if (opset >= kMinOpset && opset <= kMaxOpset)
    return success();
  // Before opset 7 the arithmetic ops had their own broadcast attributes and several others
  // other forms; a model using only ops unchanged since then is read as it is.
  auto unchangedSince1 = [](const onnx::NodeProto &n) {
    return llvm::is_contained(kSameSinceOpset1, StringRef(n.op_type()));
  };
  if (opset >= 1 && opset < kMinOpset && llvm::all_of(graph().node(), unchangedSince1))
    return success();
  InFlightDiagnostic diag = emitError(fileLoc);
  if (opset == 0)
    diag << "the model imports no ONNX opset";
  else
    diag << "the model uses ONNX opset " << opset << "; Kiln reads opsets " << kMinOpset << " to " << kMaxOpset;
  diag.attachNote() << "re-export it with an opset in that range, e.g. torch.onnx.export(..., opset_version=13)";
  return failure();
}

LogicalResult Importer::checkSupportedOps() {
  std::vector<std::pair<std::string, SmallVector<std::string>>> unsupported; // in order of first use
  int first = -1;
  for (int i = 0; i < graph().node_size(); ++i) {
    const onnx::NodeProto &n = node(i);
    bool onnxDomain = n.domain().empty() || n.domain() == "ai.onnx";
    if (onnxDomain && llvm::is_contained(kSupportedOps, StringRef(n.op_type())))
      continue;
    std::string type = onnxDomain ? n.op_type() : n.domain() + "." + n.op_type();
    auto it = llvm::find_if(unsupported, [&](const auto &entry) { return entry.first == type; });
    if (it == unsupported.end())
      it = unsupported.insert(it, {type, {}});
    it->second.push_back(nodeName(i));
    if (first < 0)
      first = i;
  }
  if (unsupported.empty())
    return success();
  InFlightDiagnostic diag = emitError(nodeLoc(first));
  diag << "the model uses ONNX ops Kiln does not support (opset " << opset << "): ";
  bool firstType = true;
  for (auto &[type, names] : unsupported) {
    diag << (firstType ? "" : "; ") << type << " (used by ";
    firstType = false;
    for (size_t k = 0; k < names.size(); ++k) {
      if (k == 5) {
        diag << " and " << names.size() - 5 << " more";
        break;
      }
      diag << (k ? ", " : "") << "'" << names[k] << "'";
    }
    diag << ")";
  }
  std::string supported;
  for (StringRef op : kSupportedOps)
    supported += (supported.empty() ? "" : ", ") + op.str();
  diag.attachNote() << "Kiln imports: " << supported << " (docs/onnx.md lists the attribute forms)";
  return failure();
}

LogicalResult Importer::checkExternalData() {
  auto externalError = [&](const std::string &tensor) {
    InFlightDiagnostic diag = emitError(fileLoc);
    diag << "external data not supported: tensor '" << tensor << "' is stored outside the model file";
    diag.attachNote() << "save the model with its weights inside the file, e.g. onnx.save(model, path, "
                         "save_as_external_data=False) (models of 2 GiB or more cannot be imported)";
    return failure();
  };
  for (const onnx::TensorProto &t : graph().initializer())
    if (hasExternalData(t))
      return externalError(t.name());
  for (const onnx::NodeProto &n : graph().node())
    for (const onnx::AttributeProto &a : n.attribute())
      if (a.has_t() && hasExternalData(a.t()))
        return externalError(n.output_size() ? n.output(0) : n.name());
  if (graph().sparse_initializer_size())
    return fileError("sparse initializers ('" + graph().sparse_initializer(0).values().name() +
                     "') are not supported; store the tensor dense");
  return success();
}

LogicalResult Importer::runChecker() {
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception &e) {
    InFlightDiagnostic diag = emitError(fileLoc);
    diag << "the ONNX checker rejects the model: " << e.what();
    diag.attachNote() << "the file is not a valid ONNX model; re-export it, or run onnx.checker.check_model on it";
    return failure();
  }
  return success();
}

LogicalResult Importer::collectConstants() {
  for (const onnx::TensorProto &t : graph().initializer()) {
    std::string error;
    if (failed(tensorDims(t, error)))
      return fileError("initializer " + error);
    constants[t.name()] = &t;
  }
  for (int i = 0; i < graph().node_size(); ++i) {
    for (const std::string &in : node(i).input())
      if (!in.empty())
        consumers[in].push_back(i);
    for (const std::string &out : node(i).output())
      if (!out.empty())
        producers[out] = i;
  }
  for (const onnx::ValueInfoProto &out : graph().output())
    graphOutputs.insert(out.name());
  return success();
}

LogicalResult Importer::setUpInputs(SmallVectorImpl<Type> &argTypes, SmallVectorImpl<std::string> &argNames) {
  if (options.batch && *options.batch < 1)
    return fileError("batch size must be positive, got " + std::to_string(*options.batch));
  for (onnx::ValueInfoProto &input : *model.mutable_graph()->mutable_input()) {
    if (constants.count(input.name())) // an initializer with a default: a constant, not an input
      continue;
    const std::string &name = input.name();
    auto inputError = [&](const std::string &what, const std::string &fix) {
      InFlightDiagnostic diag = emitError(valueLoc(name));
      diag << "input '" << name << "' " << what;
      diag.attachNote() << fix;
      return failure();
    };
    if (!input.type().has_tensor_type())
      return inputError("is not a tensor", "Kiln compiles models whose inputs are float32 tensors");
    onnx::TypeProto_Tensor *tensor = input.mutable_type()->mutable_tensor_type();
    if (tensor->elem_type() != onnx::TensorProto::FLOAT)
      return inputError("is " + dataTypeName(tensor->elem_type()),
                        "Kiln compiles float32 models; export the model in float32");
    if (!tensor->has_shape() || tensor->shape().dim_size() == 0)
      return inputError("has no shape", "export the model with a fixed input shape (e.g. 1x3x224x224)");
    SmallVector<int64_t> shape;
    for (int d = 0; d < tensor->shape().dim_size(); ++d) {
      onnx::TensorShapeProto_Dimension *dim = tensor->mutable_shape()->mutable_dim(d);
      if (d == 0 && options.batch) {
        dim->set_dim_value(*options.batch);
      } else if (!dim->has_dim_value() || dim->dim_value() < 1) {
        std::string symbol = dim->has_dim_param() ? " ('" + dim->dim_param() + "')" : "";
        if (dim->has_dim_value())
          return inputError("has dimension " + std::to_string(d) + " of size " + std::to_string(dim->dim_value()),
                            "every dimension must be positive");
        if (d == 0)
          return inputError("has a dynamic dimension 0" + symbol + "; pass --batch N",
                            "Kiln compiles a fixed batch size; --batch N (OnnxImportOptions::batch) sets it");
        return inputError("has a dynamic dimension " + std::to_string(d) + symbol,
                          "Kiln compiles fixed shapes; re-export the model without dynamic_axes on this "
                          "dimension (only dimension 0 can be set at import, with --batch)");
      }
      shape.push_back(dim->dim_value());
    }
    int64_t count = 1;
    for (int64_t d : shape) {
      if (count > kMaxElements / d)
        return inputError("has more than 2^31 elements (" + nn::formatShape(shape) + ")",
                          "use a smaller input shape");
      count *= d;
    }
    argTypes.push_back(tensorType(shape));
    argNames.push_back(name);
  }
  if (argTypes.empty())
    return fileError("the model has no inputs (every graph input is an initializer)");
  if (options.batch) {
    // Shapes recorded by the exporter name the old batch size; let ONNX infer them again.
    model.mutable_graph()->clear_value_info();
    for (onnx::ValueInfoProto &out : *model.mutable_graph()->mutable_output())
      if (out.type().has_tensor_type())
        out.mutable_type()->mutable_tensor_type()->clear_shape();
  }
  return success();
}

/// Checks the attributes ONNX's shape inference uses without checking (a zero stride divides
/// by zero there). The full per-op checks come with building; these only keep inference safe.
LogicalResult Importer::checkAttributes(int i) {
  for (const onnx::AttributeProto &a : node(i).attribute()) {
    StringRef name = a.name();
    bool positive = name == "strides" || name == "dilations" || name == "kernel_shape";
    if (!positive && name != "pads")
      continue;
    for (int64_t v : a.ints())
      if (positive ? v < 1 : v < 0) {
        InFlightDiagnostic diag = nodeError(i);
        diag << "attribute '" << name << "' has " << v << "; every entry must be "
             << (positive ? "a positive integer" : "non-negative");
        return failure();
      }
  }
  if (node(i).op_type() == "Conv" || node(i).op_type() == "Gemm") {
    std::string error;
    auto group = attr(i, NodeAttrs(node(i)).getInt("group", 1, error), error);
    if (failed(group))
      return failure();
    if (*group < 1) {
      nodeError(i) << "group=" << *group << " must be a positive integer";
      return failure();
    }
  }
  return success();
}

LogicalResult Importer::runShapeInference() {
  try {
    onnx::shape_inference::InferShapes(model);
  } catch (const std::exception &e) {
    InFlightDiagnostic diag = emitError(fileLoc);
    diag << "ONNX shape inference fails: " << e.what();
    diag.attachNote() << "the shapes recorded in the model contradict its ops; re-export it";
    return failure();
  }
  return success();
}

/// A mismatch means either the model or this importer is wrong; either way nothing is built.
LogicalResult Importer::compareWithOnnxShapes() {
  auto compare = [&](const onnx::ValueInfoProto &info) -> LogicalResult {
    auto it = values.find(info.name());
    if (it == values.end() || !info.type().has_tensor_type() || !info.type().tensor_type().has_shape())
      return success();
    SmallVector<int64_t> onnxShape;
    for (const auto &dim : info.type().tensor_type().shape().dim()) {
      if (!dim.has_dim_value())
        return success();
      onnxShape.push_back(dim.dim_value());
    }
    ArrayRef<int64_t> ours = shapeOf(it->second);
    if (ours == ArrayRef<int64_t>(onnxShape))
      return success();
    auto producer = producers.find(info.name());
    Location loc = producer != producers.end() ? nodeLoc(producer->second) : valueLoc(info.name());
    InFlightDiagnostic diag = emitError(loc);
    diag << "value '" << info.name() << "' is " << nn::formatShape(ours) << " in Kiln but "
         << nn::formatShape(onnxShape) << " by ONNX shape inference";
    diag.attachNote() << "the model's recorded shapes disagree with its ops; re-export it (if it is valid, "
                         "please report this as a Kiln bug)";
    return failure();
  };
  for (const onnx::ValueInfoProto &info : graph().value_info())
    if (failed(compare(info)))
      return failure();
  for (const onnx::ValueInfoProto &info : graph().output())
    if (failed(compare(info)))
      return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// Operands and attributes
//===----------------------------------------------------------------------===//

FailureOr<Value> Importer::runtimeInput(int i, int index, StringRef role) {
  if (!hasInput(i, index)) {
    nodeError(i) << "needs its " << role << " (input " << index << ")";
    return failure();
  }
  const std::string &name = node(i).input(index);
  auto it = values.find(name);
  if (it != values.end())
    return it->second;
  InFlightDiagnostic diag = nodeError(i);
  if (constants.count(name)) {
    diag << "its " << role << " '" << name << "' is a constant";
    diag.attachNote() << "Kiln expects a value computed from the model inputs here; fold the constant "
                         "computation away before exporting (torch.onnx.export(..., do_constant_folding=True))";
  } else {
    diag << "its " << role << " '" << name << "' is not defined by an earlier node or a model input";
  }
  return failure();
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
    diag << "its " << role << " '" << name << "' is computed at run time";
    diag.attachNote() << "Kiln compiles weights into the library: the " << role
                      << " must be an initializer or a Constant";
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

FailureOr<std::optional<std::vector<int64_t>>> Importer::constantInts(int i, int index, StringRef role) {
  if (!hasInput(i, index))
    return std::optional<std::vector<int64_t>>();
  auto it = constants.find(node(i).input(index));
  if (it == constants.end()) {
    InFlightDiagnostic diag = nodeError(i);
    diag << "its " << role << " '" << node(i).input(index) << "' is computed at run time";
    diag.attachNote() << "Kiln compiles fixed shapes: the " << role << " must be an initializer or a Constant "
                      << "(export with do_constant_folding=True and without dynamic_axes)";
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

FailureOr<Value> Importer::valueOrParam(int i, int index, StringRef role) {
  if (hasInput(i, index) && !values.count(node(i).input(index)) && constants.count(node(i).input(index))) {
    auto tensor = constantInput(i, index, role);
    if (failed(tensor))
      return failure();
    return param(tensor->first, std::move(tensor->second), nodeLoc(i));
  }
  return runtimeInput(i, index, role);
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
  return nn::ParamOp::create(builder, loc, type, builder.getStringAttr(unique));
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

/// Identity, Dropout, and Reshape to the same shape: the output names the input's value.
LogicalResult Importer::alias(int i) {
  const std::string &in = node(i).input(0);
  if (auto c = constants.find(in); c != constants.end()) {
    constants[node(i).output(0)] = c->second; // a constant under a new (usually more telling) name
    return success();
  }
  FailureOr<Value> x = runtimeInput(i, 0, "input");
  if (failed(x))
    return failure();
  return define(i, *x);
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

FailureOr<Window> Importer::windowAttrs(int i, ArrayRef<int64_t> input, std::optional<Pair> weightKernel) {
  NodeAttrs attrs(node(i));
  std::string error;
  auto pairOf = [&](StringRef name, Pair &out, bool required) -> LogicalResult {
    auto list = attr(i, attrs.getInts(name, error), error);
    if (failed(list))
      return failure();
    if (!*list) {
      if (required) {
        nodeError(i) << "needs attribute '" << name << "'";
        return failure();
      }
      return success();
    }
    if ((*list)->size() != 2) {
      nodeError(i) << "attribute '" << name << "' has " << (*list)->size()
                   << " entries; Kiln supports 2-D windows [h, w] only";
      return failure();
    }
    out = {(**list)[0], (**list)[1]};
    return success();
  };
  Window w;
  if (weightKernel)
    w.kernel = *weightKernel;
  Pair given = w.kernel;
  if (failed(pairOf("kernel_shape", given, !weightKernel)) || failed(pairOf("strides", w.strides, false)) ||
      failed(pairOf("dilations", w.dilations, false)))
    return failure();
  if (weightKernel && given != *weightKernel) {
    nodeError(i) << "kernel_shape " << given[0] << "x" << given[1] << " disagrees with the weight's "
                 << (*weightKernel)[0] << "x" << (*weightKernel)[1];
    return failure();
  }
  w.kernel = given;
  auto autoPad = attr(i, attrs.getString("auto_pad", "NOTSET", error), error);
  auto pads = attr(i, attrs.getInts("pads", error), error);
  if (failed(autoPad) || failed(pads))
    return failure();
  if (*autoPad == "NOTSET") {
    if (*pads) {
      if ((*pads)->size() != 4) {
        nodeError(i) << "attribute 'pads' has " << (*pads)->size()
                     << " entries; expected 4 [top, left, bottom, right] for a 2-D window";
        return failure();
      }
      std::copy((*pads)->begin(), (*pads)->end(), w.pads.begin());
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
  for (int k = 0; k < 2; ++k) {
    auto [lo, hi] = nn::samePadding(input[2 + k], w.kernel[k], w.strides[k], w.dilations[k]);
    if (*autoPad == "SAME_LOWER")
      std::swap(lo, hi);
    w.pads[k] = lo;
    w.pads[k + 2] = hi;
  }
  return w;
}

//===----------------------------------------------------------------------===//
// Ops
//===----------------------------------------------------------------------===//

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

FailureOr<Value> Importer::importPool(int i) {
  bool isMax = node(i).op_type() == "MaxPool";
  FailureOr<Value> x = runtimeInput(i, 0, "input");
  if (failed(x) || failed(requireRank(i, *x, 4, "2-D pooling of a 4-D input [N, C, H, W]")) ||
      failed(requireUnusedOutputs(i, 1)))
    return failure();
  NodeAttrs attrs(node(i));
  std::string error;
  auto window = windowAttrs(i, shapeOf(*x), std::nullopt);
  auto ceilMode = attr(i, attrs.getInt("ceil_mode", 0, error), error);
  auto countPad = attr(i, attrs.getInt("count_include_pad", 0, error), error);
  if (failed(window) || failed(ceilMode) || failed(countPad))
    return failure();
  if (window->dilations != Pair{1, 1}) {
    nodeError(i) << "dilations " << window->dilations[0] << "x" << window->dilations[1]
                 << " are not supported for pooling; Kiln pools over dense windows";
    return failure();
  }
  // ceil_mode only matters with explicit pads: auto_pad SAME already gives ceil(in / stride).
  bool ceil = *ceilMode && window->explicitPads;
  std::string why;
  auto shape = nn::inferPool2DShape(shapeOf(*x), window->kernel, window->strides, window->pads, why, ceil);
  if (failed(shape))
    return shapeError(i, {*x}, why);
  Location loc = nodeLoc(i);
  if (isMax)
    return nn::MaxPool2DOp::create(builder, loc, tensorType(*shape), *x, ArrayRef<int64_t>(window->kernel),
                                   ArrayRef<int64_t>(window->strides), ArrayRef<int64_t>(window->pads), ceil)
        .getResult();
  return nn::AvgPool2DOp::create(builder, loc, tensorType(*shape), *x, ArrayRef<int64_t>(window->kernel),
                                 ArrayRef<int64_t>(window->strides), ArrayRef<int64_t>(window->pads),
                                 *countPad != 0, ceil)
      .getResult();
}

FailureOr<Value> Importer::importBatchNorm(int i) {
  FailureOr<Value> x = runtimeInput(i, 0, "input");
  if (failed(x) || failed(requireUnusedOutputs(i, 1)))
    return failure();
  NodeAttrs attrs(node(i));
  std::string error;
  auto epsilon = attr(i, attrs.getFloat("epsilon", 1e-5f, error), error);
  auto training = attr(i, attrs.getInt("training_mode", 0, error), error);
  auto spatial = attr(i, attrs.getInt("spatial", 1, error), error);
  if (failed(epsilon) || failed(training) || failed(spatial))
    return failure();
  if (*training || !*spatial) {
    nodeError(i) << (*training ? "training_mode=1" : "spatial=0") << " is not supported";
    return failure();
  }
  if (!(*epsilon >= 0.0f) || !std::isfinite(*epsilon)) {
    nodeError(i) << "epsilon=" << *epsilon << " must be a non-negative number";
    return failure();
  }
  static const StringRef kRoles[] = {"scale", "bias (B)", "mean", "variance"};
  SmallVector<std::pair<std::string, kiln::HostTensor>, 4> stats;
  for (int k = 0; k < 4; ++k) {
    auto stat = constantInput(i, k + 1, kRoles[k]);
    if (failed(stat))
      return failure();
    stats.push_back(std::move(*stat));
  }
  if (shapeOf(*x).size() < 2)
    return shapeError(i, {*x}, "expected an input of rank >= 2 with channels on dimension 1");
  SmallVector<ArrayRef<int64_t>, 4> statShapes;
  for (auto &s : stats)
    statShapes.push_back(s.second.shape);
  std::string why;
  auto shape = nn::inferBatchNormShape(shapeOf(*x), statShapes, why);
  if (failed(shape))
    return shapeError(i, {*x}, why);
  Location loc = nodeLoc(i);
  SmallVector<Value, 4> p;
  for (auto &s : stats)
    p.push_back(param(s.first, std::move(s.second), loc));
  return nn::BatchNormOp::create(builder, loc, tensorType(*shape), *x, p[0], p[1], p[2], p[3],
                                 llvm::APFloat(*epsilon))
      .getResult();
}

FailureOr<Value> Importer::importSoftmax(int i) {
  FailureOr<Value> x = runtimeInput(i, 0, "input");
  if (failed(x))
    return failure();
  ArrayRef<int64_t> in = shapeOf(*x);
  auto axis = axisAttr(i, "axis", opset < 13 ? 1 : -1, in.size());
  if (failed(axis))
    return failure();
  if (opset < 13) {
    // Before opset 13 Softmax normalises over dims axis..rank-1 taken together; that is one
    // per-axis softmax when at most one of those dims is larger than 1.
    SmallVector<int64_t> wide;
    for (int64_t d = *axis; d < static_cast<int64_t>(in.size()); ++d)
      if (in[d] > 1)
        wide.push_back(d);
    if (wide.size() > 1) {
      InFlightDiagnostic diag = nodeError(i);
      diag << "in opset " << opset << " " << node(i).op_type() << " normalises over dimensions " << *axis
           << " to " << in.size() - 1 << " of " << nn::formatShape(in)
           << " together; Kiln's softmax works along one axis";
      diag.attachNote() << "export with opset 13 or later (softmax along one axis), or flatten the input first";
      return failure();
    }
    if (!wide.empty())
      *axis = wide.front();
  }
  if (node(i).op_type() == "LogSoftmax")
    return nn::LogSoftmaxOp::create(builder, nodeLoc(i), x->getType(), *x, uint64_t(*axis)).getResult();
  return nn::SoftmaxOp::create(builder, nodeLoc(i), x->getType(), *x, uint64_t(*axis)).getResult();
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

/// Resize (opsets 10, 11+) and Upsample (7: scales attribute, 9: scales input) of the H x W plane:
/// `nearest` with asymmetric coordinates and floor rounding (PyTorch's nearest export), or
/// `linear` with half_pixel / pytorch_half_pixel / align_corners coordinates (bilinear).
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

/// Clip: min and max are attributes before opset 11, optional constant inputs after.
FailureOr<Value> Importer::importClip(int i) {
  FailureOr<Value> x = runtimeInput(i, 0, "input");
  if (failed(x))
    return failure();
  float lo = -std::numeric_limits<float>::infinity(), hi = std::numeric_limits<float>::infinity();
  if (opset < 11) {
    NodeAttrs attrs(node(i));
    std::string error;
    auto a = attr(i, attrs.getFloat("min", lo, error), error);
    auto b = attr(i, attrs.getFloat("max", hi, error), error);
    if (failed(a) || failed(b))
      return failure();
    lo = *a;
    hi = *b;
  } else {
    for (int k = 1; k <= 2; ++k) {
      auto bound = constantFloats(i, k, k == 1 ? "min" : "max");
      if (failed(bound))
        return failure();
      if (*bound && (*bound)->size() != 1) {
        nodeError(i) << "its " << (k == 1 ? "min" : "max") << " must be one value";
        return failure();
      }
      if (*bound)
        (k == 1 ? lo : hi) = (**bound)[0];
    }
  }
  if (!(lo <= hi)) {
    nodeError(i) << "min " << lo << " is larger than max " << hi;
    return failure();
  }
  return nn::ClipOp::create(builder, nodeLoc(i), x->getType(), *x, llvm::APFloat(lo), llvm::APFloat(hi))
      .getResult();
}

/// Add, Sub, Mul, Div (two operands) and Max, Min, Sum, Mean (one or more), with numpy
/// broadcasting; a constant operand becomes an nn.param.
FailureOr<Value> Importer::importElementwise(int i) {
  StringRef type = node(i).op_type();
  bool variadic = type == "Max" || type == "Min" || type == "Sum" || type == "Mean";
  int count = node(i).input_size();
  if (variadic ? count < 1 : count != 2) {
    nodeError(i) << "expected " << (variadic ? "one or more" : "two") << " operands, got " << count;
    return failure();
  }
  SmallVector<Value> operands;
  bool anyComputed = false;
  for (int k = 0; k < count; ++k) {
    anyComputed |= values.count(node(i).input(k)) > 0;
    FailureOr<Value> v = valueOrParam(i, k, "operand " + std::to_string(k));
    if (failed(v))
      return failure();
    operands.push_back(*v);
  }
  if (!anyComputed) {
    InFlightDiagnostic diag = nodeError(i);
    diag << "every operand is a constant";
    diag.attachNote() << "fold constant computations before exporting (torch.onnx.export(..., "
                         "do_constant_folding=True))";
    return failure();
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
  Value acc = operands.front();
  for (Value next : ArrayRef<Value>(operands).drop_front()) {
    auto shape = nn::inferBroadcastShape(shapeOf(acc), shapeOf(next), why);
    if (failed(shape))
      return shapeError(i, operands, why);
    Type t = tensorType(*shape);
    if (type == "Add" || type == "Sum" || type == "Mean")
      acc = nn::AddOp::create(builder, loc, t, acc, next);
    else if (type == "Sub")
      acc = nn::SubOp::create(builder, loc, t, acc, next);
    else if (type == "Mul")
      acc = nn::MulOp::create(builder, loc, t, acc, next);
    else if (type == "Div")
      acc = nn::DivOp::create(builder, loc, t, acc, next);
    else if (type == "Max")
      acc = nn::MaxOp::create(builder, loc, t, acc, next);
    else
      acc = nn::MinOp::create(builder, loc, t, acc, next);
  }
  if (type == "Mean") {
    kiln::HostTensor inverse({1});
    inverse.data[0] = 1.0f / static_cast<float>(count);
    Value scale = param(nodeName(i) + ".inverse_count", std::move(inverse), loc);
    acc = nn::MulOp::create(builder, loc, acc.getType(), acc, scale);
  }
  return acc;
}

/// The one-input ops without weights: Relu, Sigmoid, Tanh, LeakyRelu, HardSigmoid, HardSwish,
/// LRN and GlobalMaxPool.
FailureOr<Value> Importer::importActivation(int i) {
  StringRef type = node(i).op_type();
  FailureOr<Value> x = runtimeInput(i, 0, "input");
  if (failed(x))
    return failure();
  Location loc = nodeLoc(i);
  Type t = x->getType();
  NodeAttrs attrs(node(i));
  std::string error;
  if (type == "Relu")
    return nn::ReluOp::create(builder, loc, t, *x).getResult();
  if (type == "Sigmoid")
    return nn::SigmoidOp::create(builder, loc, t, *x).getResult();
  if (type == "Tanh")
    return nn::TanhOp::create(builder, loc, t, *x).getResult();
  if (type == "HardSwish")
    return nn::HardSwishOp::create(builder, loc, t, *x).getResult();
  if (type == "LeakyRelu") {
    auto alpha = attr(i, attrs.getFloat("alpha", 0.01f, error), error);
    if (failed(alpha))
      return failure();
    return nn::LeakyReluOp::create(builder, loc, t, *x, llvm::APFloat(*alpha)).getResult();
  }
  if (type == "HardSigmoid") {
    auto alpha = attr(i, attrs.getFloat("alpha", 0.2f, error), error);
    auto beta = attr(i, attrs.getFloat("beta", 0.5f, error), error);
    if (failed(alpha) || failed(beta))
      return failure();
    return nn::HardSigmoidOp::create(builder, loc, t, *x, llvm::APFloat(*alpha), llvm::APFloat(*beta)).getResult();
  }
  if (failed(requireRank(i, *x, 4, (type + " on a 4-D input [N, C, H, W]").str())))
    return failure();
  std::string why;
  if (type == "GlobalMaxPool" || type == "GlobalAveragePool") {
    auto shape = nn::inferGlobalPoolShape(shapeOf(*x), why);
    if (failed(shape))
      return shapeError(i, {*x}, why);
    if (type == "GlobalMaxPool")
      return nn::GlobalMaxPoolOp::create(builder, loc, tensorType(*shape), *x).getResult();
    return nn::GlobalAvgPoolOp::create(builder, loc, tensorType(*shape), *x).getResult();
  }
  assert(type == "LRN" && "op missing from importActivation");
  auto size = attr(i, attrs.getInt("size", 0, error), error);
  auto alpha = attr(i, attrs.getFloat("alpha", 1e-4f, error), error);
  auto beta = attr(i, attrs.getFloat("beta", 0.75f, error), error);
  auto bias = attr(i, attrs.getFloat("bias", 1.0f, error), error);
  if (failed(size) || failed(alpha) || failed(beta) || failed(bias))
    return failure();
  auto shape = nn::inferLRNShape(shapeOf(*x), *size, why);
  if (failed(shape))
    return shapeError(i, {*x}, why);
  return nn::LRNOp::create(builder, loc, tensorType(*shape), *x, uint64_t(*size), llvm::APFloat(*alpha),
                           llvm::APFloat(*beta), llvm::APFloat(*bias))
      .getResult();
}

LogicalResult Importer::importNode(int i) {
  const onnx::NodeProto &n = node(i);
  StringRef type = n.op_type();
  if (fusedNodes.count(i))
    return success();
  if (n.output_size() < 1 || n.output(0).empty()) {
    nodeError(i) << "has no output";
    return failure();
  }
  if (type == "Constant")
    return importConstant(i);
  if (type == "Identity")
    return alias(i);
  if (type == "Dropout") {
    if (failed(requireUnusedOutputs(i, 1)))
      return failure();
    if (hasInput(i, 2)) {
      auto mode = constants.find(n.input(2));
      std::string error;
      FailureOr<std::vector<int64_t>> flags =
          mode == constants.end() ? FailureOr<std::vector<int64_t>>(failure()) : toInt64Values(*mode->second, error);
      if (failed(flags) || llvm::any_of(*flags, [](int64_t v) { return v != 0; })) {
        nodeError(i) << "training_mode must be a constant false (Kiln compiles inference)";
        return failure();
      }
    }
    return alias(i);
  }

  FailureOr<Value> result;
  Location loc = nodeLoc(i);
  if (type == "Conv") {
    result = importConv(i);
  } else if (type == "ConvTranspose") {
    result = importConvTranspose(i);
  } else if (type == "MaxPool" || type == "AveragePool") {
    result = importPool(i);
  } else if (type == "BatchNormalization") {
    result = importBatchNorm(i);
  } else if (llvm::is_contained({"Relu", "Sigmoid", "Tanh", "LeakyRelu", "HardSigmoid", "HardSwish", "LRN",
                                 "GlobalMaxPool", "GlobalAveragePool"},
                                type)) {
    result = importActivation(i);
  } else if (type == "Softmax" || type == "LogSoftmax") {
    result = importSoftmax(i);
  } else if (type == "Gemm") {
    result = importGemm(i);
  } else if (type == "MatMul") {
    result = importMatMul(i);
  } else if (type == "Flatten" || type == "Reshape") {
    result = importReshape(i, type == "Flatten");
  } else if (type == "Squeeze" || type == "Unsqueeze") {
    result = importSqueeze(i, type == "Unsqueeze");
  } else if (type == "Resize" || type == "Upsample") {
    result = importResize(i);
  } else if (type == "Pad") {
    result = importPad(i);
  } else if (type == "Clip") {
    result = importClip(i);
  } else if (llvm::is_contained({"Add", "Sub", "Mul", "Div", "Max", "Min", "Sum", "Mean"}, type)) {
    result = importElementwise(i);
  } else {
    assert(type == "Concat" && "op missing from importNode");
    SmallVector<Value> inputs;
    SmallVector<ArrayRef<int64_t>> shapes;
    for (int k = 0; k < n.input_size(); ++k) {
      FailureOr<Value> v = runtimeInput(i, k, "input " + std::to_string(k));
      if (failed(v))
        return failure();
      inputs.push_back(*v);
      shapes.push_back(shapeOf(*v));
    }
    if (inputs.empty()) {
      nodeError(i) << "needs at least one input";
      return failure();
    }
    auto axis = axisAttr(i, "axis", 1, shapes.front().size());
    if (failed(axis))
      return failure();
    std::string why;
    auto shape = nn::inferConcatShape(shapes, *axis, why);
    if (failed(shape))
      return shapeError(i, inputs, why);
    result = nn::ConcatOp::create(builder, loc, tensorType(*shape), inputs, uint64_t(*axis)).getResult();
  }
  if (failed(result))
    return failure();
  return define(i, *result);
}

//===----------------------------------------------------------------------===//
// The whole model
//===----------------------------------------------------------------------===//

OwningOpRef<ModuleOp> Importer::run() {
  std::string error;
  if (failed(readModelFile(path, model, error))) {
    (void)fileError(error);
    return nullptr;
  }
  SmallVector<Type> argTypes;
  SmallVector<std::string> argNames;
  if (failed(checkOpsets()) || failed(checkSupportedOps()) || failed(checkExternalData()) || failed(runChecker()) ||
      failed(collectConstants()) || failed(setUpInputs(argTypes, argNames)))
    return nullptr;
  for (int i = 0; i < graph().node_size(); ++i)
    if (failed(checkAttributes(i)))
      return nullptr;
  if (failed(runShapeInference()))
    return nullptr;

  OwningOpRef<ModuleOp> module = ModuleOp::create(fileLoc);
  builder.setInsertionPointToEnd(module->getBody());
  auto func = func::FuncOp::create(builder, fileLoc, "forward", builder.getFunctionType(argTypes, {}));
  SmallVector<Location> argLocs;
  for (const std::string &name : argNames)
    argLocs.push_back(valueLoc(name));
  Block *entry = builder.createBlock(&func.getBody(), {}, argTypes, argLocs);
  builder.setInsertionPointToEnd(entry);
  for (auto [k, name] : llvm::enumerate(argNames)) {
    func.setArgAttr(k, kNameAttr, builder.getStringAttr(name));
    values[name] = entry->getArgument(k);
  }

  for (int i = 0; i < graph().node_size(); ++i)
    if (failed(importNode(i)))
      return nullptr;

  SmallVector<Value> results;
  SmallVector<Type> resultTypes;
  for (const onnx::ValueInfoProto &out : graph().output()) {
    auto it = values.find(out.name());
    if (it == values.end()) {
      InFlightDiagnostic diag = emitError(valueLoc(out.name()));
      diag << "output '" << out.name() << "' is "
           << (constants.count(out.name()) ? "a constant" : "not computed by any node");
      diag.attachNote() << "Kiln compiles outputs computed from the model inputs; remove this output";
      return nullptr;
    }
    results.push_back(it->second);
    resultTypes.push_back(it->second.getType());
  }
  if (results.empty()) {
    (void)fileError("the model has no outputs");
    return nullptr;
  }
  func::ReturnOp::create(builder, fileLoc, results);
  func.setFunctionType(builder.getFunctionType(argTypes, resultTypes));
  for (auto [k, out] : llvm::enumerate(graph().output()))
    func.setResultAttr(k, kNameAttr, builder.getStringAttr(out.name()));

  if (failed(compareWithOnnxShapes()) || failed(verify(*module)))
    return nullptr;
  return module;
}

} // namespace

namespace kiln {

OwningOpRef<ModuleOp> importOnnx(const std::string &path, MLIRContext &context, const OnnxImportOptions &options,
                                 std::map<std::string, HostTensor> &initializers) {
  context.loadDialect<nn::NNDialect, func::FuncDialect>();
  initializers.clear();
  Importer importer(context, path, options);
  OwningOpRef<ModuleOp> module = importer.run();
  if (module)
    initializers = std::move(importer.params);
  return module;
}

} // namespace kiln
