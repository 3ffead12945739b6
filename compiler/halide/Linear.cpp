// Lowering of the nn ops that multiply by weights: conv2d (any stride, padding, dilation, groups;
// the convs whose layer gets the Winograd algorithm go to Winograd.cpp),
// conv_transpose2d (as a gather: each output reads the input cells whose taps land on it, visiting
// only the taps that can land when the dilation is 1, or only the input cells when there are fewer;
// it is also conv2d's input gradient) and dense.
// Convolutions read a zero-padded copy of their input, shared per value. Weights are repacked so
// output channels / features are innermost: on the host for nn.param constants, in blocks of the
// schedule's register tile, by a root stage for run-time weights (function arguments, as in a
// training step). The accumulator starts at the bias and is a separate Func that the schedule
// tiles into registers.
#include "compiler/halide/Lowering.h"

#include "kiln/Dialect/NN/NNOps.h"

using namespace mlir;

namespace kiln::halide {

FailureOr<Halide::Expr> biasAt(Value value, Halide::Expr c, LoweringState &state, std::string &error) {
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
/// host into the constant pool, argument 0 in blocks of `block` where it divides (embed); a
/// run-time weight by a root stage.
template <typename Source>
static FailureOr<Halide::Func> packed(Value value, const std::vector<int64_t> &extents, Source source, int block,
                                      LoweringState &state, std::string &error) {
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
    return state.embed(state.freshName("packed"), buffer, block);
  }
  std::vector<Halide::Var> vars;
  for (size_t i = 0; i < extents.size(); ++i)
    vars.emplace_back("p" + std::to_string(i));
  Halide::Func func(state.freshName("packed"));
  auto tensor = state.tensor(value, error);
  if (failed(tensor))
    return failure();
  func(vars) = tensor->at(source(std::vector<Halide::Expr>(vars.begin(), vars.end())));
  Stage stage;
  stage.kind = StageKind::Repack;
  stage.output = func;
  stage.extents = extents;
  state.stages.push_back(stage);
  return func;
}

Halide::Func zeroPaddedCopy(LoweringState &state, Value value, const TensorRef &input,
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

  // The algorithm and weight blocks: those chosen for this conv's layer (a tuned schedule), else
  // the options' for its shape.
  const bool winograd = winogradCapable(operation, state);
  const LayerLowering lowering =
      state.lowering(operation, effectiveConv(storageExtents(outShape), {Cg, KW, KH}, winograd, state.options), false);
  if (lowering.algorithm == ConvAlgorithm::Winograd)
    return lowerWinogradConv(operation, state, lowering, error);

  // Filter repacked to (f, ci, kx, ky), f innermost.
  auto filter = packed(
      op.getFilter(), {F, Cg, KW, KH}, [](const auto &a) { return std::decay_t<decltype(a)>{a[0], a[1], a[3], a[2]}; },
      lowering.weightBlock, state, error);
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
  state.stages[ref.stage].winogradCapable = winograd;
  state.stages[ref.stage].lowering = lowering;
  state.values[op.getResult()] = ref;
  return success();
}

namespace {
/// One dimension of a conv_transpose2d gather. Output o receives tap t of input i when
/// o + pad = i * stride + t * dilation. The reduction runs over the taps that can reach o or, when
/// the input is shorter than that (the small gradients of a network's last convolutions), over the
/// input positions.
struct TransposeAxis {
  int kernel, stride, pad, dilation, inputs, outputs;

  /// With dilation 1 only the taps t = (o + pad) mod stride + j * stride land, ceil(k / stride) of
  /// them; otherwise every tap is visited and tested.
  int tapsPerOutput() const { return dilation == 1 && stride > 1 ? (kernel + stride - 1) / stride : kernel; }
  bool overInputs() const { return dilation == 1 && inputs < tapsPerOutput(); }
  int extent() const { return overInputs() ? inputs : tapsPerOutput(); }
};

/// What reduction variable j of one TransposeAxis reads for output coordinate o.
struct TransposeTaps {
  Halide::Expr tap;   ///< the kernel tap, clamped into the kernel
  Halide::Expr input; ///< the input coordinate it reads
  Halide::Expr lands; ///< whether the tap reaches o (only meaningful when `tested`)
  bool tested;        ///< whether some (o, j) miss
};
} // namespace

static TransposeTaps transposeTaps(const TransposeAxis &a, Halide::Expr o, Halide::Expr j) {
  Halide::Expr shifted = o + a.pad;
  TransposeTaps t;
  if (a.overInputs()) {
    Halide::Expr tap = shifted - j * a.stride;
    t.tested = a.pad - (a.inputs - 1) * a.stride < 0 || a.outputs - 1 + a.pad >= a.kernel;
    t.tap = t.tested ? Halide::clamp(tap, 0, a.kernel - 1) : tap;
    t.input = j;
    t.lands = tap >= 0 && tap < a.kernel;
  } else if (a.dilation == 1 && a.stride > 1) {
    Halide::Expr tap = shifted % a.stride + j * a.stride;
    t.tap = Halide::min(tap, a.kernel - 1);
    t.input = shifted / a.stride - j; // Euclidean division: floor
    t.lands = tap < a.kernel;
    t.tested = a.kernel % a.stride != 0;
  } else {
    Halide::Expr at = shifted - j * a.dilation;
    t.tap = j;
    t.input = at / a.stride;
    t.lands = at % a.stride == 0;
    t.tested = a.stride > 1;
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
  const LayerLowering lowering =
      state.lowering(operation, effectiveConv(storageExtents(outShape), {Cg, KW, KH}, false, state.options), false);
  auto filter = packed(
      op.getFilter(), {F, Cg, KW, KH},
      [&](const auto &a) {
        return std::decay_t<decltype(a)>{(a[0] / filtersPerGroup) * channelsPerGroup + a[1], a[0] % filtersPerGroup,
                                         a[3], a[2]};
      },
      lowering.weightBlock, state, error);
  if (failed(filter))
    return failure();

  auto axis = [&](int d) {
    return TransposeAxis{static_cast<int>(wShape[2 + d]), static_cast<int>(strides[d]), static_cast<int>(pad[d]),
                         static_cast<int>(dil[d]), static_cast<int>(inShape[2 + d]), static_cast<int>(outShape[2 + d])};
  };
  const TransposeAxis ax = axis(1), ay = axis(0);
  // Taps read a copy of the input that is zero outside it, so only taps that may miss are tested;
  // input positions are always inside.
  Halide::Func source = input->func;
  if (!ax.overInputs() || !ay.overInputs() || input->stage < 0)
    source = zeroPaddedCopy(
        state, op.getInput(), *input,
        {inShape[1], inShape[3] + 2 * (KW - 1) * dil[1], inShape[2] + 2 * (KH - 1) * dil[0], inShape[0]});
  std::vector<Halide::Var> v = storageVars(4);
  Halide::Var c = v[0], x = v[1], y = v[2], n = v[3];
  Halide::RDom r(0, static_cast<int>(Cg), 0, ax.extent(), 0, ay.extent(), "r");
  TransposeTaps tx = transposeTaps(ax, x, r.y), ty = transposeTaps(ay, y, r.z);
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
  state.stages[ref.stage].lowering = lowering;
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
  const LayerLowering lowering = state.lowering(operation, effectiveDense({M, N}, K, state.options), true);
  auto weight = packed(op.getWeight(), {M, K}, [](const auto &a) { return a; }, lowering.weightBlock, state, error);
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
  state.stages[ref.stage].lowering = lowering;
  state.values[op.getResult()] = ref;
  return success();
}

} // namespace kiln::halide
