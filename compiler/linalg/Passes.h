// The passes of the linalg backend. `convert-nn-to-linalg` rewrites every nn layer op of a
// function into linalg / tensor / arith / math ops on tensors (nn.param stays: parameters are
// bound to constants by lowerToLinalg before the pass runs, see LinalgBackend.h).
#ifndef KILN_LINALG_PASSES_H
#define KILN_LINALG_PASSES_H

#include "mlir/Pass/Pass.h"

#include <memory>

namespace kiln {

/// convert-nn-to-linalg: every nn layer op of inference (conv2d, conv_transpose2d, dense, pools,
/// batch_norm, lrn, activations, binary and variadic ops, softmax, log_softmax, flatten, reshape,
/// concat, pad, resize, dropout) and every training op (NNTrainingOps.td: gradients, losses,
/// training forms, optimizer updates) to linalg on tensors. Fails (naming the op) if an nn op is left.
std::unique_ptr<mlir::Pass> createConvertNNToLinalgPass();

/// Registers the backend's passes with the global registry (for kiln-opt).
void registerLinalgBackendPasses();

/// kiln-parallelize-foralls{min-work=N}: on bufferized IR, each outermost scf.forall with at least
/// two iterations and about N element operations of work becomes an OpenMP worksharing loop
/// (omp.parallel + omp.wsloop, static schedule) run on the OpenMP threads (ParallelizeForalls.cpp).
std::unique_ptr<mlir::Pass> createParallelizeForallsPass();
void registerParallelizeForallsPass();

} // namespace kiln

#endif
