// Lexer of the Kiln text format: splits one buffer into line-aware tokens with 1-based line:col.
// Expects the whole file in memory; guarantees every token (also Error) carries its position.
#ifndef KILN_FRONTENDS_TEXT_LEXER_H
#define KILN_FRONTENDS_TEXT_LEXER_H

#include "llvm/ADT/StringRef.h"

namespace kiln::text {

enum class TokenKind { Identifier, Number, Value, Equal, Colon, Comma, LParen, RParen, Newline, Eof, Error };

struct Token {
  TokenKind kind;
  llvm::StringRef text;
  unsigned line;
  unsigned col;
};

class Lexer {
public:
  explicit Lexer(llvm::StringRef buffer) : buffer(buffer), lineStart(buffer.begin()), cur(buffer.begin()) {}

  /// The next token. Identifiers are [A-Za-z_][A-Za-z0-9_.]*; numbers start with a digit, '-',
  /// '+' or '.' and run over [A-Za-z0-9_.+-]; '#' starts a comment that runs to the end of the line.
  Token next();

  /// The next raw value: the run of characters up to whitespace or '#' (attribute values such as
  /// `3x5`, `1,0,1,0`, `same`, `1e-5`, and input shapes) as a Value token. Returns Newline/Eof when none is left.
  Token nextValue();

private:
  Token make(TokenKind kind, const char *begin, const char *end) const;
  void skipBlanksAndComment();

  llvm::StringRef buffer;
  const char *lineStart;
  const char *cur;
  unsigned line = 1;
};

} // namespace kiln::text

#endif
