// Lexer of the Kiln text format (see Lexer.h): positions are 1-based line and byte column.
#include "frontends/text/Lexer.h"

#include "llvm/ADT/StringExtras.h"

namespace kiln::text {

static bool isIdentStart(char c) { return llvm::isAlpha(c) || c == '_'; }
static bool isIdentChar(char c) { return llvm::isAlnum(c) || c == '_' || c == '.'; }
static bool isNumberChar(char c) { return llvm::isAlnum(c) || c == '_' || c == '.' || c == '+' || c == '-'; }

Token Lexer::make(TokenKind kind, const char *begin, const char *end) const {
  return Token{kind, llvm::StringRef(begin, end - begin), line, static_cast<unsigned>(begin - lineStart) + 1};
}

void Lexer::skipBlanksAndComment() {
  const char *end = buffer.end();
  while (cur != end && (*cur == ' ' || *cur == '\t' || *cur == '\r'))
    ++cur;
  if (cur != end && *cur == '#')
    while (cur != end && *cur != '\n')
      ++cur;
}

Token Lexer::next() {
  skipBlanksAndComment();
  const char *end = buffer.end();
  const char *begin = cur;
  if (cur == end)
    return make(TokenKind::Eof, begin, begin);
  char c = *cur++;
  switch (c) {
  case '\n': {
    Token tok = make(TokenKind::Newline, begin, cur);
    ++line;
    lineStart = cur;
    return tok;
  }
  case '=':
    return make(TokenKind::Equal, begin, cur);
  case ':':
    return make(TokenKind::Colon, begin, cur);
  case ',':
    return make(TokenKind::Comma, begin, cur);
  case '(':
    return make(TokenKind::LParen, begin, cur);
  case ')':
    return make(TokenKind::RParen, begin, cur);
  default:
    break;
  }
  if (isIdentStart(c)) {
    while (cur != end && isIdentChar(*cur))
      ++cur;
    return make(TokenKind::Identifier, begin, cur);
  }
  if (llvm::isDigit(c) || c == '-' || c == '+' || c == '.') {
    while (cur != end && isNumberChar(*cur))
      ++cur;
    return make(TokenKind::Number, begin, cur);
  }
  return make(TokenKind::Error, begin, cur);
}

Token Lexer::nextValue() {
  skipBlanksAndComment();
  const char *end = buffer.end();
  if (cur == end || *cur == '\n')
    return next();
  const char *begin = cur;
  while (cur != end && !llvm::isSpace(*cur) && *cur != '#')
    ++cur;
  return make(TokenKind::Value, begin, cur);
}

} // namespace kiln::text
