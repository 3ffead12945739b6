// Lowering of the nn ops that multiply by weights: conv2d (any stride, padding, dilation, groups),
// conv_transpose2d (as a gather: each output reads the input cells whose taps land on it) and dense. Weights are repacked on the host so output channels / features are innermost; the
// accumulator starts at the bias and is a separate Func that the schedule tiles into registers.
#include "compiler/halide/Lowering.h"

#include "kiln/Dialect/NN/NNOps.h"

using namespace mlir;

namespace kiln::halide {

/// A 1-D Buffer of `tensor` (bias), or an undefined Buffer when `value` is null.
static FailureOr<Halide::Buffer<float>> optionalVector(Value value, LoweringState &state, std::string &error) {
  if (!value)
    return Halide::Buffer<float>();
  auto data = state.constant(value, error);
  if (failed(data))
    return failure();
  Halide::Buffer<float> buffer(static_cast<int>((*data)->size()));
  std::copy((*data)->data.begin(), (*data)->data.end(), buffer.data());
  return buffer;
}

LogicalResult lowerConv2D(Operation *operation, LoweringState &state, std::string &error) {
  auto op = cast<nn::Conv2DOp>(operation);
  auto input = state.tensor(op.getInput(), error);
  auto filter = state.constant(op.getFilter(), error);
  if (failed(input) || failed(filter))
    return failure();
  auto bias = optionalVector(op.getBias(), state, error);
  if (failed(bias))
    return failure();
  const std::vector<int64_t> &inShape = input->shape, &wShape = (*filter)->shape;
  const int64_t C = inShape[1], H = inShape[2], W = inShape[3];
  const int64_t F = wShape[0], Cg = wShape[1], KH = wShape[2], KW = wShape[3];
  const int64_t groups = op.getGroups(), Fg = F / groups;
  ArrayRef<int64_t> strides = op.getStrides(), pad = op.getPadding(), dil = op.getDilations();
  auto outType = cast<RankedTensorType>(op.getResult().getType());
  std::vector<int64_t> outShape(outType.getShape().begin(), outType.getShape().end());

  // Filter repacked to (f, ci, kx, ky), f innermost.
  Halide::Buffer<float> packed(static_cast<int>(F), static_cast<int>(Cg), static_cast<int>(KW), static_cast<int>(KH));
  const float *w = (*filter)->data.data();
  for (int64_t f = 0; f < F; ++f)
    for (int64_t ci = 0; ci < Cg; ++ci)
      for (int64_t ky = 0; ky < KH; ++ky)
        for (int64_t kx = 0; kx < KW; ++kx)
          packed(f, ci, kx, ky) = w[((f * Cg + ci) * KH + ky) * KW + kx];

  // The conv reads a materialised, zero-padded copy of its input (indexed in unpadded coordinates)
  // unless the input already is a stage output and needs no padding.
  std::vector<Halide::Var> v = storageVars(4);
  Halide::Var c = v[0], x = v[1], y = v[2], n = v[3];
  Halide::Func source = input->func;
  bool padded = pad[0] || pad[1] || pad[2] || pad[3];
  if (padded || input->stage < 0) {
    Halide::Func staged(state.freshName("conv_input"));
    Halide::Expr value = input->func(c, Halide::clamp(x, 0, static_cast<int>(W - 1)),
                                     Halide::clamp(y, 0, static_cast<int>(H - 1)), n);
    if (padded)
      value = Halide::select(x >= 0 && x < static_cast<int>(W) && y >= 0 && y < static_cast<int>(H), value, 0.0f);
    staged(c, x, y, n) = value;
    Stage stage;
    stage.output = staged;
    stage.extents = {C, (outShape[3] - 1) * strides[1] + (KW - 1) * dil[1] + 1,
                     (outShape[2] - 1) * strides[0] + (KH - 1) * dil[0] + 1, inShape[0]};
    state.stages.push_back(stage);
    source = staged;
  }

  Halide::RDom r(0, static_cast<int>(Cg), 0, static_cast<int>(KW), 0, static_cast<int>(KH), "r");
  Halide::Expr channel = r.x;
  if (groups > 1)
    channel = (c / static_cast<int>(Fg)) * static_cast<int>(Cg) + r.x;
  Halide::Func acc(state.freshName("conv"));
  acc(c, x, y, n) = bias->defined() ? (*bias)(c) : Halide::Expr(0.0f);
  acc(c, x, y, n) += packed(c, r.x, r.y, r.z) *
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
  auto filter = state.constant(op.getFilter(), error);
  if (failed(input) || failed(filter))
    return failure();
  auto bias = optionalVector(op.getBias(), state, error);
  if (failed(bias))
    return failure();
  const std::vector<int64_t> &inShape = input->shape, &wShape = (*filter)->shape;
  const int64_t H = inShape[2], W = inShape[3];
  const int64_t Fg = wShape[1], KH = wShape[2], KW = wShape[3];
  const int64_t groups = op.getGroups(), Cg = inShape[1] / groups, F = Fg * groups;
  ArrayRef<int64_t> strides = op.getStrides(), pad = op.getPadding(), dil = op.getDilations();
  auto outType = cast<RankedTensorType>(op.getResult().getType());
  std::vector<int64_t> outShape(outType.getShape().begin(), outType.getShape().end());

  // Filter [C, F/groups, KH, KW] repacked to (f, ci, kx, ky), f (over all groups) innermost.
  Halide::Buffer<float> packed(static_cast<int>(F), static_cast<int>(Cg), static_cast<int>(KW), static_cast<int>(KH));
  const float *w = (*filter)->data.data();
  for (int64_t f = 0; f < F; ++f)
    for (int64_t ci = 0; ci < Cg; ++ci) {
      const int64_t c = (f / Fg) * Cg + ci;
      for (int64_t ky = 0; ky < KH; ++ky)
        for (int64_t kx = 0; kx < KW; ++kx)
          packed(f, ci, kx, ky) = w[((c * Fg + f % Fg) * KH + ky) * KW + kx];
    }

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
  Halide::Func acc(state.freshName("conv_transpose"));
  acc(c, x, y, n) = bias->defined() ? (*bias)(c) : Halide::Expr(0.0f);
  acc(c, x, y, n) += Halide::select(hit, packed(c, r.x, r.y, r.z) * value, 0.0f);
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
  auto weight = state.constant(op.getWeight(), error);
  if (failed(input) || failed(weight))
    return failure();
  auto bias = optionalVector(op.getBias(), state, error);
  if (failed(bias))
    return failure();
  const int64_t N = input->shape[0], K = input->shape[1], M = (*weight)->shape[0];

  // Weight [M, K] repacked to (m, k), m innermost.
  Halide::Buffer<float> packed(static_cast<int>(M), static_cast<int>(K));
  const float *w = (*weight)->data.data();
  for (int64_t m = 0; m < M; ++m)
    for (int64_t k = 0; k < K; ++k)
      packed(m, k) = w[m * K + k];

  std::vector<Halide::Var> v = storageVars(2);
  Halide::Var m = v[0], n = v[1];
  Halide::RDom r(0, static_cast<int>(K), "r");
  Halide::Func acc(state.freshName("dense"));
  acc(m, n) = bias->defined() ? (*bias)(m) : Halide::Expr(0.0f);
  acc(m, n) += packed(m, r) * input->func(r, n);
  Halide::Func out(state.freshName("dense_out"));
  out(m, n) = acc(m, n);
  TensorRef ref = state.addStage(StageKind::Dense, out, {N, M});
  state.stages[ref.stage].accumulator = acc;
  state.stages[ref.stage].rdom = r;
  state.values[op.getResult()] = ref;
  return success();
}

} // namespace kiln::halide
