// The ONNX importer's state and helpers, shared by the files that build each op category
// (OnnxImporter.cpp runs the steps; Import*.cpp build the ops). Private to frontends/onnx.
#ifndef KILN_FRONTENDS_ONNX_IMPORTER_H
#define KILN_FRONTENDS_ONNX_IMPORTER_H

#include "frontends/onnx/OnnxImporter.h"
#include "frontends/onnx/OnnxModel.h"

#include "kiln/Dialect/NN/NNOps.h"
#include "kiln/Dialect/NN/ShapeRules.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"

#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

#include <array>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace kiln::onnxfe {

using namespace mlir;
namespace nn = kiln::nn;

constexpr llvm::StringLiteral kNameAttr = "nn.name";

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

/// Builds the nn module of one ONNX model: run() takes the steps, import<Op>(i) builds node i.
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

} // namespace kiln::onnxfe

#endif
