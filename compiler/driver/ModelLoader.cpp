// Model loading: picks the frontend by file extension and owns the source manager used for
// diagnostics.
#include "compiler/driver/ModelLoader.h"

#include "frontends/text/TextImporter.h"
#include "kiln/Dialect/NN/NNDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace kiln {

void registerKilnDialects(MLIRContext &context) {
  context.loadDialect<nn::NNDialect, func::FuncDialect>();
}

OwningOpRef<ModuleOp> loadModel(const std::string &path, MLIRContext &context, std::optional<int64_t> batch) {
  std::string error;
  std::unique_ptr<llvm::MemoryBuffer> buffer = openInputFile(path, &error);
  if (!buffer) {
    llvm::errs() << "kiln: error: cannot read model '" << path << "': " << error << "\n";
    return nullptr;
  }
  if (!llvm::StringRef(path).ends_with(".kiln")) {
    llvm::errs() << "kiln: error: '" << path << "' is not a model Kiln can read\n"
                 << "kiln: note: Kiln reads its text format (a file ending in .kiln, see docs/text-format.md)\n";
    return nullptr;
  }
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(std::move(buffer), llvm::SMLoc());
  SourceMgrDiagnosticHandler handler(sourceMgr, &context);
  registerKilnDialects(context);
  TextImportOptions options;
  options.batch = batch;
  OwningOpRef<ModuleOp> module = importKilnText(sourceMgr, context, options);
  if (!module || failed(verify(*module)))
    return nullptr;
  return module;
}

LogicalResult bindModelWeights(ModuleOp module, const std::string &weightsPath, uint64_t seed, WeightStore &weights,
                               std::string &error) {
  WeightStore given;
  if (!weightsPath.empty() && failed(readSafetensors(weightsPath, given, error)))
    return failure();
  return bindWeights(module, weightsPath.empty() ? nullptr : &given, seed, weights, error);
}

func::FuncOp getForward(ModuleOp module) { return module.lookupSymbol<func::FuncOp>("forward"); }

} // namespace kiln
