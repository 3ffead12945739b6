// Winograd F(2x2, 3x3) for conv2d (Lavin & Gray, "Fast Algorithms for Convolutional Neural
// Networks"): each 2x2 block of outputs is A^T [(G g G^T) * (B^T d B)] A over its 4x4 input tile d,
// so the 9 multiply-adds per output, input channel and filter become 4, done as 16 products summed
// over the input channels. The filter transform G g G^T runs on the host; the input transform
// V = B^T d B and the output transform are Funcs that Schedule.cpp places per row of tiles.
#include "compiler/halide/Lowering.h"

#include "kiln/Dialect/NN/NNOps.h"

using namespace mlir;

namespace kiln::halide {

bool winogradCapable(Operation *operation, LoweringState &state) {
  auto op = dyn_cast<nn::Conv2DOp>(operation);
  if (!op || op.getGroups() != 1 || !state.isConstant(op.getFilter()))
    return false;
  auto ones = [](ArrayRef<int64_t> values) { return llvm::all_of(values, [](int64_t v) { return v == 1; }); };
  const std::vector<int64_t> filter = shapeOf(op.getFilter()), out = shapeOf(op.getResult());
  return filter[2] == 3 && filter[3] == 3 && ones(op.getStrides()) && ones(op.getDilations()) && filter[0] >= 8 &&
         filter[1] >= 8 && out[2] >= 2 && out[3] >= 2;
}

/// Row i of B^T d for the four values d(0..3) of a tile column or row.
static Halide::Expr inputTransform(const std::function<Halide::Expr(int)> &d, Halide::Expr i) {
  return Halide::mux(i, {d(0) - d(2), d(1) + d(2), d(2) - d(1), d(1) - d(3)});
}

/// Row i of A^T m for the four values m(0..3).
static Halide::Expr outputTransform(const std::function<Halide::Expr(int)> &m, Halide::Expr i) {
  return Halide::mux(i, {m(0) + m(1) + m(2), m(1) - m(2) - m(3)});
}

/// U(f, c, a, b) = (G g G^T)[a][b] of each filter g = w[f][c] (rows ky, columns kx: a runs along x).
static Halide::Buffer<float> transformedFilter(const HostTensor &w) {
  static const double G[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
  const int F = static_cast<int>(w.shape[0]), C = static_cast<int>(w.shape[1]);
  Halide::Buffer<float> u(F, C, 4, 4);
  for (int f = 0; f < F; ++f)
    for (int c = 0; c < C; ++c) {
      const float *g = &w.data[(static_cast<size_t>(f) * C + c) * 9];
      for (int a = 0; a < 4; ++a)
        for (int b = 0; b < 4; ++b) {
          double sum = 0;
          for (int ky = 0; ky < 3; ++ky)
            for (int kx = 0; kx < 3; ++kx)
              sum += G[a][kx] * g[ky * 3 + kx] * G[b][ky];
          u(f, c, a, b) = static_cast<float>(sum);
        }
    }
  return u;
}

LogicalResult lowerWinogradConv(Operation *operation, LoweringState &state, const LayerLowering &lowering,
                                std::string &error) {
  auto op = cast<nn::Conv2DOp>(operation);
  auto input = state.tensor(op.getInput(), error);
  auto filter = state.constant(op.getFilter(), error);
  if (failed(input) || failed(filter))
    return failure();
  const std::vector<int64_t> outShape = shapeOf(op.getResult());
  const int64_t C = (*filter)->shape[1];
  ArrayRef<int64_t> pad = op.getPadding();
  const int top = static_cast<int>(pad[0]), left = static_cast<int>(pad[1]);
  Halide::Func u = state.embed(state.freshName("winograd_filter"), transformedFilter(**filter), lowering.weightBlock);

  // Every tile reads a 4x4 window; the last tiles of an odd output reach one row or column past
  // it, so the input is always read through its zero-padded copy.
  const int64_t tilesX = (outShape[3] + 1) / 2, tilesY = (outShape[2] + 1) / 2;
  Halide::Func source = zeroPaddedCopy(state, op.getInput(), *input,
                                       {C, 2 * tilesX + 2, 2 * tilesY + 2, outShape[0]});

  Halide::Var ci("ci"), co("co"), a("a"), b("b"), q("q"), tx("tx"), ty("ty"), n("n");
  Halide::Func rows(state.freshName("winograd_rows")), transformed(state.freshName("winograd_input"));
  rows(ci, a, q, tx, ty, n) =
      inputTransform([&](int p) { return source(ci, 2 * tx + p - left, 2 * ty + q - top, n); }, a);
  transformed(ci, a, b, tx, ty, n) = inputTransform([&](int p) { return rows(ci, a, p, tx, ty, n); }, b);

  Halide::RDom r(0, static_cast<int>(C), "r");
  Halide::Func acc(state.freshName("winograd_products")), product(state.freshName("winograd_product"));
  acc(co, a, b, tx, ty, n) = 0.0f;
  acc(co, a, b, tx, ty, n) += u(co, r, a, b) * transformed(r, a, b, tx, ty, n);
  product(co, a, b, tx, ty, n) = acc(co, a, b, tx, ty, n);

  std::vector<Halide::Var> v = storageVars(4);
  Halide::Var c = v[0], x = v[1], y = v[2], batch = v[3];
  auto bias = biasAt(op.getBias(), c, state, error);
  if (failed(bias))
    return failure();
  Halide::Func out(state.freshName("conv_out"));
  out(c, x, y, batch) =
      *bias + outputTransform(
                  [&](int j) {
                    return outputTransform([&](int i) { return product(c, i, j, x / 2, y / 2, batch); }, x % 2);
                  },
                  y % 2);
  TensorRef ref = state.addStage(StageKind::WinogradConv, out, outShape);
  Stage &stage = state.stages[ref.stage];
  stage.accumulator = acc;
  stage.rdom = r;
  stage.transformedInput = transformed;
  stage.product = product;
  stage.winogradCapable = true;
  stage.lowering = lowering;
  state.values[op.getResult()] = ref;
  return success();
}

} // namespace kiln::halide
