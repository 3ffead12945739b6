// Cuts a long function of the nn dialect (a training step) into consecutive parts, each a new
// function of the module, so that a backend compiles several small functions instead of one
// whose compile time grows faster than its size (Halide's lowering does). The caller runs the
// parts in order, passing the values that cross a cut through temporaries.
#ifndef KILN_PASSES_SPLITFUNCTION_H
#define KILN_PASSES_SPLITFUNCTION_H

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <cstdint>
#include <vector>

namespace kiln {

/// Where an argument or result of a part lives.
struct PartValue {
  enum class Kind { Argument, Result, Temporary } kind;
  size_t index; ///< the split function's argument or result number, or the temporary's
  bool operator==(const PartValue &other) const { return kind == other.kind && index == other.index; }
};

/// One part: a function of the module, and where each of its arguments comes from and each of its
/// results goes. A part reads a result of the split function written by an earlier part from
/// where that part wrote it (PartValue::Kind::Result).
struct FunctionPart {
  mlir::func::FuncOp fn;
  std::vector<PartValue> arguments, results;
};

/// The parts of a split function, in calling order, and the shapes of its temporaries.
struct SplitFunction {
  std::vector<FunctionPart> parts;
  std::vector<std::vector<int64_t>> temporaries;
};

/// Splits `fn` into parts named "<fn>_part<k>" (added to its module; `fn` is left as it was).
/// A part ends once it holds at least `opsPerPart` ops, before the next op that starts a fused
/// group (a conv or dense op or one of their gradients), so no cut separates an op from the
/// elementwise ops fused into it. An op whose results are only returned (an optimizer update, a
/// running statistic) joins the earliest part where its operands exist, so a gradient does not
/// outlive its part. Ops without operands (nn.param) are copied into every part that uses them.
/// With `opsPerPart` 0, or a function too short to cut, the one part is a copy of `fn`.
/// Requires static shapes (the temporaries' sizes).
SplitFunction splitFunction(mlir::func::FuncOp fn, size_t opsPerPart);

} // namespace kiln

#endif
