// Lowering of the nn ops that multiply by weights: conv2d (any stride, padding, dilation, groups),
// conv_transpose2d (as a gather: each output reads the input cells whose taps land on it, visiting
// only the taps that can land when the dilation is 1; it is also conv2d's input gradient) and dense.
// Convolutions read a zero-padded copy of their input, shared per value. Weights are repacked so
// output channels / features are innermost: on the host for nn.param constants, by a root stage for
// run-time weights (function arguments, as in a training step). The accumulator starts at the bias
// and is a separate Func that the schedule tiles into registers.
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

/// A root copy of `input` (the tensor of `value`) that is zero outside it, indexed in unpadded
/// coordinates; one per value serves every convolution reading it (a conv and its filter gradient).
/// `extents` is the region the first reader needs (a schedule hint: bounds inference decides).
static Halide::Func zeroPaddedCopy(LoweringState &state, Value value, const TensorRef &input,
                                   const std::vector<int64_t> &extents) {
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
  stage.extents = extents;
  state.stages.push_back(stage);
  state.convInputs[value] = staged;
  return staged;
}

Halide::Func convInput(LoweringState &state, Value value, const TensorRef &input, ArrayRef<int64_t> pad,
                       ArrayRef<int64_t> strides, ArrayRef<int64_t> dil, int64_t KH, int64_t KW,
                       const std::vector<int64_t> &outShape) {
  // The input itself when it already is a stage output and needs no padding.
  bool padded = pad[0] || pad[1] || pad[2] || pad[3];
  if (!padded && input.stage >= 0)
    return input.func;
  return zeroPaddedCopy(state, value, input,
                        {input.shape[1], (outShape[3] - 1) * strides[1] + (KW - 1) * dil[1] + 1,
                         (outShape[2] - 1) * strides[0] + (KH - 1) * dil[0] + 1, input.shape[0]});
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

namespace {
/// The taps of a conv_transpose2d kernel along one dimension that reach output coordinate o.
struct TransposeTaps {
  Halide::Expr tap;   ///< the kernel tap of reduction variable j, clamped into the kernel
  Halide::Expr input; ///< the input coordinate it reads
  Halide::Expr lands; ///< whether the tap reaches o (only meaningful when `tested`)
  bool tested;        ///< whether some taps of the reduction miss
};
} // namespace

/// Output o receives tap t of input i when o + before - t * dilation = i * stride. With dilation 1
/// only the taps t = (o + before) mod stride + j * stride do, ceil(k / stride) of them; otherwise
/// every tap is visited and tested.
static int transposeTapCount(int k, int stride, int dilation) {
  return dilation == 1 && stride > 1 ? (k + stride - 1) / stride : k;
}

static TransposeTaps transposeTaps(Halide::Expr o, Halide::Expr j, int k, int stride, int before, int dilation) {
  Halide::Expr shifted = o + before;
  TransposeTaps t;
  if (dilation == 1 && stride > 1) {
    Halide::Expr tap = shifted % stride + j * stride;
    t.tap = Halide::min(tap, k - 1);
    t.input = shifted / stride - j; // Euclidean division: floor
    t.lands = tap < k;
    t.tested = k % stride != 0;
  } else {
    Halide::Expr at = shifted - j * dilation;
    t.tap = j;
    t.input = at / stride;
    t.lands = at % stride == 0;
    t.tested = stride > 1;
  }
  return t;
}

LogicalResult lowerConvTranspose2D(Operation *operation, LoweringState &state, std::string &error) {
  auto op = cast<nn::ConvTranspose2DOp>(operation);
  auto input = state.tensor(op.getInput(), error);
  if (failed(input))
    return failure();
  const std::vector<int64_t> &inShape = input->shape, wShape = shapeOf(op.getFilter());
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

  // The input is read from a copy that is zero outside it, so only taps that may miss are tested.
  Halide::Func source = zeroPaddedCopy(
      state, op.getInput(), *input,
      {inShape[1], inShape[3] + 2 * (KW - 1) * dil[1], inShape[2] + 2 * (KH - 1) * dil[0], inShape[0]});
  std::vector<Halide::Var> v = storageVars(4);
  Halide::Var c = v[0], x = v[1], y = v[2], n = v[3];
  const int sx = static_cast<int>(strides[1]), sy = static_cast<int>(strides[0]);
  const int dx = static_cast<int>(dil[1]), dy = static_cast<int>(dil[0]);
  Halide::RDom r(0, static_cast<int>(Cg), 0, transposeTapCount(static_cast<int>(KW), sx, dx), 0,
                 transposeTapCount(static_cast<int>(KH), sy, dy), "r");
  TransposeTaps tx = transposeTaps(x, r.y, static_cast<int>(KW), sx, static_cast<int>(pad[1]), dx);
  TransposeTaps ty = transposeTaps(y, r.z, static_cast<int>(KH), sy, static_cast<int>(pad[0]), dy);
  Halide::Expr channel = r.x;
  if (groups > 1)
    channel = (c / static_cast<int>(Fg)) * static_cast<int>(Cg) + r.x;
  Halide::Expr tap = (*filter)(c, r.x, tx.tap, ty.tap) * source(channel, tx.input, ty.input, n);
  if (tx.tested || ty.tested)
    tap = Halide::select(tx.lands && ty.lands, tap, 0.0f);
  auto bias = biasAt(op.getBias(), c, state, error);
  if (failed(bias))
    return failure();
  Halide::Func acc(state.freshName("conv_transpose"));
  acc(c, x, y, n) = *bias;
  acc(c, x, y, n) += tap;
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
