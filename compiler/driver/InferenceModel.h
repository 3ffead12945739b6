// The nn module an inference compile lowers, prepared in one call for the commands that need the
// lowered layers without building a library (kiln tune, kiln inspect --tuning): import, graph
// passes, parameters bound, batch norms folded -- the phases 1-3 of kiln compile.
#ifndef KILN_DRIVER_INFERENCEMODEL_H
#define KILN_DRIVER_INFERENCEMODEL_H

#include "compiler/weights/WeightStore.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"

#include <cstdint>
#include <optional>
#include <string>

namespace kiln {

struct InferenceModel {
  mlir::OwningOpRef<mlir::ModuleOp> module;
  WeightStore weights;
};

/// Prepares `modelPath` as kiln compile would (`weightsPath` empty: embedded data, else the seeded
/// initialisation). Errors are reported on stderr; returns failure after any.
mlir::FailureOr<InferenceModel> loadInferenceModel(const std::string &modelPath, mlir::MLIRContext &context,
                                                   std::optional<int64_t> batch, const std::string &weightsPath,
                                                   uint64_t seed);

} // namespace kiln

#endif
