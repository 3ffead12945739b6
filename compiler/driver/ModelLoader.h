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

/// Imports `path` (chosen by extension: .kiln) and verifies it. Errors go to stderr; returns
/// null after any error.
mlir::OwningOpRef<mlir::ModuleOp> loadModel(const std::string &path, mlir::MLIRContext &context,
                                            std::optional<int64_t> batch);

/// Binds every nn.param of `module`: from the safetensors file `weightsPath` when it is not
/// empty, else by the seeded initialisation. Returns failure with `error` set.
mlir::LogicalResult bindModelWeights(mlir::ModuleOp module, const std::string &weightsPath, uint64_t seed,
                                     WeightStore &weights, std::string &error);

/// The func @forward of a Kiln module.
mlir::func::FuncOp getForward(mlir::ModuleOp module);

} // namespace kiln

#endif
