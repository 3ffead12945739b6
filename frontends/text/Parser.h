// Parser of the Kiln text format: tokens -> Program (AST.h). Grammar: docs/text-format.md.
// Reports every syntax error (one per line at most, then skips to the next line) at
// file:line:col through the context's diagnostic engine, each with a note showing the right form.
#ifndef KILN_FRONTENDS_TEXT_PARSER_H
#define KILN_FRONTENDS_TEXT_PARSER_H

#include "frontends/text/AST.h"

#include "mlir/Support/LLVM.h"

namespace kiln::text {

/// Parses `buffer` (named `fileName` in diagnostics); failure after any syntax error.
mlir::FailureOr<Program> parseProgram(llvm::StringRef buffer, llvm::StringRef fileName, mlir::MLIRContext &context);

} // namespace kiln::text

#endif
