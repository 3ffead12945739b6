// kiln tune's schedule space: membership, neighbour mutation, crossover and the cost model.
#include "compiler/tune/ScheduleSpace.h"

#include <algorithm>
#include <cmath>

namespace kiln {

namespace {
/// The knobs of one layer kind, as pointers into a schedule.
std::vector<std::pair<int HalideStageSchedule::*, const std::vector<int> ScheduleSpace::*>>
knobsOf(HalideLayer::Kind kind) {
  if (kind == HalideLayer::Kind::Conv)
    return {{&HalideStageSchedule::vectorWidth, &ScheduleSpace::vectorWidths},
            {&HalideStageSchedule::convChannelBlock, &ScheduleSpace::channelBlocks},
            {&HalideStageSchedule::convPixelBlock, &ScheduleSpace::pixelBlocks},
            {&HalideStageSchedule::convRowBlock, &ScheduleSpace::rowBlocks},
            {&HalideStageSchedule::convReductionUnroll, &ScheduleSpace::reductionUnrolls}};
  return {{&HalideStageSchedule::vectorWidth, &ScheduleSpace::vectorWidths},
          {&HalideStageSchedule::denseBlock, &ScheduleSpace::denseBlocks}};
}

bool member(const std::vector<int> &values, int v) { return std::find(values.begin(), values.end(), v) != values.end(); }

/// The index of the value of `values` closest to `v`.
size_t closest(const std::vector<int> &values, int v) {
  size_t best = 0;
  for (size_t i = 1; i < values.size(); ++i)
    if (std::abs(values[i] - v) < std::abs(values[best] - v))
      best = i;
  return best;
}

/// How much of `tiles` x `block` covers `extent` beyond it (ShiftInwards recomputes the overlap).
double overhang(int64_t extent, int64_t block) {
  int64_t tiles = (extent + block - 1) / block;
  return static_cast<double>(tiles * block) / static_cast<double>(extent);
}
} // namespace

int ScheduleSpace::registersNeeded(const HalideStageSchedule &s, HalideLayer::Kind kind) {
  if (kind == HalideLayer::Kind::Dense) {
    int vectors = std::max(1, s.denseBlock / s.vectorWidth);
    return 2 * vectors + 1;
  }
  int vectors = std::max(1, s.convChannelBlock / s.vectorWidth);
  const int rows = s.convAlgorithm == ConvAlgorithm::Winograd ? 1 : s.convRowBlock; // Winograd: rows per task
  return vectors * s.convPixelBlock * rows + vectors + 1;
}

bool ScheduleSpace::contains(const HalideStageSchedule &s, HalideLayer::Kind kind) const {
  for (auto [field, values] : knobsOf(kind))
    if (!member(this->*values, s.*field))
      return false;
  if (kind == HalideLayer::Kind::Conv && s.convChannelBlock % s.vectorWidth != 0)
    return false;
  return registersNeeded(s, kind) <= vectorRegisters;
}

HalideStageSchedule ScheduleSpace::nearest(const HalideStageSchedule &in, HalideLayer::Kind kind) const {
  HalideStageSchedule s = in;
  for (auto [field, values] : knobsOf(kind))
    s.*field = (this->*values)[closest(this->*values, s.*field)];
  if (kind == HalideLayer::Kind::Conv) {
    // The closest listed multiple of the vector width (every width divides some listed block).
    int best = -1;
    for (int block : channelBlocks)
      if (block % s.vectorWidth == 0 && (best < 0 || std::abs(block - s.convChannelBlock) < std::abs(best - s.convChannelBlock)))
        best = block;
    s.convChannelBlock = best;
  }
  // Shrink the tile until it fits: rows first, then pixels, then channels.
  auto shrink = [&](int HalideStageSchedule::*field, const std::vector<int> &values) {
    size_t i = closest(values, s.*field);
    while (registersNeeded(s, kind) > vectorRegisters && i > 0)
      s.*field = values[--i];
  };
  if (kind == HalideLayer::Kind::Conv) {
    shrink(&HalideStageSchedule::convRowBlock, rowBlocks);
    shrink(&HalideStageSchedule::convPixelBlock, pixelBlocks);
    for (auto block = channelBlocks.rbegin(); block != channelBlocks.rend(); ++block)
      if (registersNeeded(s, kind) > vectorRegisters && *block < s.convChannelBlock && *block % s.vectorWidth == 0)
        s.convChannelBlock = *block;
  } else {
    shrink(&HalideStageSchedule::denseBlock, denseBlocks);
  }
  return s;
}

HalideStageSchedule ScheduleSpace::mutate(const HalideStageSchedule &parent, HalideLayer::Kind kind,
                                          std::mt19937 &rng) const {
  auto knobs = knobsOf(kind);
  for (int attempt = 0; attempt < 32; ++attempt) {
    HalideStageSchedule child = parent;
    int changes = 1 + static_cast<int>(rng() % 2);
    for (int k = 0; k < changes; ++k) {
      // Three extra slots: parallel on/off and, for convs, the loop order of channel blocks and
      // the algorithm (Auto moves to either).
      size_t which = rng() % (knobs.size() + 3);
      if (which == knobs.size()) {
        child.parallel = !child.parallel;
        continue;
      }
      if (which > knobs.size()) {
        if (kind == HalideLayer::Kind::Conv && which == knobs.size() + 1)
          child.convChannelsOuter = !child.convChannelsOuter.value_or(false);
        else if (kind == HalideLayer::Kind::Conv)
          child.convAlgorithm = child.convAlgorithm == ConvAlgorithm::Winograd ||
                                        (child.convAlgorithm == ConvAlgorithm::Auto && rng() % 2)
                                    ? ConvAlgorithm::Direct
                                    : ConvAlgorithm::Winograd;
        continue;
      }
      auto [field, valuesOf] = knobs[which];
      const std::vector<int> &values = this->*valuesOf;
      int index = static_cast<int>(closest(values, child.*field));
      int step = (rng() % 4 == 0 ? 2 : 1) * (rng() % 2 ? 1 : -1);
      child.*field = values[std::clamp(index + step, 0, static_cast<int>(values.size()) - 1)];
    }
    if (kind == HalideLayer::Kind::Conv && child.vectorWidth != parent.vectorWidth) {
      // Keep the same number of channels per tile where possible.
      child.convChannelBlock = nearest(child, kind).convChannelBlock;
    }
    if (contains(child, kind) && child != parent)
      return child;
  }
  return parent;
}

HalideStageSchedule ScheduleSpace::crossover(const HalideStageSchedule &a, const HalideStageSchedule &b,
                                             HalideLayer::Kind kind, std::mt19937 &rng) const {
  HalideStageSchedule child = a;
  for (auto [field, values] : knobsOf(kind))
    if (rng() % 2)
      child.*field = b.*field;
  if (rng() % 2)
    child.parallel = b.parallel;
  if (rng() % 2)
    child.convChannelsOuter = b.convChannelsOuter;
  if (rng() % 2)
    child.convAlgorithm = b.convAlgorithm;
  return contains(child, kind) ? child : a;
}

std::string formatSchedule(HalideLayer::Kind kind, const HalideStageSchedule &s) {
  std::string text = kind == HalideLayer::Kind::Conv
                         ? "c" + std::to_string(s.convChannelBlock) + " x" + std::to_string(s.convPixelBlock) + " y" +
                               std::to_string(s.convRowBlock) + " r" + std::to_string(s.convReductionUnroll) +
                               (s.convChannelsOuter.value_or(false) ? " co" : "") +
                               (s.convAlgorithm == ConvAlgorithm::Winograd ? " wino" : "")
                         : "m" + std::to_string(s.denseBlock);
  return text + " v" + std::to_string(s.vectorWidth) + (s.parallel ? " par" : " ser");
}

double predictedCost(const HalideLayer &layer, const HalideStageSchedule &s, int threads) {
  const double lanes = 16.0 / s.vectorWidth; // narrower vectors: more instructions for the same work
  double cost = lanes;
  int64_t parallelUnits = 1;
  if (layer.kind == HalideLayer::Kind::Conv) {
    const int64_t C = layer.extents[0], OW = layer.extents[1], OH = layer.extents[2], N = layer.extents[3];
    const bool winograd = s.convAlgorithm == ConvAlgorithm::Winograd;
    if (C >= 4) {
      const int rows = winograd ? 1 : s.convRowBlock; // Winograd's row block is rows of tiles per task
      const int vectors = std::max(1, s.convChannelBlock / s.vectorWidth);
      const int accumulators = vectors * s.convPixelBlock * rows;
      if (winograd) {
        // Per output and input channel, 4 multiply-adds instead of 9, plus the transforms (per
        // output: the input tile's 8 adds per input channel shared by every filter, 6 adds for the
        // output) counted double as they stream through memory; pixels and rows in 2x2 tiles.
        const double Ci = static_cast<double>(layer.reduction[0]);
        cost *= (4 * Ci + 2 * (8 * Ci / C + 6)) / (9 * Ci);
        cost *= overhang(C, s.convChannelBlock) * overhang((OW + 1) / 2, s.convPixelBlock) * overhang(OH, 2);
      } else {
        cost *= overhang(C, s.convChannelBlock) * overhang(OW, s.convPixelBlock) * overhang(OH, s.convRowBlock);
      }
      // Loads and broadcasts per FMA above one leave the FMA ports idle; fewer than 8 independent
      // accumulators cannot hide the FMA latency (4 cycles, 2 ports).
      cost *= std::max(1.0, static_cast<double>(vectors + s.convPixelBlock * rows) / accumulators);
      cost *= std::max(1.0, 8.0 / accumulators);
      if (ScheduleSpace::registersNeeded(s, layer.kind) > 32)
        cost *= 3.0; // spills
      // Whatever the outer loop is, the other operand is re-read once per its iteration: weights
      // per row of tiles, or the input per channel block. Beyond the L2 (about 1 MiB) that streams
      // from further out.
      const int64_t weightBytes = 4 * C * layer.reduction[0] * layer.reduction[1] * layer.reduction[2];
      const int64_t inputBytes = 4 * layer.reduction[0] * OW * OH; // about: input channels x output plane
      const int64_t reread = s.convChannelsOuter.value_or(false) ? inputBytes : weightBytes;
      if (reread > (int64_t(1) << 20))
        cost *= 1.5;
      if (winograd)
        parallelUnits = ((OH + 2 * s.convRowBlock - 1) / (2 * s.convRowBlock)) * N;
      else
        parallelUnits = s.convChannelsOuter.value_or(false) ? ((C + s.convChannelBlock - 1) / s.convChannelBlock) * N
                                            : ((OH + s.convRowBlock - 1) / s.convRowBlock) * N;
    } else {
      cost *= overhang(OW, s.vectorWidth);
      parallelUnits = OH * N;
    }
    if (s.convReductionUnroll == 1)
      cost *= 1.05; // loop overhead per input channel
  } else {
    const int64_t M = layer.extents[0];
    cost *= overhang(M, s.denseBlock);
    parallelUnits = (M + s.denseBlock - 1) / s.denseBlock;
  }
  if (threads > 1) {
    if (!s.parallel) {
      cost *= threads;
    } else {
      // Whole units per thread: the slowest thread sets the time.
      int64_t rounds = (parallelUnits + threads - 1) / threads;
      cost *= static_cast<double>(rounds * threads) / static_cast<double>(parallelUnits);
    }
  }
  return cost;
}

} // namespace kiln
