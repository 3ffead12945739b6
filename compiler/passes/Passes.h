// Kiln's graph passes on the nn dialect: factories and their registration for kiln-opt.
// Each pass lives in its own file (DropIdentities.cpp, FoldBatchNorm.cpp) and has a lit test of
// the same name in tests/lit/compiler/passes/.
#ifndef KILN_PASSES_PASSES_H
#define KILN_PASSES_PASSES_H

#include "compiler/weights/WeightStore.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Pass/Pass.h"

#include <memory>

namespace kiln {

/// `nn-drop-identities`: replaces every op that is the identity at inference (nn.dropout, and ops
/// whose operands and attributes make them a no-op: a 1x1 stride-1 unpadded pool, a flatten of a
/// rank-2 value, a one-input concat, sum or mean, a reshape to the same shape) by its input.
std::unique_ptr<mlir::Pass> createDropIdentitiesPass();

/// The patterns of `nn-drop-identities`, for use in other pattern sets.
void populateDropIdentitiesPatterns(mlir::RewritePatternSet &patterns);

/// `nn-fold-batch-norm`: folds an nn.batch_norm whose input is an nn.conv2d or nn.dense result
/// used by that batch_norm alone into new nn.param weight and bias of the conv/dense (names in
/// FoldBatchNorm.cpp). With a `weights` store the pass also computes the new parameters' data
/// into it (it reads the old parameters from the same store and fails, naming the parameter, if
/// one is missing); without one it rewrites the IR only (kiln-opt).
std::unique_ptr<mlir::Pass> createFoldBatchNormPass(WeightStore *weights = nullptr);

/// Registers every Kiln pass with MLIR's pass registry (kiln-opt flags). The registered
/// nn-fold-batch-norm has no weight store: it rewrites the IR only.
inline void registerKilnPasses() {
  mlir::registerPass([] { return createDropIdentitiesPass(); });
  mlir::registerPass([] { return createFoldBatchNormPass(); });
}

} // namespace kiln

#endif
