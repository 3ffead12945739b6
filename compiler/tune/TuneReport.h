// Tables of tuned schedules: the summary at the end of kiln tune (one row per layer signature)
// and the per-layer schedule table of kiln inspect --tuning.
#ifndef KILN_TUNE_TUNEREPORT_H
#define KILN_TUNE_TUNEREPORT_H

#include "compiler/halide/HalideBackend.h"
#include "compiler/tune/Tuner.h"

#include "llvm/Support/raw_ostream.h"

#include <vector>

namespace kiln {

/// layers, default ms, best ms, speedup, chosen schedule, note and signature of each result.
void printTuneSummary(const std::vector<LayerTuning> &results, llvm::raw_ostream &os);

/// Each conv and dense layer of `model`: its schedule, whether it is tuned, and its signature; or
/// the autoscheduler that scheduled the whole pipeline.
void printLayerSchedules(const HalideModel &model, llvm::raw_ostream &os);

} // namespace kiln

#endif
