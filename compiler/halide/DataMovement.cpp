// Lowering of the ops that move data: flatten (C-order [N, rest]), concat (any axis), reshape, pad
// (constant) and resize (nearest / bilinear). All are materialised (a stage), so their index
// arithmetic stays out of consumers' loops.
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

static std::vector<int64_t> resultShape(Operation *op) {
  auto type = cast<RankedTensorType>(op->getResult(0).getType());
  return std::vector<int64_t>(type.getShape().begin(), type.getShape().end());
}

LogicalResult lowerReshape(Operation *operation, LoweringState &state, std::string &error) {
  auto op = cast<nn::ReshapeOp>(operation);
  auto input = state.tensor(op.getInput(), error);
  if (failed(input))
    return failure();
  std::vector<int64_t> shape = resultShape(operation);
  if (shape == input->shape) {
    state.values[op.getResult()] = *input;
    return success();
  }
  // C-order linear index of the output cell, then peeled into the input's indices.
  std::vector<Halide::Var> v = storageVars(static_cast<int>(shape.size()));
  std::vector<Halide::Expr> logical = logicalOf(v);
  Halide::Expr linear = logical[0];
  for (size_t d = 1; d < shape.size(); ++d)
    linear = linear * static_cast<int>(shape[d]) + logical[d];
  std::vector<Halide::Expr> at(input->shape.size());
  for (int d = input->rank() - 1; d >= 0; --d) {
    int size = static_cast<int>(input->shape[d]);
    at[d] = d == 0 ? linear : linear % size;
    linear = linear / size;
  }
  Halide::Func out(state.freshName("reshape"));
  out(v) = input->at(at);
  state.values[op.getResult()] = state.addStage(StageKind::Pointwise, out, shape);
  return success();
}

LogicalResult lowerPad(Operation *operation, LoweringState &state, std::string &error) {
  auto op = cast<nn::PadOp>(operation);
  auto input = state.tensor(op.getInput(), error);
  if (failed(input))
    return failure();
  const int rank = input->rank();
  ArrayRef<int64_t> pads = op.getPads();
  std::vector<Halide::Var> v = storageVars(rank);
  std::vector<Halide::Expr> logical = logicalOf(v), at(rank);
  Halide::Expr inside = Halide::Internal::const_true();
  for (int d = 0; d < rank; ++d) {
    Halide::Expr i = logical[d] - static_cast<int>(pads[d]);
    int size = static_cast<int>(input->shape[d]);
    at[d] = Halide::clamp(i, 0, size - 1);
    if (pads[d] || pads[d + rank])
      inside = inside && i >= 0 && i < size;
  }
  Halide::Func out(state.freshName("pad"));
  out(v) = Halide::select(inside, input->at(at), op.getValue().convertToFloat());
  state.values[op.getResult()] = state.addStage(StageKind::Pointwise, out, resultShape(operation));
  return success();
}

namespace {
/// The two source rows (or columns) of a bilinear sample and the weight of the second.
struct Taps {
  Halide::Expr first, second, weight;
};

Taps bilinearTaps(Halide::Expr dst, int in, int out, bool alignCorners) {
  Halide::Expr src;
  if (alignCorners)
    src = Halide::cast<float>(dst) * static_cast<float>(out > 1 ? double(in - 1) / double(out - 1) : 0.0);
  else
    src = Halide::max(0.0f, (Halide::cast<float>(dst) + 0.5f) * static_cast<float>(double(in) / double(out)) - 0.5f);
  Halide::Expr first = Halide::min(Halide::cast<int>(Halide::floor(src)), in - 1);
  return {first, Halide::min(first + 1, in - 1), src - Halide::cast<float>(first)};
}
} // namespace

LogicalResult lowerResize(Operation *operation, LoweringState &state, std::string &error) {
  auto op = cast<nn::ResizeOp>(operation);
  auto input = state.tensor(op.getInput(), error);
  if (failed(input))
    return failure();
  const int H = static_cast<int>(input->shape[2]), W = static_cast<int>(input->shape[3]);
  const int OH = static_cast<int>(op.getSize()[0]), OW = static_cast<int>(op.getSize()[1]);
  std::vector<Halide::Var> v = storageVars(4);
  Halide::Var c = v[0], x = v[1], y = v[2], n = v[3];
  Halide::Func out(state.freshName("resize"));
  if (op.getMode() == "nearest") {
    // ONNX asymmetric + floor: source = floor(dst * in / out), exact in integers.
    out(v) = input->func(c, Halide::min((x * W) / OW, W - 1), Halide::min((y * H) / OH, H - 1), n);
  } else {
    Taps ty = bilinearTaps(y, H, OH, op.getAlignCorners()), tx = bilinearTaps(x, W, OW, op.getAlignCorners());
    auto at = [&](Halide::Expr row, Halide::Expr col) { return input->func(c, col, row, n); };
    Halide::Expr top = at(ty.first, tx.first) * (1.0f - tx.weight) + at(ty.first, tx.second) * tx.weight;
    Halide::Expr bottom = at(ty.second, tx.first) * (1.0f - tx.weight) + at(ty.second, tx.second) * tx.weight;
    out(v) = top * (1.0f - ty.weight) + bottom * ty.weight;
  }
  state.values[op.getResult()] = state.addStage(StageKind::Pointwise, out, resultShape(operation));
  return success();
}

} // namespace kiln::halide
