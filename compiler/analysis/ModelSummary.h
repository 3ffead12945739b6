// A per-layer summary of an nn model (`kiln inspect`): name, op, output shape, parameter count
// and FLOPs per layer, totals, and a Graphviz view of the data flow. Expects a verified
// func @forward straight after import; counts exactly what docs/inspect.md describes.
#ifndef KILN_ANALYSIS_MODELSUMMARY_H
#define KILN_ANALYSIS_MODELSUMMARY_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kiln {

struct LayerSummary {
  std::string name;           ///< the op's NameLoc (the input's nn.name for inputs), else "#<row>"
  std::string op;             ///< "input", or the op name without "nn."
  std::vector<int64_t> shape; ///< output shape
  int64_t params = 0;         ///< elements of the op's trained nn.param operands
  int64_t flops = 0;          ///< see docs/inspect.md; a multiply-add is 2 FLOPs
  std::vector<size_t> inputs; ///< rows that feed this one (data flow; parameters excluded)
};

struct ModelOutput {
  std::string name; ///< nn.name of the result, else "output<i>"
  size_t row;       ///< the layer (or input) returned
};

struct ModelSummary {
  std::vector<LayerSummary> layers; ///< inputs first, then ops in program order
  std::vector<ModelOutput> outputs;
  int64_t totalParams = 0;     ///< elements of the distinct trained nn.param names (a shared one counts once)
  int64_t totalStatistics = 0; ///< elements of batch-norm running means and variances
  int64_t totalConstants = 0;  ///< elements of nn.param constants (data that is not a parameter)
  int64_t totalFlops = 0;      ///< sum over layers
  int64_t activationBytes = 0; ///< f32 bytes of every input and layer output, all kept at once
};

/// Summarises `fn` (func @forward of an nn module).
ModelSummary summarizeModel(mlir::func::FuncOp fn);

/// Prints the layer table with totals and a footer stating the counting conventions.
void printLayerTable(const ModelSummary &summary, llvm::raw_ostream &os);

/// Writes a Graphviz digraph: one node per input, layer and output (name, op, shape), one edge
/// per data-flow use.
void writeDot(const ModelSummary &summary, llvm::StringRef graphName, llvm::raw_ostream &os);

} // namespace kiln

#endif
