// Lowering of the ops that move data: flatten (C-order [N, rest]), concat (any axis), reshape,
// transpose, slice (any steps) and its gradient slice_grad, broadcast, pad (constant) and resize
// (nearest / bilinear). All but broadcast are materialised (a stage), so their index arithmetic
// stays out of consumers' loops; reshape, transpose and slice are Copy stages, which the schedule
// transposes in register blocks when the innermost storage dimensions differ. A broadcast is only
// an index map, computed by its consumers.
#include "compiler/halide/Lowering.h"

#include "kiln/Dialect/NN/NNOps.h"

#include <map>

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

Stage copyStage(LoweringState &state, mlir::Value operand, Halide::Func out, const std::vector<Halide::Var> &vars,
                const TensorRef &input, const std::vector<Halide::Expr> &logical, const std::vector<int64_t> &extents) {
  std::vector<int> perm = storagePerm(input.rank());
  std::vector<Halide::Expr> args(perm.size());
  for (size_t i = 0; i < perm.size(); ++i)
    args[i] = logical[perm[i]];
  Stage stage;
  stage.kind = StageKind::Copy;
  stage.source = input.func;
  stage.sourceArgs = args;
  stage.sourceInner = input.memoryInner;
  const int producer = state.fusableStage(operand);
  if (producer >= 0 && state.stages[producer].kind == StageKind::Copy && !state.stages[producer].fused) {
    // Composed with the copy that produces the input: its source read at its arguments of `args`.
    Stage &inner = state.stages[producer];
    std::map<std::string, Halide::Expr> replacements;
    std::vector<Halide::Var> innerVars = inner.output.args();
    for (size_t i = 0; i < innerVars.size(); ++i)
      replacements[innerVars[i].name()] = args[i];
    stage.source = inner.source;
    stage.sourceInner = inner.sourceInner;
    stage.sourceArgs.clear();
    for (const Halide::Expr &arg : inner.sourceArgs)
      stage.sourceArgs.push_back(Halide::Internal::simplify(Halide::Internal::substitute(replacements, arg)));
    inner.kind = StageKind::Inline; // nothing reads it any more
  }
  out(vars) = stage.source(stage.sourceArgs);
  stage.output = out;
  stage.extents = extents;
  return stage;
}

/// Binds `result` to a Copy stage reading `input` (the tensor of `operand`) at logical indices `at`
/// (Exprs of `v`, the result's storage Vars).
static void bindCopy(LoweringState &state, Value result, const std::string &name, Value operand,
                     const TensorRef &input, const std::vector<Halide::Var> &v, const std::vector<Halide::Expr> &at) {
  TensorRef ref;
  ref.shape = shapeOf(result);
  state.stages.push_back(
      copyStage(state, operand, Halide::Func(state.freshName(name)), v, input, at, storageExtents(ref.shape)));
  ref.func = state.stages.back().output;
  ref.stage = static_cast<int>(state.stages.size()) - 1;
  state.values[result] = ref;
}

LogicalResult lowerReshape(Operation *operation, LoweringState &state, std::string &error) {
  auto op = cast<nn::ReshapeOp>(operation);
  auto input = state.tensor(op.getInput(), error);
  if (failed(input))
    return failure();
  const std::vector<int64_t> &in = input->shape, out = resultShape(operation);
  if (out == in) {
    state.values[op.getResult()] = *input;
    return success();
  }
  // Groups of consecutive dimensions with equal element counts (a split or a merge): each group's
  // output indices linearised (C order) and peeled into its input indices, so dimensions that
  // keep their extent keep their index and no division crosses a group.
  std::vector<Halide::Var> v = storageVars(static_cast<int>(out.size()));
  std::vector<Halide::Expr> logical = logicalOf(v), at(in.size());
  for (size_t i = 0, o = 0; i < in.size() || o < out.size();) {
    const size_t firstIn = i, firstOut = o;
    int64_t inCount = i < in.size() ? in[i++] : 1, outCount = o < out.size() ? out[o++] : 1;
    while (inCount != outCount) {
      if (inCount < outCount)
        inCount *= in[i++];
      else
        outCount *= out[o++];
    }
    Halide::Expr linear = 0;
    for (size_t d = firstOut; d < o; ++d)
      linear = d == firstOut ? logical[d] : linear * static_cast<int>(out[d]) + logical[d];
    for (size_t d = i; d-- > firstIn;) {
      at[d] = d == firstIn ? linear : linear % static_cast<int>(in[d]);
      linear = linear / static_cast<int>(in[d]);
    }
  }
  bindCopy(state, op.getResult(), "reshape", op.getInput(), *input, v, at);
  return success();
}

LogicalResult lowerTranspose(Operation *operation, LoweringState &state, std::string &error) {
  auto op = cast<nn::TransposeOp>(operation);
  auto input = state.tensor(op.getInput(), error);
  if (failed(input))
    return failure();
  ArrayRef<int64_t> perm = op.getPerm();
  std::vector<Halide::Var> v = storageVars(input->rank());
  std::vector<Halide::Expr> logical = logicalOf(v), at(perm.size());
  for (size_t d = 0; d < perm.size(); ++d)
    at[perm[d]] = logical[d]; // result dimension d is input dimension perm[d]
  bindCopy(state, op.getResult(), "transpose", op.getInput(), *input, v, at);
  return success();
}

LogicalResult lowerSlice(Operation *operation, LoweringState &state, std::string &error) {
  auto op = cast<nn::SliceOp>(operation);
  auto input = state.tensor(op.getInput(), error);
  if (failed(input))
    return failure();
  std::vector<Halide::Var> v = storageVars(input->rank());
  std::vector<Halide::Expr> at = logicalOf(v);
  for (size_t d = 0; d < at.size(); ++d)
    at[d] = static_cast<int>(op.getStarts()[d]) + at[d] * static_cast<int>(op.getSteps()[d]);
  bindCopy(state, op.getOutput(), "slice", op.getInput(), *input, v, at);
  return success();
}

LogicalResult lowerSliceGrad(Operation *operation, LoweringState &state, std::string &error) {
  auto op = cast<nn::SliceGradOp>(operation);
  auto gradOutput = state.tensor(op.getGradOutput(), error);
  if (failed(gradOutput))
    return failure();
  // Element i of the input was taken when, along every dimension, i - start is a multiple of the
  // step whose quotient is a taken position (Euclidean division: also for negative steps).
  std::vector<int64_t> shape = shapeOf(op.getGradInput());
  std::vector<Halide::Var> v = storageVars(static_cast<int>(shape.size()));
  std::vector<Halide::Expr> logical = logicalOf(v), at(shape.size());
  Halide::Expr taken = Halide::Internal::const_true();
  for (size_t d = 0; d < shape.size(); ++d) {
    const int start = static_cast<int>(op.getStarts()[d]), step = static_cast<int>(op.getSteps()[d]);
    const int count = static_cast<int>(gradOutput->shape[d]);
    Halide::Expr offset = logical[d] - start, position = step == 1 ? offset : offset / step;
    at[d] = Halide::clamp(position, 0, count - 1);
    if (count == shape[d] && start == 0 && step == 1)
      continue;
    taken = taken && position >= 0 && position < count;
    if (step != 1 && step != -1)
      taken = taken && offset % step == 0;
  }
  Halide::Func out(state.freshName("slice_grad"));
  out(v) = Halide::select(taken, gradOutput->at(at), 0.0f);
  state.values[op.getGradInput()] = state.addStage(StageKind::Pointwise, out, shape);
  return success();
}

LogicalResult lowerBroadcast(Operation *operation, LoweringState &state, std::string &error) {
  auto op = cast<nn::BroadcastOp>(operation);
  auto input = state.tensor(op.getInput(), error);
  if (failed(input))
    return failure();
  std::vector<int64_t> shape = shapeOf(op.getOutput());
  std::vector<Halide::Var> v = storageVars(static_cast<int>(shape.size()));
  Halide::Func out(state.freshName("broadcast"));
  out(v) = broadcastRead(*input, logicalOf(v));
  TensorRef ref;
  ref.func = out;
  ref.shape = shape;
  state.values[op.getOutput()] = ref; // inline: each consumer reads the input directly
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
