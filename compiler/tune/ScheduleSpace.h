// The schedule space kiln tune searches for one layer: the values each knob of
// HalideStageSchedule may take, mutation to neighbouring values and crossover that stay inside
// the space, and a small analytic cost model that prunes tiles that would spill registers and
// ranks the rest before anything is measured.
#ifndef KILN_TUNE_SCHEDULESPACE_H
#define KILN_TUNE_SCHEDULESPACE_H

#include "compiler/halide/HalideBackend.h"

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace kiln {

/// The values each knob may take (in increasing order).
struct ScheduleSpace {
  std::vector<int> vectorWidths{4, 8, 16};
  std::vector<int> channelBlocks{8, 16, 32, 48, 64, 96, 128};
  std::vector<int> pixelBlocks{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  std::vector<int> rowBlocks{1, 2, 3, 4};
  std::vector<int> reductionUnrolls{1, 2, 4, 8};
  std::vector<int> denseBlocks{16, 32, 64, 128, 256};
  int vectorRegisters = 32; ///< registers of the target's widest vectors (AVX-512: 32 zmm)

  /// Whether every knob of `s` is one of the values above, the channel block a multiple of the
  /// vector width, and the register tile of `kind` fits the registers (registersNeeded).
  bool contains(const HalideStageSchedule &s, HalideLayer::Kind kind) const;

  /// Registers the innermost loop of `kind` keeps live: conv, (channel vectors x pixels x rows,
  /// one row for Winograd) accumulators + one weight register per channel vector + one broadcast
  /// input; dense, one accumulator and one weight register per feature vector + the broadcast input.
  static int registersNeeded(const HalideStageSchedule &s, HalideLayer::Kind kind);

  /// `parent` with one or two of the knobs that matter for `kind` moved to a neighbouring value
  /// (and parallel sometimes flipped); always inside the space when `parent` is.
  HalideStageSchedule mutate(const HalideStageSchedule &parent, HalideLayer::Kind kind, std::mt19937 &rng) const;

  /// Each knob from one of the two parents; inside the space (else `a`) when both are.
  HalideStageSchedule crossover(const HalideStageSchedule &a, const HalideStageSchedule &b, HalideLayer::Kind kind,
                                std::mt19937 &rng) const;

  /// The nearest point of the space to `s` (each knob to the closest value, the channel block to
  /// a multiple of the vector width, tiles shrunk until they fit the registers).
  HalideStageSchedule nearest(const HalideStageSchedule &s, HalideLayer::Kind kind) const;
};

/// The knobs that matter for `kind`, short: conv "c32 x14 y1 r4 v16 par", dense "m64 v16 par"
/// (channel block, pixel block, row block, reduction unroll, " co" when channel blocks are the
/// outer loop, " wino" for Winograd, vector width, parallel or "ser").
std::string formatSchedule(HalideLayer::Kind kind, const HalideStageSchedule &s);

/// Predicted time of `layer` under the effective schedule `s`, in arbitrary units (only the order
/// matters): lanes wasted by narrow vectors, work recomputed by tiles that overhang the shape,
/// loads per FMA, FMA latency not hidden by enough accumulators, an operand re-read from beyond
/// the L2 by the conv's loop order, and idle threads.
double predictedCost(const HalideLayer &layer, const HalideStageSchedule &s, int threads);

} // namespace kiln

#endif
