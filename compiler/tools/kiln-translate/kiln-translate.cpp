// kiln-translate: imports a Kiln text file and prints its nn IR (`--import-kiln`), for lit tests.
// Exits non-zero after any error; `--kiln-batch=N` exercises TextImportOptions::batch.
#include "frontends/text/TextImporter.h"
#include "kiln/Dialect/NN/NNDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-translate/MlirTranslateMain.h"
#include "mlir/Tools/mlir-translate/Translation.h"

#include "llvm/Support/CommandLine.h"

static llvm::cl::opt<int64_t> batchOption("kiln-batch", llvm::cl::desc("replace dimension 0 of every input"),
                                          llvm::cl::init(0));

int main(int argc, char **argv) {
  mlir::TranslateToMLIRRegistration importKiln(
      "import-kiln", "import a Kiln text-format model into the nn dialect",
      [](llvm::SourceMgr &sourceMgr, mlir::MLIRContext *context) -> mlir::OwningOpRef<mlir::Operation *> {
        kiln::TextImportOptions options;
        if (batchOption != 0)
          options.batch = batchOption;
        return kiln::importKilnText(sourceMgr, *context, options);
      },
      [](mlir::DialectRegistry &registry) {
        registry.insert<kiln::nn::NNDialect, mlir::func::FuncDialect>();
      });
  return mlir::failed(mlir::mlirTranslateMain(argc, argv, "Kiln translation tool"));
}
