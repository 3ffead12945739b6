// ONNX model -> nn dialect. The supported ops and their attribute forms are in docs/onnx.md.
#ifndef KILN_FRONTENDS_ONNX_ONNXIMPORTER_H
#define KILN_FRONTENDS_ONNX_ONNXIMPORTER_H

#include "kiln/Dialect/NN/HostTensor.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace kiln {

struct OnnxImportOptions {
  /// Replaces dimension 0 of every model input when set (`kiln compile --batch`); required when
  /// an input's dimension 0 is dynamic.
  std::optional<int64_t> batch;
};

/// Reads the .onnx model at `path` into a module holding one `func.func @forward`, with the same
/// conventions as the text frontend: arguments and results carry `nn.name` = the ONNX value names,
/// and each layer op is located at NameLoc(<ONNX node name, or <OpType>_<index> when unnamed>,
/// FileLineColLoc(path, 0, 0)). Every constant weight is an `nn.param` named after its initializer
/// (or after the Constant/Identity output that holds it; a tensor changed at import, e.g. a Gemm
/// weight transposed, gets a derived name such as `fc.weight.transposed`), and `initializers`
/// receives exactly those parameters as float32 tensors, ready for `bindWeights`. A weight given
/// as a graph input is a function argument like the other inputs (a run-time weight). Shape
/// subgraphs are folded at import (Kiln's shapes are static).
///
/// Errors are reported through the context's diagnostic engine at the node's location (naming
/// the node, its op type and what would fix it), or at the file for file-level problems; returns
/// null after any error, and then `initializers` is left empty.
mlir::OwningOpRef<mlir::ModuleOp> importOnnx(const std::string &path, mlir::MLIRContext &context,
                                             const OnnxImportOptions &options,
                                             std::map<std::string, HostTensor> &initializers);

} // namespace kiln

#endif
