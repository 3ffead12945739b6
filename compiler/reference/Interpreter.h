// The reference interpreter: runs a func (@forward, @train_step, ...) op by op with naive loops,
// accumulating in double. It is the oracle for every numerical test, so it favours obvious code over speed.
#ifndef KILN_REFERENCE_INTERPRETER_H
#define KILN_REFERENCE_INTERPRETER_H

#include "kiln/Dialect/NN/HostTensor.h"
#include "compiler/weights/WeightStore.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Support/LLVM.h"

#include <string>
#include <vector>

namespace kiln {

/// Runs `fn` (nn ops, nn.param, func.return in one block) on `inputs` with parameters from
/// `weights`, returning one tensor per result. Inputs are all of the function's arguments in order
/// (for @train_step: inputs, labels, hyper, parameters, state) and must match their shapes; every
/// nn.param op must be in `weights` with its declared shape. On failure returns failure and sets `error` to a message
/// naming the input, parameter or op at fault and both shapes where shapes disagree.
mlir::FailureOr<std::vector<HostTensor>> interpret(mlir::func::FuncOp fn, const WeightStore &weights,
                                                   const std::vector<HostTensor> &inputs, std::string &error);

} // namespace kiln

#endif
