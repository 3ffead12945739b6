// ONNX model -> nn dialect (see OnnxImporter.h and docs/onnx.md). The steps, in order: read the
// file (bounded); list every unsupported op at once; refuse external data; run ONNX's checker
// (opsets it knows); fix the input shapes; check the attributes ONNX's shape inference would trust
// (a zero stride crashes it); run ONNX shape inference; recognise patterns; fold shape subgraphs
// and build nn ops node by node through the op table (OpTable.cpp), trying every node so that all
// the failing ones are reported; compare the built shapes with ONNX's. Every error names the node,
// its op type and what would fix it, and nothing is returned after one.
#include "frontends/onnx/Importer.h"

#include "mlir/IR/Verifier.h"

#include <onnx/checker.h>
#include <onnx/shape_inference/implementation.h>

namespace kiln::onnxfe {
namespace {

/// Opsets this importer reads; libonnx 1.12 (its checker and shape inference) knows up to 17.
constexpr int64_t kMaxOpset = 20, kMaxOnnxOpset = 17;

/// Why an op type outside the table is out of Kiln's scope (any other: no nn mapping yet).
std::string unsupportedReason(StringRef type) {
  if (llvm::is_contained({"If", "Loop", "Scan"}, type))
    return "control flow: Kiln compiles straight-line graphs (export with tracing, not scripting)";
  if (type.contains("Sequence") || type.starts_with("Optional"))
    return "sequence and optional values: Kiln's values are tensors";
  if (llvm::is_contained({"NonZero", "NonMaxSuppression", "Unique", "Compress", "TopK"}, type))
    return "an output shape (or count) that depends on the data: Kiln compiles static shapes";
  return "no mapping onto Kiln's nn ops";
}

} // namespace

bool Importer::onnxKnowsOpset() const { return opset <= kMaxOnnxOpset; }

LogicalResult Importer::checkOpsets() {
  for (const onnx::OperatorSetIdProto &set : model.opset_import())
    if (set.domain().empty() || set.domain() == "ai.onnx")
      opset = set.version();
  if (opset >= 1 && opset <= kMaxOpset)
    return success();
  InFlightDiagnostic diag = emitError(fileLoc);
  if (opset == 0)
    diag << "the model imports no ONNX opset";
  else
    diag << "the model uses ONNX opset " << opset << "; Kiln reads opsets 1 to " << kMaxOpset;
  diag.attachNote() << "re-export it with an opset in that range, e.g. torch.onnx.export(..., opset_version=13)";
  return failure();
}

LogicalResult Importer::checkSupportedOps() {
  // type -> (reason, node names), in order of first use.
  std::vector<std::pair<std::string, std::pair<std::string, SmallVector<std::string>>>> unsupported;
  int first = -1;
  for (int i = 0; i < graph().node_size(); ++i) {
    const onnx::NodeProto &n = node(i);
    bool onnxDomain = n.domain().empty() || n.domain() == "ai.onnx";
    auto entry = opTable().find(n.op_type());
    std::string reason;
    if (!onnxDomain)
      reason = "an op of domain '" + n.domain() + "' (Kiln reads the standard ONNX domain)";
    else if (entry == opTable().end())
      reason = unsupportedReason(n.op_type());
    else if (opset < entry->second.sinceOpset)
      reason = "its opset-" + std::to_string(opset) + " form differs; Kiln reads it from opset " +
               std::to_string(entry->second.sinceOpset);
    else
      continue;
    std::string type = onnxDomain ? n.op_type() : n.domain() + "." + n.op_type();
    auto it = llvm::find_if(unsupported, [&](const auto &e) { return e.first == type; });
    if (it == unsupported.end())
      it = unsupported.insert(it, {type, {reason, {}}});
    it->second.second.push_back(nodeName(i));
    if (first < 0)
      first = i;
  }
  if (unsupported.empty())
    return success();
  InFlightDiagnostic diag = emitError(nodeLoc(first));
  diag << "the model uses ONNX ops Kiln does not support (opset " << opset << "): ";
  bool firstType = true;
  for (auto &[type, entry] : unsupported) {
    auto &[reason, names] = entry;
    diag << (firstType ? "" : "; ") << type << " (used by ";
    firstType = false;
    for (size_t k = 0; k < names.size(); ++k) {
      if (k == 5) {
        diag << " and " << names.size() - 5 << " more";
        break;
      }
      diag << (k ? ", " : "") << "'" << names[k] << "'";
    }
    diag << "): " << reason;
  }
  diag.attachNote() << "docs/onnx.md lists the ops Kiln imports and their accepted forms";
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
  if (!onnxKnowsOpset()) // libonnx 1.12 rejects opsets it does not know; Kiln's checks still run
    return success();
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
  for (int i = 0; i < graph().node_size(); ++i)
    if (opType(i) == "Constant" && failed(importConstant(i)))
      return failure();
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
    if (!tensor->has_shape())
      return inputError("has no shape", "export the model with a fixed input shape (e.g. 1x3x224x224)");
    SmallVector<int64_t> shape;
    if (tensor->shape().dim_size() == 0) { // a scalar (a weight or bound given as input): held as [1]
      shape.push_back(1);
      scalars.insert(name);
    }
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
  if (node(i).op_type() == "Conv" || node(i).op_type() == "ConvTranspose") {
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
  if (!onnxKnowsOpset()) // Kiln's own shape rules apply at every node
    return success();
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

/// libonnx 1.12's shape inference sizes a ceil_mode pool as ceil((in + pads - window) / stride)
/// + 1, keeping a last window that starts in the end padding; PyTorch drops that window, as
/// does Kiln's pool (nn::poolOutputSize) and ONNX's own specification since onnx/onnx#5741. So
/// PyTorch's MaxPool2d(2, stride=2, padding=1, ceil_mode=True) on 5x5 gives 3x3 where libonnx
/// records 4x4. True when pool node i is that case: `recorded` is libonnx's size and Kiln's
/// output dropped such a window.
bool Importer::onnxKeepsDroppedCeilWindow(int i, ArrayRef<int64_t> recorded) {
  if (opType(i) != "MaxPool" && opType(i) != "AveragePool")
    return false;
  auto x = values.find(node(i).input(0)), y = values.find(node(i).output(0));
  if (x == values.end() || y == values.end())
    return false;
  ArrayRef<int64_t> in = shapeOf(x->second), ours = shapeOf(y->second);
  std::string error;
  FailureOr<int64_t> ceilMode = NodeAttrs(node(i)).getInt("ceil_mode", 0, error);
  if (failed(ceilMode) || !*ceilMode || recorded.size() != in.size() || recorded.take_front(2) != ours.take_front(2))
    return false;
  FailureOr<Window> window = windowAttrs(i, in.drop_front(2), std::nullopt); // read without error at import
  if (failed(window) || !window->explicitPads)
    return false;
  for (size_t a = 0; a < window->kernel.size(); ++a) {
    int64_t span = in[2 + a] + window->padBegin[a] + window->padEnd[a] - window->extent(a);
    if (span < 0 || recorded[2 + a] != (span + window->strides[a] - 1) / window->strides[a] + 1)
      return false;
  }
  return true;
}

/// A mismatch means either the model or this importer is wrong; either way nothing is built.
/// The one known libonnx error (onnxKeepsDroppedCeilWindow) is accepted: ONNX's shapes of that
/// pool's output and of every value computed from it are not compared.
LogicalResult Importer::compareWithOnnxShapes() {
  std::vector<std::pair<std::string, SmallVector<int64_t>>> inferred; // ONNX's fully known shapes
  auto collect = [&](const onnx::ValueInfoProto &info) {
    if (!info.type().has_tensor_type() || !info.type().tensor_type().has_shape())
      return;
    SmallVector<int64_t> dims;
    for (const auto &dim : info.type().tensor_type().shape().dim()) {
      if (!dim.has_dim_value())
        return;
      dims.push_back(dim.dim_value());
    }
    inferred.emplace_back(info.name(), dims);
  };
  llvm::for_each(graph().value_info(), collect);
  llvm::for_each(graph().output(), collect);
  std::vector<std::string> pending;
  for (const auto &[name, recorded] : inferred)
    if (auto producer = producers.find(name); producer != producers.end() &&
                                              node(producer->second).output(0) == name &&
                                              onnxKeepsDroppedCeilWindow(producer->second, recorded))
      pending.push_back(name);
  llvm::StringSet<> notCompared;
  while (!pending.empty()) {
    std::string value = std::move(pending.back());
    pending.pop_back();
    if (notCompared.insert(value).second)
      for (int reader : consumers.lookup(value))
        pending.insert(pending.end(), node(reader).output().begin(), node(reader).output().end());
  }
  for (const auto &[name, recorded] : inferred) {
    auto it = values.find(name);
    if (it == values.end() || notCompared.count(name))
      continue;
    ArrayRef<int64_t> ours = shapeOf(it->second);
    if (ours == ArrayRef<int64_t>(recorded) || (recorded.empty() && ours == ArrayRef<int64_t>{1}))
      continue;
    auto producer = producers.find(name);
    Location loc = producer != producers.end() ? nodeLoc(producer->second) : valueLoc(name);
    InFlightDiagnostic diag = emitError(loc);
    diag << "value '" << name << "' is " << nn::formatShape(ours) << " in Kiln but " << nn::formatShape(recorded)
         << " by ONNX shape inference";
    diag.attachNote() << "the model's recorded shapes disagree with its ops; re-export it (if it is valid, "
                         "please report this as a Kiln bug)";
    return failure();
  }
  return success();
}

LogicalResult Importer::importNode(int i) {
  if (fusedNodes.count(i) || opType(i) == "Constant") // inner to a pattern; Constants are collected
    return success();
  if (node(i).output_size() < 1 || node(i).output(0).empty())
    return fail(i, "has no output");
  if (foldable(i))
    return foldNode(i);
  FailureOr<Value> result =
      patterns.count(i) ? importPattern(i) : (this->*opTable().find(opType(i))->second.build)(i);
  if (failed(result))
    return failure();
  return *result ? define(i, *result) : success();
}

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
  recognizePatterns();

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

  // Every node is tried, so that one import reports every node Kiln cannot build; a node reading
  // a value that failed is skipped (its own error would only repeat the first).
  llvm::StringSet<> failedValues;
  for (int i = 0; i < graph().node_size(); ++i) {
    bool readsFailed = llvm::any_of(node(i).input(), [&](const std::string &in) { return failedValues.count(in); });
    if (readsFailed || failed(importNode(i)))
      for (const std::string &out : node(i).output())
        failedValues.insert(out);
  }
  if (!failedValues.empty())
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

} // namespace kiln::onnxfe

namespace kiln {

using namespace mlir;

OwningOpRef<ModuleOp> importOnnx(const std::string &path, MLIRContext &context, const OnnxImportOptions &options,
                                 std::map<std::string, HostTensor> &initializers) {
  context.loadDialect<nn::NNDialect, func::FuncDialect>();
  initializers.clear();
  onnxfe::Importer importer(context, path, options);
  OwningOpRef<ModuleOp> module = importer.run();
  if (module)
    initializers = std::move(importer.params);
  return module;
}

} // namespace kiln
