// `kiln inspect`: the model as imported (no graph passes), summarised layer by layer.
#include "compiler/analysis/InspectCommand.h"

#include "compiler/analysis/ModelSummary.h"
#include "compiler/driver/CompilePipeline.h"
#include "compiler/driver/ModelLoader.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace kiln {

int runInspect(const InspectOptions &options) {
  MLIRContext context;
  OwningOpRef<ModuleOp> module = loadModel(options.modelPath, context, options.batch);
  if (!module)
    return 1;
  ModelSummary summary = summarizeModel(getForward(*module));
  printLayerTable(summary, llvm::outs());
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
