// Kiln text format -> nn dialect. The grammar is in docs/text-format.md.
#ifndef KILN_FRONTENDS_TEXT_TEXTIMPORTER_H
#define KILN_FRONTENDS_TEXT_TEXTIMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <cstdint>
#include <optional>

namespace llvm {
class SourceMgr;
}

namespace kiln {

struct TextImportOptions {
  /// Replaces dimension 0 of every input when set (`kiln compile --batch`).
  std::optional<int64_t> batch;
};

/// Parses the main buffer of `sourceMgr` into a module holding one `func.func @forward`.
/// Every error is reported through the context's diagnostic engine at file:line:col with a
/// note saying how to fix it; returns null after any error.
mlir::OwningOpRef<mlir::ModuleOp> importKilnText(llvm::SourceMgr &sourceMgr, mlir::MLIRContext &context,
                                                 const TextImportOptions &options = {});

} // namespace kiln

#endif
