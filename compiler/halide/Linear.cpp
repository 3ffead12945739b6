// Lowering of the nn ops that multiply by weights: conv2d (any stride, padding, dilation, groups),
// conv_transpose2d (as a gather: each output reads the input cells whose taps land on it) and dense.
// Weights are repacked so output channels / features are innermost: on the host for nn.param
// constants, by a root stage for run-time weights (function arguments, as in a training step). The
// accumulator starts at the bias and is a separate Func that the schedule tiles into registers.
#include "compiler/halide/Lowering.h"

#include "kiln/Dialect/NN/NNOps.h"

using namespace mlir;

namespace kiln::halide {

/// The bias read at output channel `c`, or 0 when `value` is null.
static FailureOr<Halide::Expr> biasAt(Value value, Halide::Expr c, LoweringState &state, std::string &error) {
  if (!value)
    return Halide::Expr(0.0f);
  auto bias = state.tensor(value, error);
  if (failed(bias))
    return failure();
  return Halide::Expr(bias->func(c));
}

/// The weight `value` rearranged into a Func with argument extents `extents`, whose element at
/// arguments A is the weight at logical (C-order) indices source(A). `source` is generic over the
/// index type (int64_t on the host, Halide::Expr in the pipeline). An nn.param is repacked on the
/// host into an embedded Buffer; a run-time weight by a root stage.
template <typename Source>
static FailureOr<Halide::Func> packed(Value value, const std::vector<int64_t> &extents, Source source,
                                      LoweringState &state, std::string &error) {
  std::vector<Halide::Var> vars;
  for (size_t i = 0; i < extents.size(); ++i)
    vars.emplace_back("p" + std::to_string(i));
  Halide::Func func(state.freshName("packed"));
  if (state.isConstant(value)) {
    auto data = state.constant(value, error);
    if (failed(data))
      return failure();
    const HostTensor &tensor = **data;
    Halide::Buffer<float> buffer(std::vector<int>(extents.begin(), extents.end()));
    buffer.for_each_element([&](const int *pos) {
      std::vector<int64_t> logical = source(std::vector<int64_t>(pos, pos + extents.size()));
      int64_t offset = 0;
      for (size_t d = 0; d < logical.size(); ++d)
        offset = offset * tensor.shape[d] + logical[d];
      buffer(pos) = tensor.data[offset];
    });
    func(vars) = buffer(std::vector<Halide::Expr>(vars.begin(), vars.end()));
    return func;
  }
  auto tensor = state.tensor(value, error);
  if (failed(tensor))
    return failure();
  func(vars) = tensor->at(source(std::vector<Halide::Expr>(vars.begin(), vars.end())));
  Stage stage;
  stage.output = func;
  stage.extents = extents;
  state.stages.push_back(stage);
  return func;
}

Halide::Func convInput(LoweringState &state, Value value, const TensorRef &input, ArrayRef<int64_t> pad,
                       ArrayRef<int64_t> strides, ArrayRef<int64_t> dil, int64_t KH, int64_t KW,
                       const std::vector<int64_t> &outShape) {
  // A materialised copy of the input, zero outside it (indexed in unpadded coordinates), unless
  // the input already is a stage output and needs no padding. One copy per value serves every
  // convolution reading it (a conv and its filter gradient).
  bool padded = pad[0] || pad[1] || pad[2] || pad[3];
  if (!padded && input.stage >= 0)
    return input.func;
  auto found = state.convInputs.find(value);
  if (found != state.convInputs.end())
    return found->second;
  const int H = static_cast<int>(input.shape[2]), W = static_cast<int>(input.shape[3]);
  std::vector<Halide::Var> v = storageVars(4);
  Halide::Var c = v[0], x = v[1], y = v[2], n = v[3];
  Halide::Func staged(state.freshName("conv_input"));
  staged(c, x, y, n) = Halide::select(x >= 0 && x < W && y >= 0 && y < H,
                                      input.func(c, Halide::clamp(x, 0, W - 1), Halide::clamp(y, 0, H - 1), n), 0.0f);
  Stage stage;
  stage.output = staged;
  stage.extents = {input.shape[1], (outShape[3] - 1) * strides[1] + (KW - 1) * dil[1] + 1,
                   (outShape[2] - 1) * strides[0] + (KH - 1) * dil[0] + 1, input.shape[0]};
  state.stages.push_back(stage);
  state.convInputs[value] = staged;
  return staged;
}

LogicalResult lowerConv2D(Operation *operation, LoweringState &state, std::string &error) {
  auto op = cast<nn::Conv2DOp>(operation);
  auto input = state.tensor(op.getInput(), error);
  if (failed(input))
    return failure();
  const std::vector<int64_t> wShape = shapeOf(op.getFilter());
  const int64_t F = wShape[0], Cg = wShape[1], KH = wShape[2], KW = wShape[3];
  const int64_t groups = op.getGroups(), Fg = F / groups;
  ArrayRef<int64_t> strides = op.getStrides(), pad = op.getPadding(), dil = op.getDilations();
  auto outType = cast<RankedTensorType>(op.getResult().getType());
  std::vector<int64_t> outShape(outType.getShape().begin(), outType.getShape().end());

  // Filter repacked to (f, ci, kx, ky), f innermost.
  auto filter = packed(
      op.getFilter(), {F, Cg, KW, KH}, [](const auto &a) { return std::decay_t<decltype(a)>{a[0], a[1], a[3], a[2]}; },
      state, error);
  if (failed(filter))
    return failure();

  std::vector<Halide::Var> v = storageVars(4);
  Halide::Var c = v[0], x = v[1], y = v[2], n = v[3];
  Halide::Func source = convInput(state, op.getInput(), *input, pad, strides, dil, KH, KW, outShape);

  Halide::RDom r(0, static_cast<int>(Cg), 0, static_cast<int>(KW), 0, static_cast<int>(KH), "r");
  Halide::Expr channel = r.x;
  if (groups > 1)
    channel = (c / static_cast<int>(Fg)) * static_cast<int>(Cg) + r.x;
  auto bias = biasAt(op.getBias(), c, state, error);
  if (failed(bias))
    return failure();
  Halide::Func acc(state.freshName("conv"));
  acc(c, x, y, n) = *bias;
  acc(c, x, y, n) += (*filter)(c, r.x, r.y, r.z) *
                     source(channel, x * static_cast<int>(strides[1]) + r.y * static_cast<int>(dil[1]) - static_cast<int>(pad[1]),
                            y * static_cast<int>(strides[0]) + r.z * static_cast<int>(dil[0]) - static_cast<int>(pad[0]), n);
  Halide::Func out(state.freshName("conv_out"));
  out(c, x, y, n) = acc(c, x, y, n);
  TensorRef ref = state.addStage(StageKind::Conv, out, outShape);
  state.stages[ref.stage].accumulator = acc;
  state.stages[ref.stage].rdom = r;
  state.values[op.getResult()] = ref;
  return success();
}

LogicalResult lowerConvTranspose2D(Operation *operation, LoweringState &state, std::string &error) {
  auto op = cast<nn::ConvTranspose2DOp>(operation);
  auto input = state.tensor(op.getInput(), error);
  if (failed(input))
    return failure();
  const std::vector<int64_t> &inShape = input->shape, wShape = shapeOf(op.getFilter());
  const int64_t H = inShape[2], W = inShape[3];
  const int64_t Fg = wShape[1], KH = wShape[2], KW = wShape[3];
  const int64_t groups = op.getGroups(), Cg = inShape[1] / groups, F = Fg * groups;
  ArrayRef<int64_t> strides = op.getStrides(), pad = op.getPadding(), dil = op.getDilations();
  auto outType = cast<RankedTensorType>(op.getResult().getType());
  std::vector<int64_t> outShape(outType.getShape().begin(), outType.getShape().end());

  // Filter [C, F/groups, KH, KW] repacked to (f, ci, kx, ky), f (over all groups) innermost.
  const int filtersPerGroup = static_cast<int>(Fg), channelsPerGroup = static_cast<int>(Cg);
  auto filter = packed(
      op.getFilter(), {F, Cg, KW, KH},
      [&](const auto &a) {
        return std::decay_t<decltype(a)>{(a[0] / filtersPerGroup) * channelsPerGroup + a[1], a[0] % filtersPerGroup,
                                         a[3], a[2]};
      },
      state, error);
  if (failed(filter))
    return failure();

  // Output (x, y) receives tap (kx, ky) of input (ix, iy) when x + left - kx * dil = ix * stride.
  std::vector<Halide::Var> v = storageVars(4);
  Halide::Var c = v[0], x = v[1], y = v[2], n = v[3];
  Halide::RDom r(0, static_cast<int>(Cg), 0, static_cast<int>(KW), 0, static_cast<int>(KH), "r");
  const int sx = static_cast<int>(strides[1]), sy = static_cast<int>(strides[0]);
  Halide::Expr tx = x + static_cast<int>(pad[1]) - r.y * static_cast<int>(dil[1]);
  Halide::Expr ty = y + static_cast<int>(pad[0]) - r.z * static_cast<int>(dil[0]);
  Halide::Expr ix = tx / sx, iy = ty / sy; // Euclidean division: floor for negative tx
  Halide::Expr hit = tx >= 0 && ty >= 0 && ix < static_cast<int>(W) && iy < static_cast<int>(H);
  if (sx > 1)
    hit = hit && tx % sx == 0;
  if (sy > 1)
    hit = hit && ty % sy == 0;
  Halide::Expr channel = r.x;
  if (groups > 1)
    channel = (c / static_cast<int>(Fg)) * static_cast<int>(Cg) + r.x;
  Halide::Expr value = input->func(channel, Halide::clamp(ix, 0, static_cast<int>(W - 1)),
                                   Halide::clamp(iy, 0, static_cast<int>(H - 1)), n);
  auto bias = biasAt(op.getBias(), c, state, error);
  if (failed(bias))
    return failure();
  Halide::Func acc(state.freshName("conv_transpose"));
  acc(c, x, y, n) = *bias;
  acc(c, x, y, n) += Halide::select(hit, (*filter)(c, r.x, r.y, r.z) * value, 0.0f);
  Halide::Func out(state.freshName("conv_transpose_out"));
  out(c, x, y, n) = acc(c, x, y, n);
  TensorRef ref = state.addStage(StageKind::Conv, out, outShape);
  state.stages[ref.stage].accumulator = acc;
  state.stages[ref.stage].rdom = r;
  state.values[op.getResult()] = ref;
  return success();
}

LogicalResult lowerDense(Operation *operation, LoweringState &state, std::string &error) {
  auto op = cast<nn::DenseOp>(operation);
  auto input = state.tensor(op.getInput(), error);
  if (failed(input))
    return failure();
  const int64_t N = input->shape[0], K = input->shape[1], M = shapeOf(op.getWeight())[0];

  // Weight [M, K] repacked to (m, k), m innermost.
  auto weight = packed(op.getWeight(), {M, K}, [](const auto &a) { return a; }, state, error);
  if (failed(weight))
    return failure();

  std::vector<Halide::Var> v = storageVars(2);
  Halide::Var m = v[0], n = v[1];
  Halide::RDom r(0, static_cast<int>(K), "r");
  auto bias = biasAt(op.getBias(), m, state, error);
  if (failed(bias))
    return failure();
  Halide::Func acc(state.freshName("dense"));
  acc(m, n) = *bias;
  acc(m, n) += (*weight)(m, r) * input->func(r, n);
  Halide::Func out(state.freshName("dense_out"));
  out(m, n) = acc(m, n);
  TensorRef ref = state.addStage(StageKind::Dense, out, {N, M});
  state.stages[ref.stage].accumulator = acc;
  state.stages[ref.stage].rdom = r;
  state.values[op.getResult()] = ref;
  return success();
}

} // namespace kiln::halide
