// Sums shared by the training lowerings (per-channel sums and batch statistics, whole-tensor sums),
// each a root stage. Large sums are split in two: a partial sum over the innermost dimension (a
// stage with the outer dimensions, vectorized over channels and parallel over rows) and the total
// over the partial sums, so no reduction is recomputed per element and little runs serially.
#include "compiler/halide/Lowering.h"

#include <algorithm>

namespace kiln::halide {

/// A root stage summing `value` (arguments with extents `extents`) over the arguments `reduced`;
/// the result keeps the other arguments in order, and `keptExtents` receives their extents.
static Halide::Func sumOver(LoweringState &state, const std::string &name, const Halide::Func &value,
                            const std::vector<int64_t> &extents, const std::vector<int> &reduced,
                            std::vector<int64_t> &keptExtents) {
  Halide::Region ranges;
  for (int d : reduced)
    ranges.emplace_back(0, static_cast<int>(extents[d]));
  Halide::RDom r(ranges, "r");
  std::vector<Halide::Var> kept;
  std::vector<Halide::Expr> args;
  keptExtents.clear();
  for (size_t d = 0, next = 0; d < extents.size(); ++d) {
    if (next < reduced.size() && reduced[next] == static_cast<int>(d)) {
      args.push_back(r[static_cast<int>(next++)]);
      continue;
    }
    kept.emplace_back("k" + std::to_string(d));
    args.push_back(kept.back());
    keptExtents.push_back(extents[d]);
  }
  Halide::Func sum(state.freshName(name));
  sum(kept) = Halide::sum(value(args));
  Stage stage;
  stage.output = sum;
  stage.extents = keptExtents;
  state.stages.push_back(stage);
  return sum;
}

Halide::Func channelSum(LoweringState &state, const std::string &name, const Halide::Func &value,
                        const std::vector<int64_t> &shape) {
  const int rank = static_cast<int>(shape.size());
  std::vector<int> perm = storagePerm(rank);
  int channel = static_cast<int>(std::find(perm.begin(), perm.end(), 1) - perm.begin());
  std::vector<int64_t> extents = storageExtents(shape);
  Halide::Func source = value;
  if (rank >= 3) {
    // Partial sums over the innermost argument that is not the channel.
    int inner = channel == 0 ? 1 : 0;
    std::vector<int64_t> partialExtents;
    source = sumOver(state, name + "_partial", value, extents, {inner}, partialExtents);
    extents = partialExtents;
    if (inner < channel)
      --channel;
  }
  std::vector<int> rest;
  for (int d = 0; d < static_cast<int>(extents.size()); ++d)
    if (d != channel)
      rest.push_back(d);
  std::vector<int64_t> keptExtents;
  return sumOver(state, name, source, extents, rest, keptExtents);
}

Halide::Func channelSumOf(LoweringState &state, mlir::Value value, const TensorRef &tensor) {
  auto found = state.channelSums.find(value);
  if (found != state.channelSums.end())
    return found->second;
  Halide::Func sum = channelSum(state, "channel_sum", tensor.func, tensor.shape);
  state.channelSums[value] = sum;
  return sum;
}

float perChannelCount(const std::vector<int64_t> &shape) {
  return static_cast<float>(HostTensor::numElements(shape) / shape[1]);
}

ChannelStatistics batchStatisticsOf(LoweringState &state, mlir::Value value, const TensorRef &tensor) {
  auto found = state.batchStatistics.find(value);
  if (found != state.batchStatistics.end())
    return found->second;
  // Two passes (mean, then squared deviations from it), as stable as the reference.
  const float count = perChannelCount(tensor.shape);
  Halide::Var c("c");
  ChannelStatistics stats{Halide::Func(state.freshName("batch_mean")), Halide::Func(state.freshName("batch_var"))};
  Halide::Func sum = channelSumOf(state, value, tensor);
  stats.mean(c) = sum(c) / count;
  std::vector<Halide::Var> v = storageVars(tensor.rank());
  Halide::Func squares(state.freshName("batch_squares"));
  Halide::Expr deviation = tensor.func(v) - stats.mean(logicalOf(v)[1]);
  squares(v) = deviation * deviation;
  Halide::Func squareSum = channelSum(state, "batch_square_sum", squares, tensor.shape);
  stats.variance(c) = squareSum(c) / count;
  state.batchStatistics[value] = stats;
  return stats;
}

Halide::Func totalSum(LoweringState &state, const std::string &name, const Halide::Func &value,
                      const std::vector<int64_t> &shape) {
  std::vector<int64_t> extents = storageExtents(shape), partialExtents, none;
  const int rank = static_cast<int>(extents.size());
  std::vector<int> inner;
  for (int d = 0; d + 1 < rank; ++d)
    inner.push_back(d);
  Halide::Func source = value;
  if (rank >= 2) {
    // Partial sums per outermost index (per sample), then their total.
    source = sumOver(state, name + "_partial", value, extents, inner, partialExtents);
    extents = partialExtents;
  }
  return sumOver(state, name, source, extents, {0}, none);
}

} // namespace kiln::halide
