// The backward rules of nn-autodiff, one per forward op: given an op of @train_step's forward pass
// and the gradient of its result, the nn ops that give the gradients of its operands. Every rule
// is built from nn forward ops and the training ops of NNTrainingOps.td; docs/training.md says
// how each one is computed.
#ifndef KILN_COMPILER_PASSES_BACKWARDRULES_H
#define KILN_COMPILER_PASSES_BACKWARDRULES_H

#include "mlir/IR/Builders.h"

#include "llvm/ADT/STLFunctionalExtras.h"

namespace kiln {

/// The pass's table of gradients, as the rules see it.
struct GradientTable {
  /// Whether `value` depends on a trained parameter, so that its gradient is wanted.
  llvm::function_ref<bool(mlir::Value value)> wanted;
  /// Adds `grad` (of the type of `value`) to the gradient of `value`.
  llvm::function_ref<void(mlir::Value value, mlir::Value grad)> accumulate;
};

/// Builds at `builder`'s insertion point the backward rule of `op`, whose result has the gradient
/// `dy`, accumulating the gradient of each operand that `grads` wants. An op without a rule is an
/// error at the op that names it.
mlir::LogicalResult buildBackwardRule(mlir::OpBuilder &builder, mlir::Operation *op, mlir::Value dy,
                                      const GradientTable &grads);

} // namespace kiln

#endif
