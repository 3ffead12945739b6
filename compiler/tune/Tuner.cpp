// kiln tune's per-layer search and budget split (see Tuner.h).
#include "compiler/tune/Tuner.h"

#include "compiler/tune/LayerBench.h"
#include "compiler/tune/ScheduleSpace.h"
#include "compiler/tune/TuneProgress.h"
#include "compiler/tune/TuningRecords.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <set>

using namespace mlir;

namespace kiln {

namespace {

using Clock = std::chrono::steady_clock;

/// Each timing is the median of at least this many runs lasting at least this long (compiling a
/// candidate costs far more, so these are cheap).
constexpr int kMinRuns = 9;
constexpr double kMinMilliseconds = 50.0;

double secondsSince(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

double median(std::vector<double> values) {
  std::nth_element(values.begin(), values.begin() + values.size() / 2, values.end());
  return values[values.size() / 2];
}

/// A measured point: the knobs the search asked for (inside the space) and the time they gave.
struct Candidate {
  HalideStageSchedule requested;
  double ms;
};

/// The records of this run, merged into the file's on every write.
class RecordSink {
public:
  RecordSink(std::string path, std::vector<TuningRecord> base) : path(std::move(path)), base(std::move(base)) {}

  const TuningRecord *find(const std::string &signature, const std::string &target) const {
    for (const TuningRecord &record : base)
      if (record.signature == signature && record.target == target)
        return &record;
    return nullptr;
  }

  LogicalResult put(const TuningRecord &record, std::string &error) {
    session[record.signature + "\n" + record.target] = record;
    std::vector<TuningRecord> merged = base;
    for (const auto &[key, value] : session)
      mergeRecord(merged, value);
    return writeRecords(path, merged, error);
  }

private:
  std::string path;
  std::vector<TuningRecord> base;
  std::map<std::string, TuningRecord> session;
};

/// The search for one signature.
class LayerSearch {
public:
  LayerSearch(const HalideLayer &layer, LayerTuning &result, const WeightStore &weights, const TuneOptions &options,
              std::mt19937 &rng, std::function<void()> improved, std::function<void()> progressed)
      : layer(layer), result(result), bench(layer, weights, options.seed), options(options), rng(rng),
        improved(std::move(improved)), progressed(std::move(progressed)) {}

  /// Searches for `budget` seconds, starting from the default and `prior` (may be null).
  void run(double budget, const TuningRecord *prior) {
    Clock::time_point start = Clock::now();
    if (!measure(HalideStageSchedule{})) {
      result.note = "not tuned: " + lastError;
      return;
    }
    defaultCompiled = bestCompiled;
    result.defaultMs = result.bestMs;
    improved(); // the default is the best so far: on file at once
    if (prior)
      measure(prior->schedule);
    // Cost-model seeds: the best predicted of many mutants of the default.
    std::vector<HalideStageSchedule> seeds;
    for (int i = 0; i < 64; ++i) {
      HalideStageSchedule s = HalideStageSchedule{};
      for (int steps = 1 + i % 3; steps > 0; --steps)
        s = space.mutate(s, layer.kind, rng);
      seeds.push_back(s);
    }
    for (int i = 0; i < 2 && !stopped(start, budget); ++i)
      if (auto pick = bestPredicted(seeds))
        measure(*pick);
    int emptyGenerations = 0;
    while (!stopped(start, budget) && emptyGenerations < 3) {
      std::optional<HalideStageSchedule> child = bestPredicted(children());
      if (!child) {
        ++emptyGenerations;
        continue;
      }
      emptyGenerations = 0;
      measure(*child);
    }
    confirm();
  }

private:
  bool stopped(Clock::time_point start, double budget) const {
    return secondsSince(start) >= budget || (options.interrupted && options.interrupted());
  }

  /// Children of the fastest four: mostly neighbour mutations, some crossovers.
  std::vector<HalideStageSchedule> children() {
    std::vector<Candidate> parents = population;
    std::sort(parents.begin(), parents.end(), [](const Candidate &a, const Candidate &b) { return a.ms < b.ms; });
    parents.resize(std::min<size_t>(parents.size(), 4));
    std::vector<HalideStageSchedule> out;
    for (int i = 0; i < 16; ++i) {
      // Faster parents are picked more often (the minimum of two draws).
      const Candidate &a = parents[std::min(rng() % parents.size(), rng() % parents.size())];
      const Candidate &b = parents[rng() % parents.size()];
      out.push_back(i % 4 == 3 ? space.crossover(a.requested, b.requested, layer.kind, rng)
                               : space.mutate(a.requested, layer.kind, rng));
    }
    return out;
  }

  /// The unmeasured schedule of `candidates` the cost model ranks first (one time in five a random
  /// unmeasured one, so the model's blind spots get explored too), or none.
  std::optional<HalideStageSchedule> bestPredicted(const std::vector<HalideStageSchedule> &candidates) {
    std::vector<std::pair<double, HalideStageSchedule>> fresh;
    for (const HalideStageSchedule &s : candidates) {
      HalideStageSchedule effective = effectiveSchedule(layer, s);
      if (measured.count(formatSchedule(layer.kind, effective)) ||
          ScheduleSpace::registersNeeded(effective, layer.kind) > space.vectorRegisters)
        continue;
      fresh.emplace_back(predictedCost(layer, effective, options.threads), s);
    }
    if (fresh.empty())
      return std::nullopt;
    if (rng() % 5 == 0)
      return fresh[rng() % fresh.size()].second;
    return std::min_element(fresh.begin(), fresh.end(),
                            [](const auto &a, const auto &b) { return a.first < b.first; })
        ->second;
  }

  /// Compiles and times `requested` unless its effective schedule was measured; returns whether
  /// it was measured now.
  bool measure(const HalideStageSchedule &requested) {
    HalideStageSchedule effective = effectiveSchedule(layer, requested);
    std::string key = formatSchedule(layer.kind, effective);
    if (!measured.insert(key).second)
      return false;
    auto compiled = bench.compile(effective, lastError);
    if (failed(compiled))
      return false;
    std::shared_ptr<CompiledCandidate> candidate = std::move(*compiled);
    double cutoff = bestCompiled ? 3 * result.bestMs : std::numeric_limits<double>::infinity();
    double ms = LayerBench::time(*candidate, kMinRuns, kMinMilliseconds, cutoff);
    ++result.trials;
    population.push_back({space.nearest(requested, layer.kind), ms});
    if (!bestCompiled || ms < result.bestMs) {
      result.bestMs = ms;
      result.best = effective;
      bestCompiled = candidate;
      if (defaultCompiled)
        improved();
    }
    progressed();
    return true;
  }

  /// Times the winner and the default alternately; keeps the winner only when it is faster by
  /// more than the noise (3%).
  void confirm() {
    if (bestCompiled == defaultCompiled) {
      result.note = "default kept";
      return;
    }
    std::vector<double> best, fallback;
    for (int round = 0; round < 3; ++round) {
      fallback.push_back(LayerBench::time(*defaultCompiled, kMinRuns, kMinMilliseconds, std::numeric_limits<double>::infinity()));
      best.push_back(LayerBench::time(*bestCompiled, kMinRuns, kMinMilliseconds, std::numeric_limits<double>::infinity()));
    }
    result.defaultMs = median(fallback);
    result.bestMs = median(best);
    if (result.bestMs >= 0.97 * result.defaultMs) {
      result.best = effectiveSchedule(layer, HalideStageSchedule{});
      result.bestMs = result.defaultMs;
      result.note = "default kept";
    }
  }

  const HalideLayer &layer;
  LayerTuning &result;
  LayerBench bench;
  const TuneOptions &options;
  std::mt19937 &rng;
  std::function<void()> improved, progressed;
  ScheduleSpace space;
  std::set<std::string> measured;
  std::vector<Candidate> population;
  std::shared_ptr<CompiledCandidate> defaultCompiled, bestCompiled;
  std::string lastError;
};

} // namespace

FailureOr<std::vector<LayerTuning>> tuneLayers(const HalideModel &model, const WeightStore &weights,
                                               const TuneOptions &options, std::string &error) {
  std::vector<TuningRecord> base;
  if (failed(readRecords(options.recordsPath, true, base, error)))
    return failure();
  RecordSink sink(options.recordsPath, base);
  const std::string target = hostTargetString();

  // One entry per signature, measured on its first layer.
  std::vector<LayerTuning> results;
  std::vector<const HalideLayer *> representative;
  for (const HalideLayer &layer : model.layers) {
    auto it = std::find_if(results.begin(), results.end(),
                           [&](const LayerTuning &t) { return t.signature == layer.signature; });
    if (it == results.end()) {
      results.push_back({layer.signature, layer.kind, {}, 0, layer.schedule, 0, 0, 0, ""});
      representative.push_back(&layer);
      it = results.end() - 1;
    }
    it->layers.push_back(layer.name);
    it->flops += layer.flops();
  }
  std::vector<size_t> order(results.size());
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return results[a].flops > results[b].flops; });

  int64_t remainingFlops = 0;
  for (LayerTuning &result : results) {
    const TuningRecord *prior = sink.find(result.signature, target);
    if (prior && prior->complete && !options.refine) {
      result.best = prior->schedule;
      result.bestMs = prior->bestMs;
      result.defaultMs = prior->defaultMs;
      result.note = "from file";
    } else {
      remainingFlops += result.flops;
    }
  }

  TuneProgress progress(options.budgetSeconds, static_cast<int>(results.size()));
  std::mt19937 rng(static_cast<uint32_t>(options.seed));
  Clock::time_point start = Clock::now();
  bool interrupted = false;
  for (size_t position = 0; position < order.size(); ++position) {
    LayerTuning &result = results[order[position]];
    if (result.note == "from file")
      continue;
    if (interrupted || (options.interrupted && options.interrupted())) {
      interrupted = true;
      result.note = "interrupted";
      continue;
    }
    const TuningRecord *prior = sink.find(result.signature, target);
    auto record = [&](bool complete) {
      TuningRecord r{result.signature, target, result.best, result.bestMs, result.defaultMs, result.trials,
                     options.threads, complete, result.layers};
      return sink.put(r, error);
    };
    bool writeFailed = false;
    auto improved = [&] { writeFailed = writeFailed || failed(record(false)); };
    auto progressed = [&] {
      progress.update(static_cast<int>(position), result.layers.front(), result.trials,
                      result.bestMs > 0 ? result.defaultMs / result.bestMs : 1.0);
    };
    double share = std::max(0.0, options.budgetSeconds - secondsSince(start)) * static_cast<double>(result.flops) /
                   static_cast<double>(std::max<int64_t>(1, remainingFlops));
    remainingFlops -= result.flops;
    LayerSearch search(*representative[order[position]], result, weights, options, rng, improved, progressed);
    search.run(share, prior);
    if (writeFailed)
      return failure();
    if (result.trials == 0)
      continue;
    interrupted = options.interrupted && options.interrupted();
    if (interrupted && result.note.empty())
      result.note = "interrupted";
    if (failed(record(!interrupted)))
      return failure();
    progress.finishLayer(static_cast<int>(position), result.layers.front(), result.trials,
                         result.defaultMs / result.bestMs);
  }
  std::vector<LayerTuning> sorted;
  for (size_t i : order)
    sorted.push_back(results[i]);
  return sorted;
}

} // namespace kiln
