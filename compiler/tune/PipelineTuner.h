// kiln tune's whole-pipeline step: after the per-layer search, the whole model is JIT-compiled
// with Kiln's schedules (the layer records just written), with Kiln's default schedules (a layer
// timed alone, its weights in cache, can mislead) and with each of Halide's autoschedulers
// (halideAutoschedulers()), timed in alternating rounds on the same random inputs;
// the fastest is recorded under the model's pipelineSignature(), so that kiln compile --tuning
// builds the model with it.
#ifndef KILN_TUNE_PIPELINETUNER_H
#define KILN_TUNE_PIPELINETUNER_H

#include "compiler/tune/Tuner.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <string>
#include <vector>

namespace kiln {

/// One whole-pipeline candidate: Kiln's tuned schedules (scheduler ""), its defaults
/// (kDefaultSchedules) or an autoscheduler.
struct PipelineCandidate {
  std::string scheduler;
  double ms = 0;        ///< median over the rounds; 0 when it failed
  double seconds = 0;   ///< to schedule, lower and JIT-compile it
  std::string failure;  ///< why it could not be compiled
};

struct PipelineTuning {
  std::string signature;
  std::vector<PipelineCandidate> candidates; ///< Kiln's first
  std::string winner;                        ///< as PipelineCandidate::scheduler
};

/// Measures the candidates for `fn` (the function kiln tune lowered, with `weights`) and merges
/// the winner into options.recordsPath. Fails only when the records cannot be read or written,
/// or when even Kiln's schedules do not compile.
mlir::FailureOr<PipelineTuning> tunePipeline(mlir::func::FuncOp fn, const WeightStore &weights,
                                             const TuneOptions &options, std::string &error);

/// The candidates as a table: scheduler, ms, ratio to Kiln's, compile seconds, and the choice.
void printPipelineSummary(const PipelineTuning &tuning, llvm::raw_ostream &os);

} // namespace kiln

#endif
