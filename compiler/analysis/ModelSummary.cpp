// Layer table and Graphviz graph of an nn model (see ModelSummary.h and docs/inspect.md).
#include "compiler/analysis/ModelSummary.h"

#include "kiln/Dialect/NN/NNOps.h"

#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/Format.h"

#include <algorithm>
#include <array>
#include <iterator>

using namespace mlir;

namespace kiln {
namespace {

int64_t elements(Value v) { return cast<RankedTensorType>(v.getType()).getNumElements(); }
ArrayRef<int64_t> shapeOf(Value v) { return cast<RankedTensorType>(v.getType()).getShape(); }

/// The first NameLoc inside `loc` (frontends put one on every layer op).
std::string nameOf(Location loc) {
  std::string name;
  loc->walk([&](Location inner) {
    if (auto named = dyn_cast<NameLoc>(inner)) {
      name = named.getName().str();
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return name;
}

/// FLOPs of one op; docs/inspect.md states the same rules for users.
int64_t flopsOf(Operation *op) {
  const int64_t out = op->getNumResults() ? elements(op->getResult(0)) : 0;
  StringRef name = op->getName().getStringRef();
  if (name == "nn.conv_transpose2d") { // scatter form: each input element times F/groups*KH*KW
    ArrayRef<int64_t> w = shapeOf(op->getOperand(1));
    return 2 * elements(op->getOperand(0)) * w[1] * w[2] * w[3] + (op->getNumOperands() > 2 ? out : 0);
  }
  // Data movement.
  if (llvm::is_contained({"nn.reshape", "nn.pad", "nn.transpose", "nn.slice", "nn.broadcast"}, name))
    return 0;
  return llvm::TypeSwitch<Operation *, int64_t>(op)
      .Case([&](nn::Conv2DOp conv) {
        // Each output element: (C/groups)*KH*KW multiply-adds, plus one add for the bias.
        ArrayRef<int64_t> w = shapeOf(conv.getFilter());
        return 2 * out * w[1] * w[2] * w[3] + (conv.getBias() ? out : 0);
      })
      .Case([&](nn::DenseOp dense) {
        int64_t k = shapeOf(dense.getWeight())[1];
        return 2 * out * k + (dense.getBias() ? out : 0);
      })
      .Case([&](nn::MaxPool2DOp pool) { return out * pool.getKernel()[0] * pool.getKernel()[1]; })
      .Case([&](nn::AvgPool2DOp pool) { return out * pool.getKernel()[0] * pool.getKernel()[1]; })
      .Case([&](nn::MatMulOp matmul) { return 2 * out * shapeOf(matmul.getLhs()).back(); }) // K multiply-adds each
      .Case([&](nn::ReduceOp reduce) { return elements(reduce.getInput()); })
      .Case([&](nn::GlobalAvgPoolOp pool) { return elements(pool.getInput()); })
      .Case([&](nn::BatchNormOp) { return 2 * out; }) // one multiply-add per element
      .Case<nn::DropoutOp, nn::FlattenOp, nn::ConcatOp>([](Operation *) { return int64_t(0); })
      .Default([&](Operation *) { return out; }); // activations, add, softmax, ...
}

/// `value` with a k/M/G (base 1000) or Ki/Mi/Gi (base 1024) prefix and 3 significant digits.
std::string humanSize(double value, double base, StringRef unit) {
  static const char *const kPrefixes[] = {"", "k", "M", "G", "T"};
  size_t i = 0;
  while (value >= base && i + 1 < std::size(kPrefixes)) {
    value /= base;
    ++i;
  }
  std::string prefix = kPrefixes[i];
  if (base == 1024 && i > 0)
    prefix = (prefix == "k" ? "K" : prefix) + "i";
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::format(value < 10 ? "%.2f" : value < 100 ? "%.1f" : "%.0f", value) << " " << prefix << unit;
  return text;
}

std::string shapeText(ArrayRef<int64_t> shape) {
  std::string text;
  for (size_t i = 0; i < shape.size(); ++i)
    text += (i ? "x" : "") + std::to_string(shape[i]);
  return text;
}

/// Graphviz string literal contents: quotes and backslashes escaped.
std::string escape(StringRef text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\')
      out += '\\';
    out += c;
  }
  return out;
}

/// A batch norm's mean or variance: state that is not trained (PyTorch's buffers).
bool isRunningStatistic(nn::ParamOp param) {
  return llvm::any_of(param->getUses(), [](OpOperand &use) {
    auto bn = dyn_cast<nn::BatchNormOp>(use.getOwner());
    return bn && (use.get() == bn.getMean() || use.get() == bn.getVariance());
  });
}

/// Data that is not a trained parameter: a running statistic or a constant (an ONNX Constant).
bool isUntrained(nn::ParamOp param) { return param.getConstant() || isRunningStatistic(param); }

} // namespace

ModelSummary summarizeModel(func::FuncOp fn) {
  ModelSummary summary;
  llvm::DenseMap<Value, size_t> rowOf;
  auto addRow = [&](Value value, LayerSummary layer) {
    rowOf[value] = summary.layers.size();
    summary.activationBytes += 4 * elements(value);
    summary.totalFlops += layer.flops;
    summary.layers.push_back(std::move(layer));
  };

  for (BlockArgument arg : fn.getArguments()) {
    auto name = fn.getArgAttrOfType<StringAttr>(arg.getArgNumber(), "nn.name");
    LayerSummary input{
        name ? name.str() : "input" + std::to_string(arg.getArgNumber()), "input", shapeOf(arg).vec(), 0, 0, {}};
    addRow(arg, std::move(input));
  }

  llvm::StringSet<> seenParams;
  for (Operation &op : fn.getBody().front()) {
    if (auto param = dyn_cast<nn::ParamOp>(op)) {
      if (seenParams.insert(param.getName()).second)
        (isRunningStatistic(param) ? summary.totalStatistics
         : param.getConstant()     ? summary.totalConstants
                                   : summary.totalParams) += elements(param.getResult());
      continue;
    }
    if (auto ret = dyn_cast<func::ReturnOp>(op)) {
      for (auto [i, value] : llvm::enumerate(ret.getOperands())) {
        auto name = fn.getResultAttrOfType<StringAttr>(i, "nn.name");
        summary.outputs.push_back({name ? name.str() : "output" + std::to_string(i), rowOf.lookup(value)});
      }
      continue;
    }
    if (op.getNumResults() != 1)
      continue;
    LayerSummary layer;
    layer.name = nameOf(op.getLoc());
    if (layer.name.empty())
      layer.name = "#" + std::to_string(summary.layers.size());
    layer.op = op.getName().stripDialect().str();
    layer.shape = shapeOf(op.getResult(0)).vec();
    layer.flops = flopsOf(&op);
    for (Value operand : op.getOperands()) {
      if (auto param = operand.getDefiningOp<nn::ParamOp>())
        layer.params += isUntrained(param) ? 0 : elements(operand);
      else if (rowOf.count(operand))
        layer.inputs.push_back(rowOf.lookup(operand));
    }
    addRow(op.getResult(0), std::move(layer));
  }
  return summary;
}

void printLayerTable(const ModelSummary &summary, llvm::raw_ostream &os) {
  std::vector<std::array<std::string, 5>> rows = {{"layer", "op", "output shape", "params", "FLOPs"}};
  for (const LayerSummary &layer : summary.layers)
    rows.push_back(
        {layer.name, layer.op, shapeText(layer.shape), std::to_string(layer.params), std::to_string(layer.flops)});
  rows.push_back({"total", "", "", std::to_string(summary.totalParams), std::to_string(summary.totalFlops)});
  std::array<size_t, 5> width{};
  for (const auto &row : rows)
    for (size_t c = 0; c < 5; ++c)
      width[c] = std::max(width[c], row[c].size());
  auto printRow = [&](const std::array<std::string, 5> &row) {
    os << llvm::left_justify(row[0], width[0]) << "  " << llvm::left_justify(row[1], width[1]) << "  "
       << llvm::left_justify(row[2], width[2]) << "  " << llvm::right_justify(row[3], width[3]) << "  "
       << llvm::right_justify(row[4], width[4]) << "\n";
  };
  size_t ruleWidth = width[0] + width[1] + width[2] + width[3] + width[4] + 8;
  printRow(rows.front());
  os << std::string(ruleWidth, '-') << "\n";
  for (size_t i = 1; i + 1 < rows.size(); ++i)
    printRow(rows[i]);
  os << std::string(ruleWidth, '-') << "\n";
  printRow(rows.back());
  os << "\nparameters " << summary.totalParams << " (" << humanSize(4.0 * summary.totalParams, 1024, "B")
     << " f32)";
  if (summary.totalStatistics)
    os << " + " << summary.totalStatistics << " batch-norm running statistics";
  if (summary.totalConstants)
    os << " + " << summary.totalConstants << " constants";
  os << ", FLOPs " << summary.totalFlops << " (" << humanSize(summary.totalFlops, 1000, "FLOPs")
     << "), activation memory " << summary.activationBytes << " bytes ("
     << humanSize(summary.activationBytes, 1024, "B") << ")\n";
  os << "outputs:";
  for (const ModelOutput &output : summary.outputs) {
    const std::string &layer = summary.layers[output.row].name;
    os << " " << output.name << (layer == output.name ? "" : " (layer " + layer + ")");
  }
  os << "\n\n"
        "params  elements of the layer's trained nn.param operands (batch_norm: scale and shift; its\n"
        "        running mean and var are counted apart, like PyTorch's buffers, and so are constants);\n"
        "        the total counts each named parameter once\n"
        "FLOPs   a multiply-add counts as 2 FLOPs: conv2d 2*N*F*OH*OW*(C/groups)*KH*KW (+ N*F*OH*OW\n"
        "        with bias), dense 2*N*M*K (+ N*M with bias), matmul 2*M*N*K per batch element; pools\n"
        "        one per window element per output value; reduce one per input element; batch_norm 2\n"
        "        per element; flatten, concat, reshape, pad, transpose, slice, broadcast, dropout 0;\n"
        "        other layers one per output element (docs/inspect.md)\n"
        "memory  f32 bytes of every input and layer output, as if all were kept at once\n";
}

void writeDot(const ModelSummary &summary, StringRef graphName, llvm::raw_ostream &os) {
  os << "digraph \"" << escape(graphName) << "\" {\n";
  os << "  rankdir=TB;\n  node [shape=box, fontname=\"monospace\"];\n";
  for (auto [i, layer] : llvm::enumerate(summary.layers)) {
    os << "  n" << i << " [label=\"" << escape(layer.name) << "\\n"
       << escape(layer.op) << "\\n"
       << shapeText(layer.shape) << "\"" << (layer.op == "input" ? ", shape=ellipse" : "") << "];\n";
    for (size_t from : layer.inputs)
      os << "  n" << from << " -> n" << i << ";\n";
  }
  for (auto [i, output] : llvm::enumerate(summary.outputs)) {
    os << "  out" << i << " [label=\"" << escape(output.name) << "\\noutput\\n"
       << shapeText(summary.layers[output.row].shape) << "\", shape=ellipse];\n";
    os << "  n" << output.row << " -> out" << i << ";\n";
  }
  os << "}\n";
}

} // namespace kiln
