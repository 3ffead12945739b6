// Lowering of the ops that move data: flatten (C-order [N, rest]), concat (any axis), reshape,
// transpose, slice (any steps) and its gradient slice_grad, broadcast, pad (constant) and resize
// and its gradient (nearest / bilinear / bicubic, from nn::resizeTaps tables). All but broadcast
// are materialised (a stage), so their index arithmetic stays out of consumers' loops; reshape,
// transpose and slice are Copy stages, which the schedule transposes in register blocks when the
// innermost storage dimensions differ. A broadcast is only an index map, computed by its consumers.
#include "compiler/halide/Lowering.h"

#include "kiln/Dialect/NN/NNOps.h"
#include "kiln/Dialect/NN/ResizeSampling.h"

#include <functional>

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
  stage.output = stage.copy = out;
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
/// Taps along one axis as tables indexed (tap, output position), the edge repeated beyond the
/// output (vectorised loops may run past it). They live in the constant pool (positions as exact
/// floats), output positions innermost: Halide 14 emits a small Buffer of its own, or strided
/// loads from the pool, with aligned vector loads that fault.
struct TapTables {
  int taps;
  bool unitWeights;
  int64_t source; ///< the length of the axis the positions index
  Halide::Func index, weight;
};

TapTables tapTables(LoweringState &state, const nn::AxisTaps &axis, int64_t source) {
  const int out = static_cast<int>(axis.index.size()) / axis.taps;
  Halide::Buffer<float> index(out, axis.taps), weight(out, axis.taps);
  for (int d = 0; d < out; ++d)
    for (int k = 0; k < axis.taps; ++k) {
      index(d, k) = static_cast<float>(axis.index[d * axis.taps + k]);
      weight(d, k) = static_cast<float>(axis.weight[d * axis.taps + k]);
    }
  Halide::Var k("k"), d("d");
  Halide::Expr clamped = Halide::clamp(d, 0, out - 1);
  TapTables tables{axis.taps, axis.unitWeights(), source, Halide::Func(state.freshName("taps_index")),
                   Halide::Func(state.freshName("taps_weight"))};
  tables.index(k, d) = Halide::cast<int>(state.embed(state.freshName("taps_index_table"), index)(clamped, k));
  tables.weight(k, d) = state.embed(state.freshName("taps_weight_table"), weight)(clamped, k);
  return tables;
}

/// sum over taps k of weight(k, at) * read(position k of `at`): unrolled for a few taps, a loop
/// for many (a gradient's transposed taps).
Halide::Expr weightedSum(const TapTables &t, Halide::Expr at, const std::function<Halide::Expr(Halide::Expr)> &read) {
  // The tables hold positions inside the source; the clamp tells bounds inference so.
  auto term = [&](Halide::Expr k) {
    return t.weight(k, at) * read(Halide::clamp(t.index(k, at), 0, static_cast<int>(t.source - 1)));
  };
  if (t.taps == 1 && t.unitWeights)
    return read(Halide::clamp(t.index(0, at), 0, static_cast<int>(t.source - 1)));
  if (t.taps > 4) {
    Halide::RDom r(0, t.taps, "tap");
    return Halide::sum(term(r));
  }
  Halide::Expr total = term(0);
  for (int k = 1; k < t.taps; ++k)
    total += term(k);
  return total;
}

/// `input` [N, C, H, W] resampled separably by `rows` (along H) and `cols` (along W): along W per
/// source row first (a stage of its own when both have many taps), then along H.
TensorRef resample(LoweringState &state, const TensorRef &input, const TapTables &rows, const TapTables &cols,
                   const std::vector<int64_t> &shape, const std::string &name) {
  std::vector<Halide::Var> v = storageVars(4);
  Halide::Var c = v[0], x = v[1], y = v[2], n = v[3];
  Halide::Func across(state.freshName(name + "_across"));
  across(c, x, y, n) = weightedSum(cols, x, [&](Halide::Expr from) { return input.func(c, from, y, n); });
  if (rows.taps > 4 && cols.taps > 1)
    state.addStage(StageKind::Pointwise, across, {shape[0], shape[1], rows.source, shape[3]});
  Halide::Func out(state.freshName(name));
  out(v) = weightedSum(rows, y, [&](Halide::Expr from) { return across(c, x, from, n); });
  return state.addStage(StageKind::Pointwise, out, shape);
}

/// The sampling attributes of nn.resize or nn.resize_grad.
template <typename ResizeLike>
nn::ResizeSampling samplingOf(ResizeLike op) {
  return {op.getMode(), op.getCoordinateMode(), op.getNearestMode(), op.getCubicCoeffA().convertToDouble(),
          op.getExcludeOutside()};
}

/// The resize's taps along axis 0 (H) or 1 (W) from `in` to `out` positions.
template <typename ResizeLike>
nn::AxisTaps axisTaps(ResizeLike op, int axis, int64_t in, int64_t out) {
  std::optional<ArrayRef<float>> scales = op.getScales();
  return nn::resizeTaps(samplingOf(op), in, out, scales ? std::optional<double>((*scales)[axis]) : std::nullopt);
}
} // namespace

LogicalResult lowerResize(Operation *operation, LoweringState &state, std::string &error) {
  auto op = cast<nn::ResizeOp>(operation);
  auto input = state.tensor(op.getInput(), error);
  if (failed(input))
    return failure();
  const int64_t H = input->shape[2], W = input->shape[3], OH = op.getSize()[0], OW = op.getSize()[1];
  TapTables rows = tapTables(state, axisTaps(op, 0, H, OH), H), cols = tapTables(state, axisTaps(op, 1, W, OW), W);
  state.values[op.getResult()] = resample(state, *input, rows, cols, resultShape(operation), "resize");
  return success();
}

LogicalResult lowerResizeGrad(Operation *operation, LoweringState &state, std::string &error) {
  auto op = cast<nn::ResizeGradOp>(operation);
  auto dy = state.tensor(op.getGradOutput(), error);
  if (failed(dy))
    return failure();
  std::vector<int64_t> shape = resultShape(operation);
  const int64_t H = shape[2], W = shape[3], OH = dy->shape[2], OW = dy->shape[3];
  TapTables rows = tapTables(state, nn::transposeTaps(axisTaps(op, 0, H, OH), H), OH);
  TapTables cols = tapTables(state, nn::transposeTaps(axisTaps(op, 1, W, OW), W), OW);
  state.values[op.getGradInput()] = resample(state, *dy, rows, cols, shape, "resize_grad");
  return success();
}

} // namespace kiln::halide
