// Parser of the Kiln text format (see Parser.h): one statement per line, recursive descent.
#include "frontends/text/Parser.h"
#include "frontends/text/Lexer.h"

#include "mlir/IR/Diagnostics.h"

#include <optional>

using namespace mlir;

namespace kiln::text {
namespace {

const char *const kStatementForms =
    "a line is `input NAME: SHAPE`, `output NAME[, NAME...]` or `NAME = LAYER(INPUT[, INPUT...]) key=value ...`";

class Parser {
public:
  Parser(StringRef buffer, StringRef fileName, MLIRContext &context)
      : lexer(buffer), fileName(fileName), context(context) {}

  FailureOr<Program> run();

private:
  /// The next token, lexed on demand so that values can be lexed in raw mode.
  const Token &peek() {
    if (!lookahead)
      lookahead = lexer.next();
    return *lookahead;
  }
  bool atLineEnd() { return peek().kind == TokenKind::Newline || peek().kind == TokenKind::Eof; }
  /// Consumes the next token, except a line end: that stays for the statement loop, so an
  /// error at the end of one line never swallows the next.
  Token take() {
    Token tok = peek();
    if (!atLineEnd())
      lookahead.reset();
    return tok;
  }
  Token takeValue() {
    if (lookahead)
      return take();
    Token tok = lexer.nextValue();
    if (tok.kind == TokenKind::Newline || tok.kind == TokenKind::Eof)
      lookahead = tok;
    return tok;
  }

  Pos posOf(const Token &tok) const { return Pos{tok.line, tok.col}; }
  static std::string describe(const Token &tok) {
    if (tok.kind == TokenKind::Newline)
      return "end of line";
    if (tok.kind == TokenKind::Eof)
      return "end of file";
    return "'" + tok.text.str() + "'";
  }
  InFlightDiagnostic error(const Token &tok) {
    failedAny = true;
    return emitError(locationOf(context, fileName, posOf(tok)));
  }

  LogicalResult parseStatement(Program &program);
  LogicalResult parseInput(Token keyword, Program &program);
  LogicalResult parseOutput(Token keyword, Program &program);
  LogicalResult parseLayer(Token result, Program &program);
  LogicalResult parseShape(const Token &tok, std::vector<int64_t> &shape);
  LogicalResult expectLineEnd(StringRef after);

  Lexer lexer;
  std::optional<Token> lookahead;
  StringRef fileName;
  MLIRContext &context;
  bool failedAny = false;
};

FailureOr<Program> Parser::run() {
  Program program;
  while (true) {
    while (peek().kind == TokenKind::Newline)
      lookahead.reset();
    if (peek().kind == TokenKind::Eof)
      break;
    if (failed(parseStatement(program)))
      while (!atLineEnd()) // recover at the next line
        take();
  }
  if (failedAny)
    return failure();
  return program;
}

LogicalResult Parser::parseStatement(Program &program) {
  Token first = take();
  if (first.kind != TokenKind::Identifier) {
    InFlightDiagnostic diag = error(first);
    diag << "expected a statement, got " << describe(first);
    diag.attachNote() << kStatementForms;
    return failure();
  }
  // `input = relu(x)` names a layer `input`: only a following '=' makes a layer.
  if (peek().kind == TokenKind::Equal)
    return parseLayer(first, program);
  if (first.text == "input")
    return parseInput(first, program);
  if (first.text == "output")
    return parseOutput(first, program);
  Token next = peek();
  InFlightDiagnostic diag = error(next);
  diag << "expected '=' after '" << first.text << "', got " << describe(next);
  diag.attachNote() << kStatementForms;
  return failure();
}

LogicalResult Parser::expectLineEnd(StringRef after) {
  if (atLineEnd())
    return success();
  Token extra = peek();
  error(extra) << "unexpected " << describe(extra) << " after " << after;
  return failure();
}

LogicalResult Parser::parseShape(const Token &tok, std::vector<int64_t> &shape) {
  SmallVector<StringRef> dims;
  tok.text.split(dims, 'x');
  for (StringRef dim : dims) {
    int64_t value = 0;
    if (dim.getAsInteger(10, value) || value < 1) {
      InFlightDiagnostic diag = error(tok);
      diag << "invalid shape '" << tok.text << "'";
      diag.attachNote() << "write the dimensions as positive integers joined by 'x', e.g. 1x3x224x224";
      return failure();
    }
    shape.push_back(value);
  }
  return success();
}

LogicalResult Parser::parseInput(Token keyword, Program &program) {
  Statement stmt{Statement::Kind::Input, {}, {}, {}};
  Token name = take();
  if (name.kind != TokenKind::Identifier) {
    InFlightDiagnostic diag = error(name);
    diag << "expected the input's name after 'input', got " << describe(name);
    diag.attachNote() << "write e.g. `input x: 1x3x224x224`";
    return failure();
  }
  stmt.input.name = Name{name.text.str(), posOf(name)};
  Token colon = take();
  if (colon.kind != TokenKind::Colon) {
    InFlightDiagnostic diag = error(colon);
    diag << "expected ':' and a shape after input '" << name.text << "', got " << describe(colon);
    diag.attachNote() << "write e.g. `input " << name.text << ": 1x3x224x224`";
    return failure();
  }
  Token shape = takeValue();
  if (shape.kind != TokenKind::Value) {
    InFlightDiagnostic diag = error(shape);
    diag << "expected the shape of input '" << name.text << "', got " << describe(shape);
    diag.attachNote() << "write e.g. `input " << name.text << ": 1x3x224x224`";
    return failure();
  }
  stmt.input.shapePos = posOf(shape);
  if (failed(parseShape(shape, stmt.input.shape)))
    return failure();
  if (failed(expectLineEnd("the input's shape")))
    return failure();
  program.statements.push_back(std::move(stmt));
  return success();
}

LogicalResult Parser::parseOutput(Token keyword, Program &program) {
  Statement stmt{Statement::Kind::Output, {}, {}, {}};
  while (true) {
    Token name = take();
    if (name.kind != TokenKind::Identifier) {
      InFlightDiagnostic diag = error(name);
      diag << "expected a value name after '" << (stmt.output.names.empty() ? "output" : ",") << "', got "
           << describe(name);
      diag.attachNote() << "write e.g. `output out` or `output boxes, scores`";
      return failure();
    }
    stmt.output.names.push_back(Name{name.text.str(), posOf(name)});
    if (peek().kind != TokenKind::Comma)
      break;
    take();
  }
  if (failed(expectLineEnd("the output names (separate several with ',')")))
    return failure();
  program.statements.push_back(std::move(stmt));
  return success();
}

LogicalResult Parser::parseLayer(Token result, Program &program) {
  Statement stmt{Statement::Kind::Layer, {}, {}, {}};
  LayerStmt &layer = stmt.layer;
  layer.result = Name{result.text.str(), posOf(result)};
  take(); // '='
  Token type = take();
  if (type.kind != TokenKind::Identifier) {
    InFlightDiagnostic diag = error(type);
    diag << "expected a layer type after '" << result.text << " =', got " << describe(type);
    diag.attachNote() << "write e.g. `" << result.text << " = conv2d(x) filters=16 kernel=3`";
    return failure();
  }
  layer.type = Name{type.text.str(), posOf(type)};
  Token lparen = take();
  if (lparen.kind != TokenKind::LParen) {
    InFlightDiagnostic diag = error(lparen);
    diag << "expected '(' after layer type '" << type.text << "', got " << describe(lparen);
    diag.attachNote() << "name the layer's inputs in parentheses, e.g. `" << result.text << " = " << type.text
                      << "(x)`";
    return failure();
  }
  if (peek().kind != TokenKind::RParen) {
    while (true) {
      Token operand = take();
      if (operand.kind != TokenKind::Identifier) {
        InFlightDiagnostic diag = error(operand);
        diag << "expected an input name, got " << describe(operand);
        diag.attachNote() << "inputs are names defined by earlier lines, separated by ',': `add(a, b)`";
        return failure();
      }
      layer.operands.push_back(Name{operand.text.str(), posOf(operand)});
      if (peek().kind != TokenKind::Comma)
        break;
      take();
    }
  }
  Token rparen = take();
  if (rparen.kind != TokenKind::RParen) {
    InFlightDiagnostic diag = error(rparen);
    diag << "expected ',' or ')' after the inputs of '" << result.text << "', got " << describe(rparen);
    diag.attachNote() << "close the input list, e.g. `" << result.text << " = " << type.text << "(x) ...`";
    return failure();
  }
  while (!atLineEnd()) {
    Token key = take();
    if (key.kind != TokenKind::Identifier) {
      InFlightDiagnostic diag = error(key);
      diag << "expected an attribute name, got " << describe(key);
      diag.attachNote() << "attributes are written key=value after the inputs, e.g. `kernel=3 stride=2`";
      return failure();
    }
    Token equal = take();
    if (equal.kind != TokenKind::Equal) {
      InFlightDiagnostic diag = error(equal);
      diag << "expected '=' after attribute name '" << key.text << "', got " << describe(equal);
      diag.attachNote() << "attributes are written key=value, e.g. `" << key.text << "=3`";
      return failure();
    }
    Token value = takeValue();
    if (value.kind != TokenKind::Value) {
      InFlightDiagnostic diag = error(value);
      diag << "expected a value for attribute '" << key.text << "', got " << describe(value);
      diag.attachNote() << "attributes are written key=value, e.g. `" << key.text << "=3`";
      return failure();
    }
    layer.attrs.push_back(Attr{Name{key.text.str(), posOf(key)}, value.text.str(), posOf(value)});
  }
  program.statements.push_back(std::move(stmt));
  return success();
}

} // namespace

FailureOr<Program> parseProgram(StringRef buffer, StringRef fileName, MLIRContext &context) {
  return Parser(buffer, fileName, context).run();
}

} // namespace kiln::text
