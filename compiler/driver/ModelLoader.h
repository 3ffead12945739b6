// Reads a model file (Kiln text today) into a verified nn module, with diagnostics printed as
// file:line:col and the offending source line.
#ifndef KILN_DRIVER_MODELLOADER_H
#define KILN_DRIVER_MODELLOADER_H

#include "compiler/weights/WeightStore.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <cstdint>
#include <optional>
#include <string>

namespace kiln {

/// An MLIR context with the dialects Kiln's models use.
void registerKilnDialects(mlir::MLIRContext &context);

/// Imports `path` (frontend chosen by extension: .kiln, .onnx, or .mlir for nn IR with a func
/// @forward) and verifies it. Parameter data
/// the file carries (ONNX initializers) goes to `embedded` when given. Errors go to stderr;
/// returns null after any error.
mlir::OwningOpRef<mlir::ModuleOp> loadModel(const std::string &path, mlir::MLIRContext &context,
                                            std::optional<int64_t> batch, WeightStore *embedded = nullptr);

/// Binds every nn.param of `module`: from the safetensors file `weightsPath` when it is not
/// empty, else from the data the model file carried (`embedded`), else by the seeded
/// initialisation; a weights file overrides embedded data name by name. Returns failure with
/// `error` set.
mlir::LogicalResult bindModelWeights(mlir::ModuleOp module, const std::string &weightsPath,
                                     const WeightStore &embedded, uint64_t seed, WeightStore &weights,
                                     std::string &error);

/// Prints a diagnostic about a model's layer as `file:line:col: 'layer': error: message` (ONNX
/// files have no line numbers: `model.onnx: 'node': error: message`), notes after it.
void printModelDiagnostic(mlir::Diagnostic &diag);

/// The func @forward of a Kiln module.
mlir::func::FuncOp getForward(mlir::ModuleOp module);

} // namespace kiln

#endif
