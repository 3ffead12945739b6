// Reductions: nn.reduce (every kind) and its gradient nn.reduce_grad, as Reduction stages (an
// accumulator over the reduced axes, finished pointwise), and the sums shared by the training
// lowerings (per-channel sums and batch statistics, whole-tensor sums), each a root stage. Large
// shared sums are split in two: a partial sum over the innermost dimension (a stage with the outer
// dimensions, vectorized over channels and parallel over rows) and the total over the partial
// sums, so no reduction is recomputed per element and little runs serially.
#include "compiler/halide/Lowering.h"

#include "kiln/Dialect/NN/NNOps.h"

#include <algorithm>
#include <functional>
#include <limits>

using namespace mlir;

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

namespace {
/// How a Reduction stage combines the elements it reduces.
enum class Combine { Sum, Max, Min, Product, ArgMax, ArgMin };
} // namespace

/// A Reduction stage of (a function of) the tensor `input` over `axes` (kept as size-1 dimensions): the
/// accumulator combines element(logical input indices) over the axes, and the result at storage
/// Vars v is finish(accumulator(v), logical indices of v). Arg kinds accumulate (value, index
/// along the single axis, as a float) and finish with the index.
static TensorRef reduction(LoweringState &state, const std::string &name, const TensorRef &input,
                           llvm::ArrayRef<int64_t> axes, Combine combine,
                           const std::function<Halide::Expr(const std::vector<Halide::Expr> &)> &element,
                           const std::function<Halide::Expr(Halide::Expr, const std::vector<Halide::Expr> &)> &finish) {
  const std::vector<int64_t> &shape = input.shape;
  const int rank = input.rank();
  std::vector<int64_t> outShape = shape;
  for (int64_t axis : axes)
    outShape[axis] = 1;
  // One reduction variable per reduced argument, the one contiguous in memory first, then in
  // storage order.
  std::vector<int> perm = storagePerm(rank), args = {input.memoryInner};
  for (int i = 0; i < rank; ++i)
    if (i != input.memoryInner)
      args.push_back(i);
  Halide::Region ranges;
  std::vector<int> reducedDims;
  for (int i : args)
    if (llvm::is_contained(axes, perm[i])) {
      ranges.emplace_back(0, static_cast<int>(shape[perm[i]]));
      reducedDims.push_back(perm[i]);
    }
  Halide::RDom r(ranges, "r");
  std::vector<Halide::Var> v = storageVars(rank);
  std::vector<Halide::Expr> logical = logicalOf(v), at = logical;
  for (size_t j = 0; j < reducedDims.size(); ++j)
    at[reducedDims[j]] = r[static_cast<int>(j)];
  Halide::Expr x = element(at);
  const float inf = std::numeric_limits<float>::infinity();
  Halide::Func acc(state.freshName(name + "_acc"));
  Halide::Expr result;
  if (combine == Combine::ArgMax || combine == Combine::ArgMin) {
    const bool max = combine == Combine::ArgMax;
    acc(v) = Halide::Tuple(Halide::Expr(max ? -inf : inf), Halide::Expr(0.0f));
    Halide::Expr best = acc(v)[0], better = max ? x > best : x < best; // ties keep the first
    acc(v) = Halide::Tuple(Halide::select(better, x, best), Halide::select(better, Halide::cast<float>(r.x), acc(v)[1]));
    result = acc(v)[1];
  } else {
    const float init = combine == Combine::Max ? -inf : combine == Combine::Min ? inf
                       : combine == Combine::Product ? 1.0f : 0.0f;
    acc(v) = init;
    Halide::Expr a = acc(v);
    acc(v) = combine == Combine::Sum       ? a + x
             : combine == Combine::Max     ? Halide::max(a, x)
             : combine == Combine::Min     ? Halide::min(a, x)
                                           : a * x;
    result = acc(v);
  }
  Halide::Func out(state.freshName(name));
  out(v) = finish(result, logical);
  TensorRef ref = state.addStage(StageKind::Reduction, out, outShape);
  state.stages[ref.stage].sourceInner = input.memoryInner;
  state.stages[ref.stage].accumulator = acc;
  state.stages[ref.stage].rdom = r;
  return ref;
}

LogicalResult lowerReduce(Operation *operation, LoweringState &state, std::string &error) {
  auto op = cast<nn::ReduceOp>(operation);
  auto input = state.tensor(op.getInput(), error);
  if (failed(input))
    return failure();
  const llvm::StringRef kind = op.getKind();
  llvm::ArrayRef<int64_t> axes = op.getAxes();
  int64_t count = 1;
  for (int64_t axis : axes)
    count *= input->shape[axis];
  auto read = [&](const std::vector<Halide::Expr> &at) { return input->at(at); };
  auto same = [](Halide::Expr acc, const std::vector<Halide::Expr> &) { return acc; };
  const std::string name = "reduce_" + kind.str();
  TensorRef out;
  if (kind == "sum" || kind == "mean" || kind == "log_sum") {
    out = reduction(state, name, *input, axes, Combine::Sum, read,
                    [&](Halide::Expr acc, const std::vector<Halide::Expr> &) {
                      return kind == "mean" ? acc * (1.0f / static_cast<float>(count))
                             : kind == "log_sum" ? Halide::log(acc) : acc;
                    });
  } else if (kind == "sum_square" || kind == "l2") {
    auto square = [&](const std::vector<Halide::Expr> &at) { return input->at(at) * input->at(at); };
    out = reduction(state, name, *input, axes, Combine::Sum, square,
                    [&](Halide::Expr acc, const std::vector<Halide::Expr> &) {
                      return kind == "l2" ? Halide::sqrt(acc) : acc;
                    });
  } else if (kind == "l1") {
    auto magnitude = [&](const std::vector<Halide::Expr> &at) { return Halide::abs(input->at(at)); };
    out = reduction(state, name, *input, axes, Combine::Sum, magnitude, same);
  } else if (kind == "max" || kind == "min") {
    out = reduction(state, name, *input, axes, kind == "max" ? Combine::Max : Combine::Min, read, same);
  } else if (kind == "prod") {
    out = reduction(state, name, *input, axes, Combine::Product, read, same);
  } else if (kind == "arg_max" || kind == "arg_min") {
    out = reduction(state, name, *input, axes, kind == "arg_max" ? Combine::ArgMax : Combine::ArgMin, read,
                    same);
  } else if (kind == "log_sum_exp") {
    // max + log(sum of exp(x - max)): the max is a Reduction stage of its own.
    TensorRef max = reduction(state, name + "_max", *input, axes, Combine::Max, read, same);
    auto shifted = [&](const std::vector<Halide::Expr> &at) {
      return Halide::exp(input->at(at) - broadcastRead(max, at));
    };
    out = reduction(state, name, *input, axes, Combine::Sum, shifted,
                    [&](Halide::Expr acc, const std::vector<Halide::Expr> &logical) {
                      return max.at(logical) + Halide::log(acc);
                    });
  } else {
    error = "unknown reduction kind '" + kind.str() + "'";
    return failure();
  }
  state.values[op.getOutput()] = out;
  return success();
}

LogicalResult lowerReduceGrad(Operation *operation, LoweringState &state, std::string &error) {
  auto op = cast<nn::ReduceGradOp>(operation);
  auto input = state.tensor(op.getInput(), error);
  auto output = state.tensor(op.getOutput(), error);
  auto gradOutput = state.tensor(op.getGradOutput(), error);
  if (failed(input) || failed(output) || failed(gradOutput))
    return failure();
  const llvm::StringRef kind = op.getKind();
  llvm::ArrayRef<int64_t> axes = op.getAxes();
  std::vector<Halide::Var> v = storageVars(input->rank());
  std::vector<Halide::Expr> logical = logicalOf(v);
  // x here, y and dy broadcast over the axes.
  Halide::Expr x = input->func(v), y = broadcastRead(*output, logical), dy = broadcastRead(*gradOutput, logical);
  int64_t count = 1;
  for (int64_t axis : axes)
    count *= input->shape[axis];
  Halide::Expr dx;
  if (kind == "sum")
    dx = dy;
  else if (kind == "mean")
    dx = dy * (1.0f / static_cast<float>(count));
  else if (kind == "sum_square")
    dx = 2.0f * x * dy;
  else if (kind == "l1")
    dx = Halide::select(x > 0.0f, dy, Halide::select(x < 0.0f, -dy, 0.0f));
  else if (kind == "l2")
    dx = Halide::select(y == 0.0f, 0.0f, x / y * dy);
  else if (kind == "log_sum")
    dx = dy / Halide::exp(y);
  else if (kind == "log_sum_exp")
    dx = Halide::exp(x - y) * dy;
  else if (kind == "prod")
    dx = y / x * dy;
  else if (kind == "max" || kind == "min") {
    // Shared by the k elements equal to the extreme (a Reduction stage counts them).
    TensorRef ties = reduction(
        state, "reduce_grad_ties", *input, axes, Combine::Sum,
        [&](const std::vector<Halide::Expr> &at) {
          return Halide::select(input->at(at) == broadcastRead(*output, at), 1.0f, 0.0f);
        },
        [](Halide::Expr acc, const std::vector<Halide::Expr> &) { return acc; });
    dx = Halide::select(x == y, dy / broadcastRead(ties, logical), 0.0f);
  } else if (kind == "arg_max" || kind == "arg_min")
    dx = Halide::Expr(0.0f);
  else {
    error = "unknown reduction kind '" + kind.str() + "'";
    return failure();
  }
  Halide::Func out(state.freshName("reduce_grad_" + kind.str()));
  out(v) = dx;
  // Its own stage: max / min's tie count reads the input, so it cannot fuse into the input's stage.
  state.values[op.getGradInput()] = state.addStage(StageKind::Pointwise, out, input->shape);
  return success();
}

} // namespace kiln::halide
