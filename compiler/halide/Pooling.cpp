// Lowering of the pooling ops: max_pool2d (padded cells never win), avg_pool2d (both
// count_include_pad rules; ceil_mode for both) and global_avg_pool / global_max_pool, as inline
// reductions over the window. Padding is
// a select on the (clamped) input, so nothing extra is materialised.
#include "compiler/halide/Lowering.h"

#include "kiln/Dialect/NN/NNOps.h"

#include <limits>

using namespace mlir;

namespace kiln::halide {

namespace {
/// The pieces shared by max and avg pooling: window RDom and the input at a window position.
struct Window {
  Halide::RDom r;          // (kx, ky)
  Halide::Expr ix, iy;     // input coordinates of the window cell (may be outside the input)
  Halide::Expr inside;     // whether (ix, iy) is inside the input
  Halide::Expr value;      // input at the clamped position
};
} // namespace

static Window window(const TensorRef &input, ArrayRef<int64_t> kernel, ArrayRef<int64_t> strides,
                     ArrayRef<int64_t> pad, bool ceilMode, const std::vector<Halide::Var> &v) {
  const int H = static_cast<int>(input.shape[2]), W = static_cast<int>(input.shape[3]);
  Window w;
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
  Window w = window(*input, op.getKernel(), op.getStrides(), op.getPadding(), op.getCeilMode(), v);
  Halide::Func out(state.freshName("max_pool"));
  out(v) = Halide::maximum(Halide::select(w.inside, w.value, std::numeric_limits<float>::lowest()));
  state.values[op.getResult()] = state.addStage(StageKind::Pointwise, out, resultShape(operation));
  return success();
}

LogicalResult lowerAvgPool2D(Operation *operation, LoweringState &state, std::string &error) {
  auto op = cast<nn::AvgPool2DOp>(operation);
  auto input = state.tensor(op.getInput(), error);
  if (failed(input))
    return failure();
  std::vector<Halide::Var> v = storageVars(4);
  ArrayRef<int64_t> kernel = op.getKernel(), strides = op.getStrides(), pad = op.getPadding();
  Window w = window(*input, kernel, strides, pad, op.getCeilMode(), v);
  const int H = static_cast<int>(input->shape[2]), W = static_cast<int>(input->shape[3]);
  Halide::Expr top = v[2] * static_cast<int>(strides[0]) - static_cast<int>(pad[0]);
  Halide::Expr left = v[1] * static_cast<int>(strides[1]) - static_cast<int>(pad[1]);
  Halide::Expr divisor;
  if (op.getCountIncludePad() && op.getCeilMode()) {
    // The window's cells inside input + padding (a ceil_mode window may run past it), as PyTorch.
    Halide::Expr rows = Halide::min(top + static_cast<int>(kernel[0]), H + static_cast<int>(pad[2])) - top;
    Halide::Expr cols = Halide::min(left + static_cast<int>(kernel[1]), W + static_cast<int>(pad[3])) - left;
    divisor = Halide::cast<float>(rows * cols);
  } else if (op.getCountIncludePad()) {
    divisor = static_cast<float>(kernel[0] * kernel[1]);
  } else {
    // In-bounds rows times in-bounds columns of the window.
    auto count = [](Halide::Expr start, int k, int size) {
      return Halide::max(Halide::min(start + k, size) - Halide::max(start, 0), 1);
    };
    Halide::Expr rows = count(top, static_cast<int>(kernel[0]), H);
    Halide::Expr cols = count(left, static_cast<int>(kernel[1]), W);
    divisor = Halide::cast<float>(rows * cols);
  }
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
