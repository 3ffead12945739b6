// Lowering of the ops that only move data: flatten (C-order [N, rest]) and concat (any axis).
// Both are materialised (a copy stage), so their index arithmetic stays out of consumers' loops.
#include "compiler/halide/Lowering.h"

#include "kiln/Dialect/NN/NNOps.h"

using namespace mlir;

namespace kiln::halide {

LogicalResult lowerFlatten(Operation *operation, LoweringState &state, std::string &error) {
  auto op = cast<nn::FlattenOp>(operation);
  auto input = state.tensor(op.getInput(), error);
  if (failed(input))
    return failure();
  const std::vector<int64_t> &shape = input->shape;
  if (input->rank() == 2) {
    state.values[op.getResult()] = *input;
    return success();
  }
  int64_t rest = 1;
  for (size_t d = 1; d < shape.size(); ++d)
    rest *= shape[d];
  std::vector<Halide::Var> v = storageVars(2);
  Halide::Var k = v[0], n = v[1];
  // k = ((i1 * d2 + i2) * d3 + i3) ...: peel the trailing dimensions off k.
  std::vector<Halide::Expr> logical(shape.size());
  logical[0] = n;
  Halide::Expr remaining = k;
  for (size_t d = shape.size() - 1; d >= 1; --d) {
    int size = static_cast<int>(shape[d]);
    logical[d] = d == 1 ? remaining : remaining % size;
    remaining = remaining / size;
  }
  Halide::Func out(state.freshName("flatten"));
  out(k, n) = input->at(logical);
  state.values[op.getResult()] = state.addStage(StageKind::Pointwise, out, {shape[0], rest});
  return success();
}

LogicalResult lowerConcat(Operation *operation, LoweringState &state, std::string &error) {
  auto op = cast<nn::ConcatOp>(operation);
  std::vector<TensorRef> inputs;
  for (Value value : op.getInputs()) {
    auto input = state.tensor(value, error);
    if (failed(input))
      return failure();
    inputs.push_back(*input);
  }
  const int rank = inputs[0].rank();
  const int axis = static_cast<int>(op.getAxis() < 0 ? op.getAxis() + rank : op.getAxis());
  std::vector<Halide::Var> v = storageVars(rank);
  std::vector<Halide::Expr> logical = logicalOf(v);
  Halide::Expr index = logical[axis];
  // select(index < end_0, in_0, index < end_1, in_1, ..., in_last); every read clamped in bounds.
  std::vector<int64_t> starts;
  int64_t total = 0;
  for (const TensorRef &input : inputs) {
    starts.push_back(total);
    total += input.shape[axis];
  }
  Halide::Expr value;
  for (int i = static_cast<int>(inputs.size()) - 1; i >= 0; --i) {
    std::vector<Halide::Expr> at = logical;
    at[axis] = Halide::clamp(index - static_cast<int>(starts[i]), 0, static_cast<int>(inputs[i].shape[axis] - 1));
    Halide::Expr here = inputs[i].at(at);
    value = value.defined() ? Halide::select(index < static_cast<int>(starts[i] + inputs[i].shape[axis]), here, value)
                            : here;
  }
  Halide::Func out(state.freshName("concat"));
  out(v) = value;
  std::vector<int64_t> shape = inputs[0].shape;
  shape[axis] = total;
  state.values[op.getResult()] = state.addStage(StageKind::Pointwise, out, shape);
  return success();
}

} // namespace kiln::halide
