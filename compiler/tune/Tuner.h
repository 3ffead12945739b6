// kiln tune's search: for each distinct layer signature of a lowered model (HalideModel::layers),
// an evolutionary search over the schedule space (ScheduleSpace.h), seeded by the default
// schedule and any earlier record, children ranked by the cost model before one is measured.
// The budget is split over the signatures in proportion to their FLOPs; the winner is re-measured
// against the default, interleaved, before it is kept. Records are merged into the tuning file
// as soon as a layer improves (TuningRecords.h), so an interrupted run loses nothing.
#ifndef KILN_TUNE_TUNER_H
#define KILN_TUNE_TUNER_H

#include "compiler/halide/HalideBackend.h"
#include "compiler/weights/WeightStore.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace kiln {

struct TuneOptions {
  std::string recordsPath;          ///< JSON-lines file: read first, merged into, rewritten atomically
  double budgetSeconds = 300;       ///< wall-clock time for the whole search
  int threads = 1;                  ///< Halide threads the layers are timed with
  uint64_t seed = 0;                ///< search and input randomness
  bool refine = false;              ///< also search signatures whose record is complete
  std::function<bool()> interrupted; ///< polled between trials; true stops the search
};

/// The outcome for one signature.
struct LayerTuning {
  std::string signature;
  HalideLayer::Kind kind = HalideLayer::Kind::Conv;
  std::vector<std::string> layers; ///< names of the model's layers with this signature
  int64_t flops = 0;               ///< of all of them
  HalideStageSchedule best;        ///< effective knobs
  double defaultMs = 0, bestMs = 0;
  int trials = 0;                  ///< measured in this run
  std::string note;                ///< "from file", "interrupted", or why it was not tuned
};

/// Tunes `model`'s layers (lowered with the default schedule); `weights` are the model's. Returns
/// one LayerTuning per signature (largest FLOPs first); fails only when the records file cannot be
/// read or written.
mlir::FailureOr<std::vector<LayerTuning>> tuneLayers(const HalideModel &model, const WeightStore &weights,
                                                     const TuneOptions &options, std::string &error);

} // namespace kiln

#endif
