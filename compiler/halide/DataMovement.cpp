// Lowering of the ops that move data: flatten (C-order [N, rest]), concat (any axis), reshape, pad
// (constant) and resize (nearest / bilinear / bicubic, from nn::resizeTaps tables). All are materialised (a stage), so their index
// arithmetic stays out of consumers' loops.
#include "compiler/halide/Lowering.h"

#include "kiln/Dialect/NN/NNOps.h"
#include "kiln/Dialect/NN/ResizeSampling.h"

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
/// The taps of nn.resize along one axis as tables indexed (tap, output position), the edge
/// repeated beyond the output (vectorised loops may run past it). They live in the constant pool
/// (positions as exact floats), output positions innermost: Halide 14 emits a small Buffer of its
/// own, or strided loads from the pool, with aligned vector loads that fault.
struct TapTables {
  int taps;
  Halide::Func index, weight;
};

TapTables tapTables(LoweringState &state, const nn::ResizeSampling &sampling, int64_t in, int64_t out,
                    std::optional<double> scale) {
  nn::AxisTaps axis = nn::resizeTaps(sampling, in, out, scale);
  Halide::Buffer<float> index(static_cast<int>(out), axis.taps), weight(static_cast<int>(out), axis.taps);
  for (int d = 0; d < out; ++d)
    for (int k = 0; k < axis.taps; ++k) {
      index(d, k) = static_cast<float>(axis.index[d * axis.taps + k]);
      weight(d, k) = static_cast<float>(axis.weight[d * axis.taps + k]);
    }
  Halide::Var k("k"), d("d");
  Halide::Expr clamped = Halide::clamp(d, 0, static_cast<int>(out - 1));
  TapTables tables{axis.taps, Halide::Func(state.freshName("resize_index")), Halide::Func(state.freshName("resize_weight"))};
  tables.index(k, d) = Halide::cast<int>(state.embed(state.freshName("resize_index_table"), index)(clamped, k));
  tables.weight(k, d) = state.embed(state.freshName("resize_weight_table"), weight)(clamped, k);
  return tables;
}
} // namespace

LogicalResult lowerResize(Operation *operation, LoweringState &state, std::string &error) {
  auto op = cast<nn::ResizeOp>(operation);
  auto input = state.tensor(op.getInput(), error);
  if (failed(input))
    return failure();
  const int64_t H = input->shape[2], W = input->shape[3], OH = op.getSize()[0], OW = op.getSize()[1];
  nn::ResizeSampling sampling{op.getMode(), op.getCoordinateMode(), op.getNearestMode(),
                              op.getCubicCoeffA().convertToDouble(), op.getExcludeOutside()};
  std::optional<ArrayRef<float>> scales = op.getScales();
  TapTables rows = tapTables(state, sampling, H, OH, scales ? std::optional<double>((*scales)[0]) : std::nullopt);
  TapTables cols = tapTables(state, sampling, W, OW, scales ? std::optional<double>((*scales)[1]) : std::nullopt);
  std::vector<Halide::Var> v = storageVars(4);
  Halide::Var c = v[0], x = v[1], y = v[2], n = v[3];
  // The tables hold positions inside the input; the clamps tell bounds inference so.
  auto at = [&](int i, int j) {
    return input->func(c, Halide::clamp(cols.index(j, x), 0, static_cast<int>(W - 1)),
                       Halide::clamp(rows.index(i, y), 0, static_cast<int>(H - 1)), n);
  };
  // Separable: a weighted sum of taps along x per source row, then along y.
  Halide::Expr value = 0.0f;
  for (int i = 0; i < rows.taps; ++i) {
    Halide::Expr row = 0.0f;
    for (int j = 0; j < cols.taps; ++j)
      row += cols.weight(j, x) * at(i, j);
    value += rows.weight(i, y) * row;
  }
  Halide::Func out(state.freshName("resize"));
  out(v) = rows.taps == 1 ? at(0, 0) : value;
  state.values[op.getResult()] = state.addStage(StageKind::Pointwise, out, resultShape(operation));
  return success();
}

} // namespace kiln::halide
