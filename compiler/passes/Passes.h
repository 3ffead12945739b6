// Kiln's graph passes on the nn dialect: factories and their registration for kiln-opt.
// Each pass lives in its own file (DropIdentities.cpp, FoldBatchNorm.cpp, TrimPaddingTaps.cpp,
// ParamsToArguments.cpp, Autodiff.cpp) and has a lit test of the same name in tests/lit/compiler/passes/.
#ifndef KILN_PASSES_PASSES_H
#define KILN_PASSES_PASSES_H

#include "compiler/weights/WeightStore.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Pass/Pass.h"

#include <memory>
#include <string>
#include <vector>

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

/// `nn-trim-padding-taps`: drops the kernel rows and columns of each nn.conv2d (weight from an
/// nn.param, static shapes) that only ever meet zero padding, shrinking its padding to match
/// (TrimPaddingTaps.cpp). With a `weights` store the pass also slices the weight's data into it
/// under the new name (failing, naming the parameter, if it is missing); without one it rewrites
/// the IR only (kiln-opt).
std::unique_ptr<mlir::Pass> createTrimPaddingTapsPass(WeightStore *weights = nullptr);

/// `nn-params-to-arguments`: every nn.param of @forward becomes a trailing argument carrying
/// `nn.param = "<name>"` (one per distinct name, in order of first appearance).
std::unique_ptr<mlir::Pass> createParamsToArgumentsPass();

/// What nn-autodiff builds into @train_step (docs/training.md); PyTorch's defaults.
struct AutodiffOptions {
  std::string loss = "softmax_cross_entropy"; ///< or "mse"
  std::string optimizer = "sgd";              ///< sgd, momentum, nesterov, rmsprop or adam
  float momentum = 0.9f, weightDecay = 0.0f, alpha = 0.99f, beta1 = 0.9f, beta2 = 0.999f, epsilon = 1e-8f;
  float batchNormMomentum = 0.1f;
};

/// `nn-autodiff`: adds func @train_step (inputs, labels, hyper, params, optimizer state) ->
/// (loss, new params, new state) built from @forward after nn-params-to-arguments.
std::unique_ptr<mlir::Pass> createAutodiffPass(const AutodiffOptions &options);
std::unique_ptr<mlir::Pass> createAutodiffPass();

/// The optimizer state slots per trained parameter, with PyTorch's names (sgd: none).
std::vector<std::string> optimizerSlotNames(llvm::StringRef optimizer);

/// Registers every Kiln pass with MLIR's pass registry (kiln-opt flags). The registered
/// nn-fold-batch-norm and nn-trim-padding-taps have no weight store: they rewrite the IR only.
inline void registerKilnPasses() {
  mlir::registerPass([] { return createDropIdentitiesPass(); });
  mlir::registerPass([] { return createFoldBatchNormPass(); });
  mlir::registerPass([] { return createTrimPaddingTapsPass(); });
  mlir::registerPass([] { return createParamsToArgumentsPass(); });
  mlir::registerPass([] { return createAutodiffPass(); });
}

} // namespace kiln

#endif
