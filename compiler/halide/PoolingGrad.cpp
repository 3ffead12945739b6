// Lowering of the pooling gradients in gather form (each input position sums over the few output
// cells whose windows contain it, so there are no scattered writes): max_pool2d_grad (from a root
// stage holding each window's first maximum, PyTorch's tie rule), avg_pool2d_grad (the forward's
// divisor) and global_avg_pool_grad (a broadcast, left inline).
#include "compiler/halide/Lowering.h"

#include "kiln/Dialect/NN/NNOps.h"

using namespace mlir;

namespace kiln::halide {

namespace {
/// The output cells whose windows may contain input position (ix, iy): (ox, oy) for each point of
/// `r`, with (kx, ky) the position's offset inside that cell's window.
struct Covering {
  Halide::RDom r;
  Halide::Expr ox, oy;    ///< clamped into the output, so always safe to read
  Halide::Expr offset;    ///< ky * KW + kx, the row-major window offset of (ix, iy)
  Halide::Expr contains;  ///< whether the (unclamped) cell exists and its window contains (ix, iy)
  Halide::Expr top, left; ///< input coordinates of the cell's window start
};
} // namespace

/// Windows of extent k and stride s starting at o * s - before contain i when o is at most
/// (i + before) / s and more than (i + before - k) / s: at most ceil(k / s) cells per dimension.
static Covering covering(Halide::Expr ix, Halide::Expr iy, ArrayRef<int64_t> kernel, ArrayRef<int64_t> strides,
                         ArrayRef<int64_t> pad, const std::vector<int64_t> &outShape) {
  const int KH = static_cast<int>(kernel[0]), KW = static_cast<int>(kernel[1]);
  const int sy = static_cast<int>(strides[0]), sx = static_cast<int>(strides[1]);
  const int OH = static_cast<int>(outShape[2]), OW = static_cast<int>(outShape[3]);
  Covering c;
  c.r = Halide::RDom(0, (KW + sx - 1) / sx, 0, (KH + sy - 1) / sy, "r");
  Halide::Expr ox = (ix + static_cast<int>(pad[1])) / sx - c.r.x; // floor division
  Halide::Expr oy = (iy + static_cast<int>(pad[0])) / sy - c.r.y;
  Halide::Expr kx = ix + static_cast<int>(pad[1]) - ox * sx, ky = iy + static_cast<int>(pad[0]) - oy * sy;
  c.contains = ox >= 0 && ox < OW && oy >= 0 && oy < OH && kx < KW && ky < KH;
  c.ox = Halide::clamp(ox, 0, OW - 1);
  c.oy = Halide::clamp(oy, 0, OH - 1);
  c.offset = ky * KW + kx;
  c.top = c.oy * sy - static_cast<int>(pad[0]);
  c.left = c.ox * sx - static_cast<int>(pad[1]);
  return c;
}

LogicalResult lowerMaxPool2DGrad(Operation *operation, LoweringState &state, std::string &error) {
  auto op = cast<nn::MaxPool2DGradOp>(operation);
  auto input = state.tensor(op.getInput(), error);
  auto gradOutput = state.tensor(op.getGradOutput(), error);
  if (failed(input) || failed(gradOutput))
    return failure();
  ArrayRef<int64_t> kernel = op.getKernel(), strides = op.getStrides(), pad = op.getPadding();
  const std::vector<int64_t> &outShape = gradOutput->shape;

  // Each window's first maximum (argmax keeps the first in its row-major iteration order) as an
  // offset ky * KW + kx.
  std::vector<Halide::Var> o = storageVars(4);
  PoolWindow w = poolWindow(*input, kernel, strides, pad, op.getCeilMode(), o);
  Halide::Tuple best = Halide::argmax(w.r, maxCandidate(w));
  Halide::Func winner(state.freshName("max_pool_winner"));
  winner(o) = best[1] * static_cast<int>(kernel[1]) + best[0];
  Stage stage;
  stage.output = winner;
  stage.extents = storageExtents(outShape);
  state.stages.push_back(stage);

  std::vector<Halide::Var> v = storageVars(4);
  Covering cells = covering(v[1], v[2], kernel, strides, pad, outShape);
  Halide::Expr wins = cells.contains && winner(v[0], cells.ox, cells.oy, v[3]) == cells.offset;
  Halide::Func out(state.freshName("max_pool_grad"));
  out(v) = Halide::sum(Halide::select(wins, gradOutput->func(v[0], cells.ox, cells.oy, v[3]), 0.0f));
  state.values[op.getGradInput()] = state.addStage(StageKind::Pointwise, out, input->shape);
  return success();
}

LogicalResult lowerAvgPool2DGrad(Operation *operation, LoweringState &state, std::string &error) {
  auto op = cast<nn::AvgPool2DGradOp>(operation);
  auto gradOutput = state.tensor(op.getGradOutput(), error);
  if (failed(gradOutput))
    return failure();
  ArrayRef<int64_t> kernel = op.getKernel(), pad = op.getPadding();
  const std::vector<int64_t> inShape = shapeOf(op.getGradInput());
  std::vector<Halide::Var> v = storageVars(4);
  Covering cells = covering(v[1], v[2], kernel, op.getStrides(), pad, gradOutput->shape);
  Halide::Expr divisor = avgPoolDivisor(cells.top, cells.left, kernel, pad, inShape[2], inShape[3],
                                        op.getCountIncludePad(), op.getCeilMode());
  Halide::Func out(state.freshName("avg_pool_grad"));
  out(v) =
      Halide::sum(Halide::select(cells.contains, gradOutput->func(v[0], cells.ox, cells.oy, v[3]) / divisor, 0.0f));
  state.values[op.getGradInput()] = state.addStage(StageKind::Pointwise, out, inShape);
  return success();
}

LogicalResult lowerGlobalAvgPoolGrad(Operation *operation, LoweringState &state, std::string &error) {
  auto op = cast<nn::GlobalAvgPoolGradOp>(operation);
  auto gradOutput = state.tensor(op.getGradOutput(), error);
  if (failed(gradOutput))
    return failure();
  TensorRef ref;
  ref.shape = shapeOf(op.getGradInput());
  std::vector<Halide::Var> v = storageVars(4);
  ref.func = Halide::Func(state.freshName("global_avg_pool_grad"));
  ref.func(v) = gradOutput->func(v[0], 0, 0, v[3]) / static_cast<float>(ref.shape[2] * ref.shape[3]);
  state.values[op.getGradInput()] = ref;
  return success();
}

} // namespace kiln::halide
