// Test helper: parses a module of nn ops from MLIR text (nn and func dialects registered).
#ifndef KILN_TESTS_UNIT_WEIGHTS_MODEL_TEXT_H
#define KILN_TESTS_UNIT_WEIGHTS_MODEL_TEXT_H

#include "kiln/Dialect/NN/NNDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include <string>

namespace kiln::test {

inline mlir::OwningOpRef<mlir::ModuleOp> parseModel(mlir::MLIRContext &context, const std::string &text) {
  context.loadDialect<kiln::nn::NNDialect, mlir::func::FuncDialect>();
  return mlir::parseSourceString<mlir::ModuleOp>(text, &context);
}

} // namespace kiln::test

#endif
