// Model loading: picks the frontend by file extension and owns the source manager used for
// diagnostics.
#include "compiler/driver/ModelLoader.h"

#include "frontends/onnx/OnnxImporter.h"
#include "frontends/text/TextImporter.h"
#include "kiln/Dialect/NN/NNDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace kiln {

void registerKilnDialects(MLIRContext &context) {
  context.loadDialect<nn::NNDialect, func::FuncDialect>();
}

void printModelDiagnostic(Diagnostic &diag) {
  static const char *kinds[] = {"note", "warning", "error", "remark"};
  Location loc = diag.getLocation();
  auto named = dyn_cast<NameLoc>(loc);
  if (auto file = dyn_cast<FileLineColLoc>(named ? named.getChildLoc() : loc)) {
    llvm::errs() << file.getFilename().getValue();
    if (file.getLine() > 0)
      llvm::errs() << ":" << file.getLine() << ":" << file.getColumn();
    llvm::errs() << ": ";
  }
  if (named)
    llvm::errs() << "'" << named.getName().getValue() << "': ";
  llvm::errs() << kinds[static_cast<int>(diag.getSeverity())] << ": " << diag.str() << "\n";
  for (Diagnostic &note : diag.getNotes())
    printModelDiagnostic(note);
}

static OwningOpRef<ModuleOp> loadOnnx(const std::string &path, MLIRContext &context, std::optional<int64_t> batch,
                                      WeightStore *embedded) {
  ScopedDiagnosticHandler handler(&context, [](Diagnostic &diag) {
    printModelDiagnostic(diag);
    return success();
  });
  WeightStore initializers;
  OwningOpRef<ModuleOp> module = importOnnx(path, context, OnnxImportOptions{batch}, initializers);
  if (!module || failed(verify(*module)))
    return nullptr;
  if (embedded)
    *embedded = std::move(initializers);
  return module;
}

static OwningOpRef<ModuleOp> loadKilnText(const std::string &path, MLIRContext &context,
                                          std::optional<int64_t> batch) {
  std::string error;
  std::unique_ptr<llvm::MemoryBuffer> buffer = openInputFile(path, &error);
  if (!buffer) {
    llvm::errs() << "kiln: error: cannot read model '" << path << "': " << error << "\n";
    return nullptr;
  }
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(std::move(buffer), llvm::SMLoc());
  SourceMgrDiagnosticHandler handler(sourceMgr, &context);
  TextImportOptions options;
  options.batch = batch;
  OwningOpRef<ModuleOp> module = importKilnText(sourceMgr, context, options);
  if (!module || failed(verify(*module)))
    return nullptr;
  return module;
}

/// nn IR as `kiln compile --emit nn` prints it: a module with func @forward.
static OwningOpRef<ModuleOp> loadNNModule(const std::string &path, MLIRContext &context,
                                          std::optional<int64_t> batch) {
  if (batch) {
    llvm::errs() << "kiln: error: --batch does not apply to '" << path << "': nn IR has fixed shapes\n";
    return nullptr;
  }
  llvm::SourceMgr sourceMgr;
  std::string error;
  std::unique_ptr<llvm::MemoryBuffer> buffer = openInputFile(path, &error);
  if (!buffer) {
    llvm::errs() << "kiln: error: cannot read model '" << path << "': " << error << "\n";
    return nullptr;
  }
  sourceMgr.AddNewSourceBuffer(std::move(buffer), llvm::SMLoc());
  SourceMgrDiagnosticHandler handler(sourceMgr, &context);
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, &context);
  if (!module || failed(verify(*module)))
    return nullptr;
  if (!getForward(*module)) {
    emitError(module->getLoc()) << "the module has no func @forward (the model's inference function)";
    return nullptr;
  }
  return module;
}

OwningOpRef<ModuleOp> loadModel(const std::string &path, MLIRContext &context, std::optional<int64_t> batch,
                                WeightStore *embedded) {
  registerKilnDialects(context);
  llvm::StringRef extension = llvm::sys::path::extension(path);
  if (extension == ".onnx")
    return loadOnnx(path, context, batch, embedded);
  if (extension == ".kiln")
    return loadKilnText(path, context, batch);
  if (extension == ".mlir")
    return loadNNModule(path, context, batch);
  llvm::errs() << "kiln: error: '" << path << "' is not a model Kiln can read\n"
               << "kiln: note: Kiln reads ONNX files (.onnx), its text format (.kiln, see docs/text-format.md) "
                  "and nn IR (.mlir, as --emit nn prints it)\n";
  return nullptr;
}

LogicalResult bindModelWeights(ModuleOp module, const std::string &weightsPath, const WeightStore &embedded,
                               uint64_t seed, WeightStore &weights, std::string &error) {
  WeightStore fromFile;
  if (!weightsPath.empty() && failed(readSafetensors(weightsPath, fromFile, error)))
    return failure();
  WeightStore given = embedded;
  for (auto &[name, tensor] : fromFile)
    given[name] = std::move(tensor);
  return bindWeights(module, given.empty() ? nullptr : &given, seed, weights, error);
}

func::FuncOp getForward(ModuleOp module) { return module.lookupSymbol<func::FuncOp>("forward"); }

} // namespace kiln
