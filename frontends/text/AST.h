// Syntax tree of one Kiln text file: statements in source order, attribute values still as text.
// The parser guarantees names are identifiers and input shapes are positive integers; everything
// that depends on the layer type (attribute names, values, arity) is checked by the importer.
#ifndef KILN_FRONTENDS_TEXT_AST_H
#define KILN_FRONTENDS_TEXT_AST_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Location.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kiln::text {

/// 1-based line and column.
struct Pos {
  unsigned line = 0;
  unsigned col = 0;
};

struct Name {
  std::string text;
  Pos pos;
};

/// `key=value`.
struct Attr {
  Name key;
  std::string value;
  Pos valuePos;
};

/// `input x: 1x1x32x32`.
struct InputStmt {
  Name name;
  std::vector<int64_t> shape;
  Pos shapePos;
};

/// `c1 = conv2d(x) filters=6 kernel=5`.
struct LayerStmt {
  Name result;
  Name type;
  std::vector<Name> operands;
  std::vector<Attr> attrs;
};

/// `output a, b`.
struct OutputStmt {
  std::vector<Name> names;
};

struct Statement {
  enum class Kind { Input, Layer, Output } kind;
  InputStmt input;
  LayerStmt layer;
  OutputStmt output;
};

struct Program {
  std::vector<Statement> statements;
};

/// The MLIR location of `pos` in `file`.
inline mlir::FileLineColLoc locationOf(mlir::MLIRContext &context, llvm::StringRef file, Pos pos) {
  return mlir::FileLineColLoc::get(&context, file, pos.line, pos.col);
}

} // namespace kiln::text

#endif
