// `kiln tune` (see TuneCommand.h): prepares the model as kiln compile does, lowers it with the
// default schedule to find its layers, runs the search, prints the summary, then measures the
// whole model with Kiln's tuned schedules against Halide's autoschedulers. Ctrl-C stops the
// search between trials; the records written so far stay in the file.
#include "compiler/driver/TuneCommand.h"

#include "compiler/driver/InferenceModel.h"
#include "compiler/driver/ModelLoader.h"
#include "compiler/halide/HalideBackend.h"
#include "compiler/tune/PipelineTuner.h"
#include "compiler/tune/TuneReport.h"
#include "compiler/tune/Tuner.h"

#include "llvm/Support/raw_ostream.h"

#include <csignal>
#include <cstdlib>
#include <thread>

using namespace mlir;

namespace kiln {

static volatile std::sig_atomic_t interruptRequested = 0;

static void onInterrupt(int) {
  interruptRequested = 1;
  std::signal(SIGINT, SIG_DFL); // a second Ctrl-C ends the process at once
}

std::optional<double> parseBudget(const std::string &text) {
  if (text.empty())
    return std::nullopt;
  double scale = 1;
  std::string number = text;
  switch (text.back()) {
  case 's': scale = 1; number.pop_back(); break;
  case 'm': scale = 60; number.pop_back(); break;
  case 'h': scale = 3600; number.pop_back(); break;
  default: break;
  }
  char *end = nullptr;
  double value = std::strtod(number.c_str(), &end);
  if (number.empty() || end != number.c_str() + number.size() || !(value > 0))
    return std::nullopt;
  return value * scale;
}

int runTune(const TuneCommandOptions &options) {
  std::optional<double> budget = parseBudget(options.budget);
  if (!budget) {
    llvm::errs() << "kiln: error: --budget '" << options.budget << "' is not a duration: use e.g. 90s, 5m or 1h\n";
    return 1;
  }
  int threads = options.threads > 0 ? options.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  // The Halide JIT runtime sizes its thread pool from this on first use.
  setenv("HL_NUM_THREADS", std::to_string(threads).c_str(), 1);

  MLIRContext context;
  FailureOr<InferenceModel> prepared =
      loadInferenceModel(options.modelPath, context, options.batch, options.weightsPath, options.seed);
  if (failed(prepared))
    return 1;
  std::string error;
  FailureOr<HalideModel> model = lowerToHalide(getForward(*prepared->module), prepared->weights, {}, error);
  if (failed(model)) {
    llvm::errs() << "kiln: error: " << error << "\n";
    return 1;
  }
  TuneOptions tune;
  tune.recordsPath = options.outputPath;
  tune.budgetSeconds = *budget;
  tune.threads = threads;
  tune.seed = options.seed;
  tune.refine = options.refine;
  tune.interrupted = [] { return interruptRequested != 0; };
  std::signal(SIGINT, onInterrupt);
  FailureOr<std::vector<LayerTuning>> results = tuneLayers(*model, prepared->weights, tune, error);
  std::signal(SIGINT, SIG_DFL);
  if (failed(results)) {
    llvm::errs() << "kiln: error: " << error << "\n";
    return 1;
  }
  printTuneSummary(*results, llvm::outs());
  if (!interruptRequested) {
    std::signal(SIGINT, onInterrupt);
    FailureOr<PipelineTuning> pipeline = tunePipeline(getForward(*prepared->module), prepared->weights, tune, error);
    std::signal(SIGINT, SIG_DFL);
    if (failed(pipeline)) {
      llvm::errs() << "kiln: error: " << error << "\n";
      return 1;
    }
    printPipelineSummary(*pipeline, llvm::outs());
  }
  llvm::outs() << "kiln: " << (interruptRequested ? "interrupted; " : "") << "records in " << options.outputPath
               << " (" << threads << " threads)\n";
  return interruptRequested ? 130 : 0;
}

} // namespace kiln
