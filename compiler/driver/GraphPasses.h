// The graph passes run on the nn dialect before lowering: the nn-opt phase (IR only) and the
// passes that also rewrite bound parameter data.
#ifndef KILN_DRIVER_GRAPHPASSES_H
#define KILN_DRIVER_GRAPHPASSES_H

#include "compiler/weights/WeightStore.h"

#include "mlir/IR/BuiltinOps.h"

namespace kiln {

/// Drops identity layers, canonicalizes and removes common subexpressions; errors are reported
/// on the module.
mlir::LogicalResult runGraphPasses(mlir::ModuleOp module);

/// After the parameters are bound: folds batch_norm into conv2d/dense, adding the new
/// parameters to `weights`. For inference compiles only (it bakes in the running statistics).
mlir::LogicalResult runWeightPasses(mlir::ModuleOp module, WeightStore &weights);

} // namespace kiln

#endif
