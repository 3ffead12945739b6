// One layer of a model measured on its own: the layer's ops (HalideLayer::ops) cloned into a
// one-layer @forward whose arguments are its run-time operands, lowered with a candidate
// schedule, JIT-compiled for the host and timed on fixed random inputs (median of several runs
// after a warm-up). The boundary copies of the one-layer pipeline are scheduled by the defaults,
// so they cost the same for every candidate. The binding, JIT compile and timing also serve the
// whole-model candidates of PipelineTuner.h.
#ifndef KILN_TUNE_LAYERBENCH_H
#define KILN_TUNE_LAYERBENCH_H

#include "compiler/halide/HalideBackend.h"
#include "compiler/weights/WeightStore.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <memory>
#include <string>
#include <vector>

namespace kiln {

/// A candidate schedule compiled for one layer, with its inputs and outputs bound.
struct CompiledCandidate {
  HalideModel model;
  std::vector<Halide::Buffer<float>> inputs, outputs;
};

/// Uniform [-1, 1) tensors of `shapes`, drawn from `seed`.
std::vector<HostTensor> randomInputs(const std::vector<std::vector<int64_t>> &shapes, uint64_t seed);

/// Binds `inputs` (argument order, declared shapes) and fresh output buffers to `model`,
/// JIT-compiles it for the host and runs it once. Fails (with `error`) on a Halide error.
mlir::FailureOr<std::unique_ptr<CompiledCandidate>> compileForTiming(HalideModel model,
                                                                     const std::vector<HostTensor> &inputs,
                                                                     std::string &error);

class LayerBench {
public:
  /// Clones `layer`'s ops into a module of their own (in `layer`'s context); `seed` draws the inputs.
  LayerBench(const HalideLayer &layer, const WeightStore &weights, uint64_t seed);

  /// Lowers the layer with `schedule` for its signature and JIT-compiles it. Fails (with `error`)
  /// on a Halide error, or when the layer alone does not lower to one layer of the same signature.
  mlir::FailureOr<std::unique_ptr<CompiledCandidate>> compile(const HalideStageSchedule &schedule,
                                                              std::string &error);

  /// The median of at least `minRuns` timed runs (more until `minMilliseconds` have passed, at most
  /// 60) after one warm-up run; stops after three runs when those are all slower than `cutoffMs`.
  static double time(CompiledCandidate &candidate, int minRuns, double minMilliseconds, double cutoffMs);

private:
  const HalideLayer &layer;
  const WeightStore &weights;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  std::vector<HostTensor> inputData;
};

} // namespace kiln

#endif
