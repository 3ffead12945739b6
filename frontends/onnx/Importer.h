// The ONNX importer's state and helpers, shared by the files that build each op category
// (OnnxImporter.cpp runs the steps; OpTable.cpp maps op types to the Import*.cpp builders;
// ShapeFolding.cpp evaluates shape subgraphs at import). Private to frontends/onnx.
#ifndef KILN_FRONTENDS_ONNX_IMPORTER_H
#define KILN_FRONTENDS_ONNX_IMPORTER_H

#include "frontends/onnx/OnnxImporter.h"
#include "frontends/onnx/OnnxModel.h"

#include "kiln/Dialect/NN/NNOps.h"
#include "kiln/Dialect/NN/ShapeRules.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"

#include "llvm/ADT/DenseMap.h"
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

/// Kernel, strides, dilations and begin/end padding of a Conv or pool node along each of its
/// spatial axes (one to three), as ONNX lists them, auto_pad resolved.
struct Window {
  SmallVector<int64_t> kernel, strides, dilations, padBegin, padEnd;
  bool explicitPads = true; ///< auto_pad is NOTSET or VALID (ceil_mode matters only then)
  /// The cells one window spans along spatial axis a.
  int64_t extent(size_t a) const { return dilations[a] * (kernel[a] - 1) + 1; }
};

/// The last one or two axes of a Window as the nn 2-D ops take them (a 1-D window as 1 x K).
struct PlaneWindow {
  Pair kernel, strides, dilations;
  std::array<int64_t, 4> pads; ///< [top, left, bottom, right]
};
PlaneWindow planeOf(const Window &w);
/// The last two entries of a per-axis list; a one-entry list is [fill, entry] (a 1-D window).
Pair lastTwo(ArrayRef<int64_t> values, int64_t fill);

/// The operands of a Conv or ConvTranspose node with `dims` spatial axes: the input as a 4-D
/// image (a 1-D input unsqueezed; a 3-D input stays 5-D), the filter as the 2-D ops take it (a
/// param, or a graph input: run-time weights; a 3-D filter with its depth taps beside its
/// channels, see ImportVolumes.cpp), optional bias; the weight's ONNX shape.
struct ConvOperands {
  Value input, filter, bias;
  SmallVector<int64_t> weightShape;
  size_t dims = 2;
  ArrayRef<int64_t> kernel() const { return ArrayRef<int64_t>(weightShape).drop_front(2); }
};

/// How a MaxPool or AveragePool node pools.
struct PoolKind {
  bool max = true;
  bool ceil = false;            ///< ceil_mode (with explicit pads)
  bool countIncludePad = false; ///< AveragePool's count_include_pad
};

/// What an ONNX Slice (or a Split part) takes along every dimension of its input.
struct SliceWindow {
  SmallVector<int64_t> starts, steps, counts;
};

/// The whole of `shape`, except `count` elements from `start` by `step` along `axis`.
SliceWindow sliceAlong(ArrayRef<int64_t> shape, int64_t axis, int64_t start, int64_t step, int64_t count);

/// ONNX Slice semantics: `starts`, `ends`, `axes` (default 0..n-1, negatives from the end) and
/// `steps` (default 1) resolved against `shape` with ONNX's clamping; fails on a zero step, a
/// bad or repeated axis, or an empty result (Kiln's dimensions are positive).
FailureOr<SliceWindow> resolveSlice(ArrayRef<int64_t> shape, ArrayRef<int64_t> starts, ArrayRef<int64_t> ends,
                                    std::optional<ArrayRef<int64_t>> axes, std::optional<ArrayRef<int64_t>> steps,
                                    std::string &error);

/// ONNX Reshape's target with 0 (copy the input's dimension unless `allowZero`) and one -1 resolved.
FailureOr<SmallVector<int64_t>> resolveReshape(ArrayRef<int64_t> in, ArrayRef<int64_t> target, bool allowZero,
                                               std::string &error);

/// The shape after Squeeze (the listed axes, or every 1 when `axes` is absent) or Unsqueeze
/// (1s inserted at the listed output axes).
FailureOr<SmallVector<int64_t>> squeezedShape(ArrayRef<int64_t> in, std::optional<ArrayRef<int64_t>> axes,
                                              bool unsqueeze, std::string &error);

/// Sorted, non-negative axes; each in [-rank, rank) and listed once.
FailureOr<SmallVector<int64_t>> normalizeAxes(ArrayRef<int64_t> axes, int64_t rank, std::string &error);

/// `t` with its dimensions permuted: result dimension d is t's dimension perm[d].
kiln::HostTensor permuted(const kiln::HostTensor &t, ArrayRef<int64_t> perm);

/// An input of a node: (node index, input index).
using NodeInput = std::pair<int, int>;

/// A subgraph recognised as one composition before import (see Patterns.cpp): built at the node
/// that ends it, its inner nodes skipped.
struct Pattern {
  enum Kind { Gelu, LayerNorm } kind;
  NodeInput input;                              ///< the subgraph's computed input
  SmallVector<int64_t> axes;                    ///< LayerNorm: normalised axes (may be negative)
  float epsilon = 0.0f;                         ///< LayerNorm
  std::optional<NodeInput> scale, bias;         ///< LayerNorm's Mul and Add operands
};

/// Builds the nn module of one ONNX model: run() takes the steps, the op table (OpTable.cpp)
/// dispatches each node to its import<Op>(i).
class Importer {
public:
  Importer(MLIRContext &context, const std::string &path, const kiln::OnnxImportOptions &options)
      : context(context), path(path), options(options), builder(&context),
        fileLoc(FileLineColLoc::get(&context, path, 0, 0)) {}

  OwningOpRef<ModuleOp> run();

  /// The parameters of the built module (valid after run() succeeded).
  std::map<std::string, kiln::HostTensor> params;

  /// Builds node i; returns its output 0 (null when the node defines no computed value: a
  /// constant, a fold), defining any other outputs itself.
  using NodeImporter = FailureOr<Value> (Importer::*)(int i);
  struct OpEntry {
    NodeImporter build;
    int64_t sinceOpset = 1; ///< the first opset whose form of the op is read
  };
  /// Every ONNX op type Kiln reads (docs/onnx.md lists the forms).
  static const llvm::StringMap<OpEntry> &opTable();

private:
  const onnx::GraphProto &graph() const { return model.graph(); }
  const onnx::NodeProto &node(int i) const { return graph().node(i); }
  StringRef opType(int i) const { return node(i).op_type(); }
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
  /// nodeError(i) << message, as a failure of any FailureOr.
  LogicalResult fail(int i, const Twine &message) {
    nodeError(i) << message;
    return failure();
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
  void recognizePatterns();
  LogicalResult importNode(int i);
  LogicalResult compareWithOnnxShapes();
  bool onnxKeepsDroppedCeilWindow(int i, ArrayRef<int64_t> recorded);
  bool onnxKnowsOpset() const; ///< libonnx's checker and shape inference apply (opset <= 17)

  // Operands.
  bool hasInput(int i, int index) const { return node(i).input_size() > index && !node(i).input(index).empty(); }
  bool isConstant(int i, int index) const { return hasInput(i, index) && constants.count(node(i).input(index)); }
  /// A computed value, a graph input, or a constant as an nn.param (weights given either way).
  FailureOr<Value> operand(int i, int index, StringRef role);
  /// The shape of input `index`, computed or constant.
  FailureOr<SmallVector<int64_t>> operandShape(int i, int index, StringRef role);
  /// operand() read as `shape` (same element count): a constant's data is reshaped, a computed
  /// value gets an nn.reshape (1-D conv weights, per-channel scales).
  FailureOr<Value> operandAs(int i, int index, StringRef role, ArrayRef<int64_t> shape);
  /// Input `index` with its dimensions permuted by `perm`, then read as `shape`: a constant is
  /// rearranged at import (param `<name><suffix>`), a computed value by nn.transpose + nn.reshape.
  FailureOr<Value> operandPermuted(int i, int index, StringRef role, ArrayRef<int64_t> perm, ArrayRef<int64_t> shape,
                                   StringRef suffix);
  FailureOr<std::pair<std::string, kiln::HostTensor>> constantInput(int i, int index, StringRef role);
  /// The float constant named `value`, if it is one.
  std::optional<kiln::HostTensor> floatConstant(const std::string &value);
  /// An integer constant input (a shape, axes, pads), or nullopt when the input is absent.
  FailureOr<std::optional<std::vector<int64_t>>> constantInts(int i, int index, StringRef role);
  /// A float constant input (scales), or nullopt when the input is absent.
  FailureOr<std::optional<std::vector<float>>> constantFloats(int i, int index, StringRef role);
  /// An axes list given as attribute `axes` (before `inputSince`) or as input `index` after.
  FailureOr<std::optional<std::vector<int64_t>>> axesOperand(int i, int index, int64_t inputSince);
  LogicalResult requireRank(int i, Value x, size_t rank, StringRef form);
  LogicalResult requireUnusedOutputs(int i, int from);
  /// An nn.param; `constant` unless isInitializerData(name).
  Value param(std::string name, kiln::HostTensor tensor, Location loc);
  /// Data PyTorch may train: an initializer, read under its name or an Identity's, or changed at
  /// import (`<name>.transposed`, `.scaled`, `.broadcast`). Constant nodes, folds and the
  /// constants of a composition (`<node>.epsilon`) are not: training leaves them alone.
  bool isInitializerData(StringRef name) const;
  /// A one-element parameter named after the node (a constant of a composition).
  Value scalarParam(int i, StringRef what, float value);
  LogicalResult shapeError(int i, ArrayRef<Value> inputs, StringRef why);
  LogicalResult define(int i, Value result);
  FailureOr<Value> alias(int i);

  // Attributes.
  template <typename T>
  FailureOr<T> attr(int i, FailureOr<T> value, const std::string &error) {
    if (failed(value))
      nodeError(i) << error << " (see the ONNX operator specification)";
    return value;
  }
  FailureOr<int64_t> intAttr(int i, StringRef name, int64_t dflt);
  FailureOr<float> floatAttr(int i, StringRef name, float dflt);
  /// The window attributes of node i over an input with these spatial sizes; a Conv's kernel is
  /// its weight's (kernel_shape must agree).
  FailureOr<Window> windowAttrs(int i, ArrayRef<int64_t> spatial, std::optional<ArrayRef<int64_t>> weightKernel);
  FailureOr<int64_t> axisAttr(int i, StringRef name, int64_t dflt, int64_t rank);

  // nn builders shared by the importers (each checks the shape rule and reports at node i).
  FailureOr<Value> reshapeTo(int i, Value x, ArrayRef<int64_t> target);
  /// Node i's output 0 reshaped to `shape`; an empty shape (an ONNX scalar) is held as [1] and
  /// remembered in `scalars`, so shape ops still see rank 0.
  FailureOr<Value> resultAs(int i, Value x, ArrayRef<int64_t> shape);
  /// The ONNX shape of input `index` of node i: its tensor's, or [] for a scalar held as [1].
  SmallVector<int64_t> onnxShape(int i, int index);
  /// The spatial axes of a conv/pool input: 1 ([N, C, L]), 2 ([N, C, H, W]) or 3 ([N, C, D, H, W]).
  FailureOr<size_t> spatialDims(int i, Value x, StringRef what);
  /// A 1-D or 2-D conv/pool input as 4-D: [N, C, H, W] as it is, [N, C, L] as [N, C, 1, L];
  /// fromImage undoes the 1-D unsqueeze.
  FailureOr<Value> toImage(int i, Value x);
  FailureOr<Value> fromImage(int i, Value y, bool oneD);
  FailureOr<Value> transposeBy(int i, Value x, ArrayRef<int64_t> perm);
  FailureOr<Value> sliceBy(int i, Value x, const SliceWindow &window);
  FailureOr<Value> reduceBy(int i, Value x, StringRef kind, ArrayRef<int64_t> axes);
  FailureOr<Value> concatOf(int i, ArrayRef<Value> inputs, int64_t axis);
  /// nn.pad: `pads` lists every dimension's begin, then every end (ONNX order).
  FailureOr<Value> padBy(int i, Value x, ArrayRef<int64_t> pads, float value);
  /// The nn 2-D window ops on a 4-D image (oneD: the image is a 1-D input, reshaped back).
  FailureOr<Value> conv2D(int i, Value input, Value filter, Value bias, const PlaneWindow &window, int64_t group,
                          bool oneD);
  FailureOr<Value> convTranspose2D(int i, Value input, Value filter, Value bias, const PlaneWindow &window,
                                   Pair outputPadding, int64_t group, bool oneD);
  FailureOr<Value> pool2D(int i, Value image, const PlaneWindow &window, PoolKind kind);
  /// nn.add/sub/mul/div/max/min/pow/prelu by ONNX op name, numpy broadcasting.
  FailureOr<Value> binary(int i, StringRef op, Value a, Value b);
  Value unary(int i, StringRef fn, Value x, float alpha = 1.0f, float beta = 1.0f);
  /// (x - mean) / sqrt(var + eps) over `axes`, then * scale + bias (either may be null);
  /// `statistics` receives the mean and 1 / sqrt(var + eps).
  FailureOr<Value> normalize(int i, Value x, ArrayRef<int64_t> axes, float epsilon, Value scale, Value bias,
                             std::pair<Value, Value> *statistics = nullptr);

  // Importers (OpTable.cpp lists which op types each reads).
  FailureOr<Value> importConstant(int i);
  FailureOr<Value> importIdentity(int i);
  FailureOr<Value> importDropout(int i);
  FailureOr<Value> importCast(int i);
  FailureOr<Value> importFoldOnly(int i);
  FailureOr<ConvOperands> convOperands(int i, StringRef what);
  FailureOr<Value> importConv(int i);
  FailureOr<Value> importConvTranspose(int i);
  FailureOr<Value> importPool(int i);
  // 3-D windows and dilated pools as compositions of the 2-D ops (ImportVolumes.cpp).
  FailureOr<Value> convVolume(int i, const ConvOperands &ops, const Window &window, int64_t group);
  FailureOr<Value> convTransposeVolume(int i, const ConvOperands &ops, const Window &window,
                                       ArrayRef<int64_t> outputPadding, int64_t group);
  FailureOr<Value> poolVolume(int i, Value x, const Window &window, PoolKind kind);
  FailureOr<Value> poolAlong(int i, Value x, int64_t axis, const Window &window, PoolKind kind);
  FailureOr<Value> importGlobalPool(int i);
  FailureOr<Value> importGemm(int i);
  FailureOr<Value> importMatMul(int i);
  /// The node index and constant [units] bias of the one Add reading MatMul i's output.
  std::optional<std::pair<int, std::pair<std::string, kiln::HostTensor>>> fusableBias(int i, int64_t units);
  FailureOr<Value> importEinsum(int i);
  FailureOr<Value> importBatchNorm(int i);
  FailureOr<Value> importLayerNorm(int i);
  FailureOr<Value> importInstanceNorm(int i);
  FailureOr<Value> importLpNorm(int i);
  FailureOr<Value> importLRN(int i);
  FailureOr<Value> importSoftmax(int i);
  FailureOr<Value> importActivation(int i);
  FailureOr<Value> importUnary(int i);
  FailureOr<Value> importElementwise(int i);
  FailureOr<Value> importPow(int i);
  FailureOr<Value> importPRelu(int i);
  FailureOr<Value> importClip(int i);
  FailureOr<Value> importWhere(int i);
  FailureOr<Value> importReduce(int i);
  FailureOr<Value> importArgReduce(int i);
  FailureOr<Value> importReshape(int i);
  FailureOr<Value> importFlatten(int i);
  FailureOr<Value> importSqueeze(int i);
  FailureOr<Value> importTranspose(int i);
  FailureOr<Value> importConcat(int i);
  FailureOr<Value> importSplit(int i);
  FailureOr<Value> importSlice(int i);
  FailureOr<Value> importGather(int i);
  FailureOr<Value> importExpand(int i);
  FailureOr<Value> importTile(int i);
  FailureOr<Value> importDepthToSpace(int i);
  FailureOr<Value> importResize(int i);
  FailureOr<Value> importPad(int i);
  FailureOr<Value> importPattern(int i);
  /// Before opset 7, Add/Sub/Mul/Div/Pow with broadcast=1 align B at `axis`: B reshaped to numpy form.
  FailureOr<Value> legacyBroadcast(int i, Value a, Value b);

  // Shape folding (ShapeFolding.cpp).
  /// True when node i's op folds and every input it reads is known at import.
  bool foldable(int i) const;
  /// Evaluates node i at import; its outputs become constants.
  LogicalResult foldNode(int i);
  /// Registers `tensor` (owned by the importer) as the constant named `name`.
  void defineConstant(const std::string &name, onnx::TensorProto tensor);

  // Patterns (Patterns.cpp).
  std::optional<Pattern> matchGelu(int i);
  std::optional<Pattern> matchLayerNorm(int i);
  /// The node producing `value` when it is of type `type` and read only by the `readers`.
  std::optional<int> innerProducer(const std::string &value, StringRef type, ArrayRef<int> readers);
  /// The constant axes of a ReduceMean with keepdims=1.
  std::optional<std::vector<int64_t>> meanAxes(int i);
  /// The value of a one-element float constant.
  std::optional<float> scalarConstant(const std::string &value);

  MLIRContext &context;
  const std::string &path;
  const kiln::OnnxImportOptions &options;
  OpBuilder builder;
  Location fileLoc;
  onnx::ModelProto model;
  int64_t opset = 0;

  llvm::StringMap<Value> values;                              ///< computed values by ONNX name
  llvm::StringMap<const onnx::TensorProto *> constants;       ///< initializers, Constants and folds
  std::deque<onnx::TensorProto> ownedConstants;               ///< Constants' scalar/list forms, folds
  llvm::StringMap<int> producers;                             ///< node index of each node output
  llvm::StringMap<SmallVector<int, 2>> consumers;             ///< node indices reading each value
  llvm::StringSet<> graphOutputs;
  llvm::StringSet<> scalars;                                  ///< rank-0 ONNX values held as [1]
  llvm::DenseSet<int> fusedNodes;                             ///< nodes built as part of another
  llvm::DenseMap<int, Pattern> patterns;                      ///< compositions, by their last node
};

} // namespace kiln::onnxfe

#endif
