// Parsers of attribute values in the Kiln text format (`3`, `3x5`, `same`, `1,0,1,0`, `true`, `1e-5`).
// Each returns failure and sets `expected` to a phrase saying what was wanted ("a positive integer
// or HxW, e.g. 3 or 3x5"); none of them reports diagnostics itself.
#ifndef KILN_FRONTENDS_TEXT_ATTRVALUES_H
#define KILN_FRONTENDS_TEXT_ATTRVALUES_H

#include "mlir/Support/LLVM.h"
#include "llvm/ADT/SmallVector.h"

#include <array>
#include <string>

namespace kiln::text {

/// An integer >= `min`.
mlir::FailureOr<int64_t> parseIntValue(llvm::StringRef text, int64_t min, std::string &expected);

/// `N` (both axes) or `HxW`, each >= `min` (1 unless given).
mlir::FailureOr<std::array<int64_t, 2>> parsePairValue(llvm::StringRef text, std::string &expected,
                                                      int64_t min = 1);

/// `N` or `AxBxC...`: a shape of positive integers.
mlir::FailureOr<llvm::SmallVector<int64_t>> parseShapeValue(llvm::StringRef text, std::string &expected);

/// `a,b,c,...`: non-negative integers.
mlir::FailureOr<llvm::SmallVector<int64_t>> parseIntListValue(llvm::StringRef text, std::string &expected);

/// `valid`, `same`, `N`, `HxW` or `t,l,b,r` (non-negative integers).
struct PaddingValue {
  bool same = false;
  std::array<int64_t, 4> pads = {0, 0, 0, 0}; // top, left, bottom, right
};
mlir::FailureOr<PaddingValue> parsePaddingValue(llvm::StringRef text, std::string &expected);

/// `true` or `false`.
mlir::FailureOr<bool> parseBoolValue(llvm::StringRef text, std::string &expected);

/// A finite decimal number in [min, max] (`max` exclusive when `maxExclusive`).
mlir::FailureOr<double> parseFloatValue(llvm::StringRef text, double min, double max, bool maxExclusive,
                                        std::string &expected);

} // namespace kiln::text

#endif
