// Parsers of attribute values in the Kiln text format (see AttrValues.h).
#include "frontends/text/AttrValues.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"

#include <cmath>
#include <cstdio>

using namespace mlir;

namespace kiln::text {

FailureOr<int64_t> parseIntValue(StringRef text, int64_t min, std::string &expected) {
  int64_t value = 0;
  if (text.getAsInteger(10, value) || value < min) {
    expected = min == 1   ? "a positive integer"
               : min == 0 ? "a non-negative integer"
                          : "an integer >= " + std::to_string(min);
    return failure();
  }
  return value;
}

FailureOr<std::array<int64_t, 2>> parsePairValue(StringRef text, std::string &expected, int64_t min) {
  auto [first, second] = text.split('x');
  int64_t h = 0, w = 0;
  bool ok = !first.getAsInteger(10, h) && h >= min;
  if (ok && !second.empty())
    ok = !second.getAsInteger(10, w) && w >= min;
  else
    w = h;
  if (!ok || (text.contains('x') && second.empty())) {
    expected = min == 1 ? "a positive integer or HxW, e.g. 3 or 3x5"
                        : "a non-negative integer or HxW, e.g. 1 or 0x1";
    return failure();
  }
  return std::array<int64_t, 2>{h, w};
}

/// Integers >= `min` separated by `separator`; fails on an empty part.
static FailureOr<SmallVector<int64_t>> parseList(StringRef text, char separator, int64_t min) {
  SmallVector<StringRef> parts;
  text.split(parts, separator);
  SmallVector<int64_t> values;
  for (StringRef part : parts) {
    int64_t v = 0;
    if (part.getAsInteger(10, v) || v < min)
      return failure();
    values.push_back(v);
  }
  return values;
}

FailureOr<SmallVector<int64_t>> parseShapeValue(StringRef text, std::string &expected) {
  auto values = parseList(text, 'x', 1);
  if (failed(values))
    expected = "a shape of positive integers, e.g. 1x400 or 2x3x4";
  return values;
}

FailureOr<SmallVector<int64_t>> parseIntListValue(StringRef text, std::string &expected) {
  auto values = parseList(text, ',', 0);
  if (failed(values))
    expected = "non-negative integers separated by commas, e.g. 0,0,1,1,0,0,1,1";
  return values;
}

FailureOr<PaddingValue> parsePaddingValue(StringRef text, std::string &expected) {
  PaddingValue result;
  expected = "valid, same, N, HxW or top,left,bottom,right (non-negative integers), e.g. padding=1";
  if (text == "valid")
    return result;
  if (text == "same") {
    result.same = true;
    return result;
  }
  SmallVector<StringRef, 4> parts;
  char separator = text.contains(',') ? ',' : 'x';
  text.split(parts, separator);
  SmallVector<int64_t, 4> values;
  for (StringRef part : parts) {
    int64_t v = 0;
    if (part.getAsInteger(10, v) || v < 0)
      return failure();
    values.push_back(v);
  }
  if (separator == ',' && values.size() == 4)
    result.pads = {values[0], values[1], values[2], values[3]};
  else if (separator == 'x' && values.size() == 1)
    result.pads = {values[0], values[0], values[0], values[0]};
  else if (separator == 'x' && values.size() == 2)
    result.pads = {values[0], values[1], values[0], values[1]};
  else
    return failure();
  return result;
}

FailureOr<bool> parseBoolValue(StringRef text, std::string &expected) {
  if (text == "true")
    return true;
  if (text == "false")
    return false;
  expected = "true or false";
  return failure();
}

FailureOr<double> parseFloatValue(StringRef text, double min, double max, bool maxExclusive,
                                  std::string &expected) {
  double value = 0;
  bool inRange = !text.getAsDouble(value) && std::isfinite(value) && value >= min &&
                 (maxExclusive ? value < max : value <= max);
  if (!inRange) {
    auto format = [](double v) {
      char text[32];
      std::snprintf(text, sizeof text, "%g", v); // shortest form: 0, 1, 0.5
      return std::string(text);
    };
    expected = "a number in [" + format(min) + ", " + format(max) + (maxExclusive ? ")" : "]");
    return failure();
  }
  return value;
}

} // namespace kiln::text
