// Lowering of the ops that move data: flatten (C-order [N, rest]), concat (any axis), reshape, pad
// (constant) and resize (nearest / bilinear / bicubic, from nn::resizeTaps tables). All are materialised (a stage), so their index
// arithmetic stays out of consumers' loops.
#include "compiler/halide/Lowering.h"

#include "kiln/Dialect/NN/NNOps.h"
#include "kiln/Dialect/NN/ResizeSampling.h"

#include <functional>

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
