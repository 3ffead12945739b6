// The graph passes run on the nn dialect before lowering (the nn-opt phase).
#ifndef KILN_DRIVER_GRAPHPASSES_H
#define KILN_DRIVER_GRAPHPASSES_H

#include "mlir/IR/BuiltinOps.h"

namespace kiln {

/// Canonicalizes and removes common subexpressions; errors are reported on the module.
mlir::LogicalResult runGraphPasses(mlir::ModuleOp module);

} // namespace kiln

#endif
