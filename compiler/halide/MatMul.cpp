// Lowering of nn.matmul ([..., M, K] x [..., K, N], batch dimensions broadcast) as a Dense stage:
// the accumulator is indexed (n, m, batch dimensions reversed), columns innermost like a dense
// layer's features, so the dense schedule's register tiles (vectors of columns x a block of rows,
// Schedule.cpp) apply unchanged and the rhs streams along its contiguous rows.
#include "compiler/halide/Lowering.h"

#include "kiln/Dialect/NN/NNOps.h"

using namespace mlir;

namespace kiln::halide {

/// `operand` at the output's logical indices `at` (the last two its own), its batch dimensions
/// broadcast as in numpy.
static Halide::Expr batchRead(const TensorRef &operand, const std::vector<Halide::Expr> &at) {
  const size_t rank = operand.shape.size();
  std::vector<Halide::Expr> indices(at.end() - rank, at.end());
  for (size_t d = 0; d + 2 < rank; ++d)
    if (operand.shape[d] == 1)
      indices[d] = 0;
  return operand.at(indices);
}

LogicalResult lowerMatMul(Operation *operation, LoweringState &state, std::string &error) {
  auto op = cast<nn::MatMulOp>(operation);
  auto lhs = state.tensor(op.getLhs(), error);
  auto rhs = state.tensor(op.getRhs(), error);
  if (failed(lhs) || failed(rhs))
    return failure();
  const std::vector<int64_t> shape = shapeOf(op.getOutput());
  const int rank = static_cast<int>(shape.size());
  // Vars in reversed logical order: i0 the column, i1 the row, then the batch dimensions.
  std::vector<Halide::Var> v;
  for (int i = 0; i < rank; ++i)
    v.emplace_back("i" + std::to_string(i));
  std::vector<Halide::Expr> logical(v.rbegin(), v.rend());
  Halide::RDom r(0, static_cast<int>(lhs->shape.back()), "r");
  std::vector<Halide::Expr> lhsAt = logical, rhsAt = logical;
  lhsAt[rank - 1] = r;
  rhsAt[rank - 2] = r;
  Halide::Func acc(state.freshName("matmul"));
  acc(v) = 0.0f;
  acc(v) += batchRead(*rhs, rhsAt) * batchRead(*lhs, lhsAt);
  Halide::Func out(state.freshName("matmul_out"));
  out(v) = acc(v);
  std::vector<int64_t> extents(shape.rbegin(), shape.rend());
  Stage stage;
  stage.kind = StageKind::Dense;
  stage.output = out;
  stage.extents = extents;
  stage.accumulator = acc;
  stage.rdom = r;
  state.stages.push_back(stage);
  TensorRef ref;
  ref.shape = shape;
  ref.func = out;
  ref.stage = static_cast<int>(state.stages.size()) - 1;
  if (rank == 4) {
    // Rank 4 is stored (c, x, y, n) = (batch 1, column, row, batch 0): read the stage through a
    // permutation (elementwise consumers then get their own stage).
    std::vector<Halide::Var> s = storageVars(4);
    Halide::Func permuted(state.freshName("matmul_nchw"));
    permuted(s) = out(s[1], s[2], s[0], s[3]);
    ref.func = permuted;
    ref.stage = -1;
  }
  state.values[op.getOutput()] = ref;
  return success();
}

} // namespace kiln::halide
