// Lowering of the pooling ops: max_pool2d (padded cells never win), avg_pool2d (both
// count_include_pad rules; ceil_mode for both) and global_avg_pool / global_max_pool, as inline
// reductions over the window. Padding is
// a select on the (clamped) input, so nothing extra is materialised.
#include "compiler/halide/Lowering.h"

#include "kiln/Dialect/NN/NNOps.h"

#include <limits>

using namespace mlir;

namespace kiln::halide {

PoolWindow poolWindow(const TensorRef &input, ArrayRef<int64_t> kernel, ArrayRef<int64_t> strides,
                      ArrayRef<int64_t> pad, bool ceilMode, const std::vector<Halide::Var> &v) {
  const int H = static_cast<int>(input.shape[2]), W = static_cast<int>(input.shape[3]);
  PoolWindow w;
  w.r = Halide::RDom(0, static_cast<int>(kernel[1]), 0, static_cast<int>(kernel[0]), "r");
  w.ix = v[1] * static_cast<int>(strides[1]) + w.r.x - static_cast<int>(pad[1]);
  w.iy = v[2] * static_cast<int>(strides[0]) + w.r.y - static_cast<int>(pad[0]);
  w.inside = w.ix >= 0 && w.ix < W && w.iy >= 0 && w.iy < H;
  // ceil_mode windows may run past the input even without padding.
  bool padded = pad[0] || pad[1] || pad[2] || pad[3] || ceilMode;
  w.value = padded ? input.func(v[0], Halide::clamp(w.ix, 0, W - 1), Halide::clamp(w.iy, 0, H - 1), v[3])
                   : input.func(v[0], w.ix, w.iy, v[3]);
  if (!padded)
    w.inside = Halide::Expr(true);
  return w;
}

Halide::Expr maxCandidate(const PoolWindow &w) {
  return Halide::select(w.inside, w.value, std::numeric_limits<float>::lowest());
}

static std::vector<int64_t> resultShape(Operation *op) {
  auto type = cast<RankedTensorType>(op->getResult(0).getType());
  return std::vector<int64_t>(type.getShape().begin(), type.getShape().end());
}

LogicalResult lowerMaxPool2D(Operation *operation, LoweringState &state, std::string &error) {
  auto op = cast<nn::MaxPool2DOp>(operation);
  auto input = state.tensor(op.getInput(), error);
  if (failed(input))
    return failure();
  std::vector<Halide::Var> v = storageVars(4);
  PoolWindow w = poolWindow(*input, op.getKernel(), op.getStrides(), op.getPadding(), op.getCeilMode(), v);
  Halide::Func out(state.freshName("max_pool"));
  out(v) = Halide::maximum(maxCandidate(w));
  state.values[op.getResult()] = state.addStage(StageKind::Pointwise, out, resultShape(operation));
  return success();
}

Halide::Expr avgPoolDivisor(Halide::Expr top, Halide::Expr left, ArrayRef<int64_t> kernel, ArrayRef<int64_t> pad,
                            int64_t height, int64_t width, bool countIncludePad, bool ceilMode) {
  const int H = static_cast<int>(height), W = static_cast<int>(width);
  if (countIncludePad && ceilMode) {
    // The window's cells inside input + padding (a ceil_mode window may run past it), as PyTorch.
    Halide::Expr rows = Halide::min(top + static_cast<int>(kernel[0]), H + static_cast<int>(pad[2])) - top;
    Halide::Expr cols = Halide::min(left + static_cast<int>(kernel[1]), W + static_cast<int>(pad[3])) - left;
    return Halide::cast<float>(rows * cols);
  }
  if (countIncludePad)
    return Halide::Expr(static_cast<float>(kernel[0] * kernel[1]));
  // In-bounds rows times in-bounds columns of the window.
  auto count = [](Halide::Expr start, int k, int size) {
    return Halide::max(Halide::min(start + k, size) - Halide::max(start, 0), 1);
  };
  Halide::Expr rows = count(top, static_cast<int>(kernel[0]), H);
  Halide::Expr cols = count(left, static_cast<int>(kernel[1]), W);
  return Halide::cast<float>(rows * cols);
}

LogicalResult lowerAvgPool2D(Operation *operation, LoweringState &state, std::string &error) {
  auto op = cast<nn::AvgPool2DOp>(operation);
  auto input = state.tensor(op.getInput(), error);
  if (failed(input))
    return failure();
  std::vector<Halide::Var> v = storageVars(4);
  ArrayRef<int64_t> kernel = op.getKernel(), strides = op.getStrides(), pad = op.getPadding();
  PoolWindow w = poolWindow(*input, kernel, strides, pad, op.getCeilMode(), v);
  Halide::Expr top = v[2] * static_cast<int>(strides[0]) - static_cast<int>(pad[0]);
  Halide::Expr left = v[1] * static_cast<int>(strides[1]) - static_cast<int>(pad[1]);
  Halide::Expr divisor = avgPoolDivisor(top, left, kernel, pad, input->shape[2], input->shape[3],
                                        op.getCountIncludePad(), op.getCeilMode());
  Halide::Func out(state.freshName("avg_pool"));
  out(v) = Halide::sum(Halide::select(w.inside, w.value, 0.0f)) / divisor;
  state.values[op.getResult()] = state.addStage(StageKind::Pointwise, out, resultShape(operation));
  return success();
}

LogicalResult lowerGlobalPool(Operation *operation, LoweringState &state, std::string &error) {
  auto input = state.tensor(operation->getOperand(0), error);
  if (failed(input))
    return failure();
  const int H = static_cast<int>(input->shape[2]), W = static_cast<int>(input->shape[3]);
  std::vector<Halide::Var> v = storageVars(4);
  Halide::RDom r(0, W, 0, H, "r");
  Halide::Expr cell = input->func(v[0], r.x, r.y, v[3]);
  bool isMax = isa<nn::GlobalMaxPoolOp>(operation);
  Halide::Func out(state.freshName(isMax ? "global_max_pool" : "global_avg_pool"));
  if (isMax)
    out(v) = Halide::maximum(cell);
  else
    out(v) = Halide::sum(cell) / static_cast<float>(H * W);
  state.values[operation->getResult(0)] = state.addStage(StageKind::Pointwise, out, resultShape(operation));
  return success();
}

} // namespace kiln::halide
