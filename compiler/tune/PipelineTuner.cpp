// kiln tune's whole-pipeline step: Kiln's schedules against Halide's autoschedulers (see
// PipelineTuner.h).
#include "compiler/tune/PipelineTuner.h"

#include "compiler/tune/LayerBench.h"
#include "compiler/tune/TuningRecords.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/Format.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <memory>

using namespace mlir;

namespace kiln {

namespace {
/// Rounds of timing, alternating between the candidates; each round times one candidate for at
/// least this many runs and milliseconds.
constexpr int kRounds = 3, kMinRuns = 5;
constexpr double kMinMilliseconds = 200.0;
} // namespace

FailureOr<PipelineTuning> tunePipeline(func::FuncOp fn, const WeightStore &weights, const TuneOptions &options,
                                       std::string &error) {
  HalideScheduleOptions kiln;
  if (failed(readTunedSchedules(options.recordsPath, kiln, error)))
    return failure();
  kiln.tunedPipelines.clear(); // an earlier run's choice: measured again
  kiln.autoschedulerThreads = options.threads;

  PipelineTuning tuning;
  tuning.signature = pipelineSignature(fn);
  std::vector<std::vector<int64_t>> shapes;
  for (Type type : fn.getArgumentTypes())
    shapes.push_back(cast<RankedTensorType>(type).getShape().vec());
  const std::vector<HostTensor> inputs = randomInputs(shapes, options.seed);

  std::vector<std::string> schedulers = {"", kDefaultSchedules};
  schedulers.insert(schedulers.end(), halideAutoschedulers().begin(), halideAutoschedulers().end());
  std::vector<std::unique_ptr<CompiledCandidate>> compiled;
  for (const std::string &scheduler : schedulers) {
    PipelineCandidate candidate{scheduler};
    auto start = std::chrono::steady_clock::now();
    HalideScheduleOptions schedule = kiln;
    if (scheduler == kDefaultSchedules)
      schedule.tuned.clear();
    else
      schedule.autoscheduler = scheduler;
    std::string why;
    FailureOr<HalideModel> model = lowerToHalide(fn, weights, schedule, why);
    FailureOr<std::unique_ptr<CompiledCandidate>> ready = failure();
    if (succeeded(model))
      ready = compileForTiming(std::move(*model), inputs, why);
    candidate.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (failed(ready)) {
      if (scheduler.empty()) {
        error = "the model with Kiln's schedules: " + why;
        return failure();
      }
      candidate.failure = why.substr(0, why.find('\n'));
      compiled.push_back(nullptr);
    } else {
      compiled.push_back(std::move(*ready));
    }
    tuning.candidates.push_back(candidate);
    if (options.interrupted && options.interrupted())
      break;
  }

  std::vector<std::vector<double>> times(compiled.size());
  for (int round = 0; round < kRounds; ++round)
    for (size_t i = 0; i < compiled.size(); ++i)
      if (compiled[i])
        times[i].push_back(LayerBench::time(*compiled[i], kMinRuns, kMinMilliseconds,
                                            std::numeric_limits<double>::infinity()));
  size_t best = 0;
  for (size_t i = 0; i < compiled.size(); ++i) {
    if (!compiled[i])
      continue;
    std::nth_element(times[i].begin(), times[i].begin() + kRounds / 2, times[i].end());
    tuning.candidates[i].ms = times[i][kRounds / 2];
    if (tuning.candidates[i].ms < tuning.candidates[best].ms)
      best = i;
  }
  tuning.winner = tuning.candidates[best].scheduler;

  TuningRecord record;
  record.signature = tuning.signature;
  record.target = hostTargetString();
  record.autoscheduler = tuning.winner;
  record.bestMs = tuning.candidates[best].ms;
  record.defaultMs = tuning.candidates[0].ms;
  record.trials = static_cast<int>(llvm::count_if(compiled, [](const auto &c) { return c != nullptr; }));
  record.threads = options.threads;
  record.complete = true;
  record.layers = {fn.getName().str()};
  std::vector<TuningRecord> records;
  if (failed(readRecords(options.recordsPath, true, records, error)))
    return failure();
  mergeRecord(records, record);
  if (failed(writeRecords(options.recordsPath, records, error)))
    return failure();
  return tuning;
}

void printPipelineSummary(const PipelineTuning &tuning, llvm::raw_ostream &os) {
  os << "\nwhole pipeline (" << tuning.signature << "):\n";
  os << llvm::format("  %-16s %10s %8s %12s\n", "schedules", "ms", "vs kiln", "compile s");
  const double kilnMs = tuning.candidates.front().ms;
  for (const PipelineCandidate &c : tuning.candidates) {
    std::string name = c.scheduler.empty()                 ? "kiln (tuned)"
                       : c.scheduler == kDefaultSchedules ? "kiln (default)"
                                                          : c.scheduler;
    if (!c.failure.empty()) {
      os << llvm::format("  %-16s failed: ", name.c_str()) << c.failure << "\n";
      continue;
    }
    os << llvm::format("  %-16s %10.3f %8.2f %12.1f", name.c_str(), c.ms, c.ms / kilnMs, c.seconds)
       << (c.scheduler == tuning.winner ? "  <- chosen" : "") << "\n";
  }
}

} // namespace kiln
