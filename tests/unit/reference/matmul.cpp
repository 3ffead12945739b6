// Tests reference nn.matmul: a 2-D product by hand, and batched products of ranks 3 to 5 whose
// batch dimensions broadcast (either operand's, or both), on matrices whose products are known.
#include "run_model.h"

using namespace kiln;
using kiln::test::tensor;

namespace {

TEST(MatMul, TwoByThreeTimesThreeByTwo) {
  const HostTensor a = tensor({2, 3}, {1, 2, 3, 4, 5, 6}), b = tensor({3, 2}, {7, 8, 9, 10, 11, 12});
  test::expectTensor(test::runOp("matmul", {a, b}, {2, 2}), {2, 2}, {58, 64, 139, 154});
}

/// Batch b of the lhs is (b + 1) times the 2x2 identity; batch c of the rhs is [[c, 1], [0, c]],
/// so each product is (b + 1) * [[c, 1], [0, c]].
HostTensor scaledIdentities(std::vector<int64_t> shape) {
  HostTensor t(std::move(shape));
  for (int64_t b = 0; b < t.size() / 4; ++b)
    t.data[4 * b] = t.data[4 * b + 3] = static_cast<float>(b + 1);
  return t;
}
HostTensor upperTriangles(std::vector<int64_t> shape) {
  HostTensor t(std::move(shape));
  for (int64_t c = 0; c < t.size() / 4; ++c) {
    t.data[4 * c] = t.data[4 * c + 3] = static_cast<float>(c);
    t.data[4 * c + 1] = 1;
  }
  return t;
}
std::vector<float> products(const std::vector<std::pair<int, int>> &batches) {
  std::vector<float> out;
  for (auto [b, c] : batches) {
    const float s = static_cast<float>(b + 1);
    out.insert(out.end(), {s * c, s, 0, s * c});
  }
  return out;
}

TEST(MatMul, LhsBatchAgainstOneRhsMatrix) {
  const HostTensor y = test::runOp("matmul", {scaledIdentities({3, 2, 2}), upperTriangles({2, 2})}, {3, 2, 2});
  test::expectTensor(y, {3, 2, 2}, products({{0, 0}, {1, 0}, {2, 0}}));
}

TEST(MatMul, OneLhsMatrixAgainstAnRhsBatchOfRankFour) {
  const HostTensor y = test::runOp("matmul", {scaledIdentities({2, 2}), upperTriangles({2, 3, 2, 2})}, {2, 3, 2, 2});
  test::expectTensor(y, {2, 3, 2, 2}, products({{0, 0}, {0, 1}, {0, 2}, {0, 3}, {0, 4}, {0, 5}}));
}

TEST(MatMul, BothBatchesBroadcastAtRankFour) {
  // [2, 1] x [3]: lhs batch b pairs with every rhs batch c.
  const HostTensor y =
      test::runOp("matmul", {scaledIdentities({2, 1, 2, 2}), upperTriangles({3, 2, 2})}, {2, 3, 2, 2});
  test::expectTensor(y, {2, 3, 2, 2}, products({{0, 0}, {0, 1}, {0, 2}, {1, 0}, {1, 1}, {1, 2}}));
}

TEST(MatMul, RankFiveWithMissingAndUnitBatchDimensions) {
  // Batches [2, 1, 2] x [3, 1] -> [2, 3, 2]: lhs batch (i, 0, k) is flat i * 2 + k, rhs (j, 0) is j.
  const HostTensor y =
      test::runOp("matmul", {scaledIdentities({2, 1, 2, 2, 2}), upperTriangles({3, 1, 2, 2})}, {2, 3, 2, 2, 2});
  std::vector<std::pair<int, int>> batches;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 2; ++k)
        batches.push_back({i * 2 + k, j});
  test::expectTensor(y, {2, 3, 2, 2, 2}, products(batches));
}

TEST(MatMul, NonSquareBatchedProduct) {
  // [2, 1, 3] x [3, 2]: a row vector per batch times one matrix.
  const HostTensor a = tensor({2, 1, 3}, {1, 0, -1, 2, 1, 0}), b = tensor({3, 2}, {1, 2, 3, 4, 5, 6});
  test::expectTensor(test::runOp("matmul", {a, b}, {2, 1, 2}), {2, 1, 2}, {-4, -4, 5, 8});
}

} // namespace
