// `kiln inspect`: the model as imported (no graph passes), summarised layer by layer; with
// --tuning, also the Halide schedule of each conv/dense layer after the graph passes.
#include "compiler/analysis/InspectCommand.h"

#include "compiler/analysis/ModelSummary.h"
#include "compiler/driver/CompilePipeline.h"
#include "compiler/driver/InferenceModel.h"
#include "compiler/driver/ModelLoader.h"
#include "compiler/halide/HalideBackend.h"
#include "compiler/tune/TuneReport.h"
#include "compiler/tune/TuningRecords.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace kiln {

/// The conv and dense layers as kiln compile --tuning would lower them, with their schedules.
static int printSchedules(const InspectOptions &options) {
  MLIRContext context;
  FailureOr<InferenceModel> prepared = loadInferenceModel(options.modelPath, context, options.batch, "", 0);
  if (failed(prepared))
    return 1;
  std::string error;
  HalideScheduleOptions schedule;
  if (failed(readTunedSchedules(options.tuningPath, schedule, error))) {
    llvm::errs() << error << "\n";
    return 1;
  }
  FailureOr<HalideModel> model = lowerToHalide(getForward(*prepared->module), prepared->weights, schedule, error);
  if (failed(model)) {
    llvm::errs() << "kiln: error: " << error << "\n";
    return 1;
  }
  llvm::outs() << "\nHalide schedules (" << options.tuningPath << ", after the graph passes):\n";
  printLayerSchedules(*model, llvm::outs());
  return 0;
}

int runInspect(const InspectOptions &options) {
  MLIRContext context;
  OwningOpRef<ModuleOp> module = loadModel(options.modelPath, context, options.batch);
  if (!module)
    return 1;
  ModelSummary summary = summarizeModel(getForward(*module));
  printLayerTable(summary, llvm::outs());
  if (!options.tuningPath.empty() && printSchedules(options) != 0)
    return 1;
  if (options.dotPath.empty())
    return 0;
  std::error_code ec;
  llvm::raw_fd_ostream dot(options.dotPath, ec, llvm::sys::fs::OF_Text);
  if (ec) {
    llvm::errs() << "kiln: error: cannot write '" << options.dotPath << "': " << ec.message() << "\n";
    return 1;
  }
  writeDot(summary, defaultModelName(options.modelPath), dot);
  return 0;
}

} // namespace kiln
