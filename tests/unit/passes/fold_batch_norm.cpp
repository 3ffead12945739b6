// Tests that nn-fold-batch-norm preserves results: random conv2d/dense + batch_norm (+ relu)
// models (odd sizes, groups, batch 2, var in [0.5, 2]) run through the reference interpreter
// before and after folding agree to relative L2 <= 1e-5; that pairs which must not fold stay; and
// that a missing parameter is an error naming it.
#include "pass_model.h"

#include "compiler/passes/Passes.h"

namespace kiln::test {
namespace {

int64_t countBatchNorms(mlir::ModuleOp module) {
  int64_t n = 0;
  module.walk([&](nn::BatchNormOp) { ++n; });
  return n;
}

/// Interprets `outputs` of `m`, folds, interprets again and compares; expects `remaining`
/// batch_norms after folding.
void expectFoldPreservesResults(Model &m, const std::vector<Model::V> &outputs, int64_t remaining) {
  expectPassPreservesResults(
      m, outputs, [](WeightStore *weights) { return createFoldBatchNormPass(weights); },
      [&](mlir::ModuleOp module) { EXPECT_EQ(countBatchNorms(module), remaining); });
}

TEST(FoldBatchNorm, RandomConvModelsKeepTheirResults) {
  std::mt19937 rng = testRng();
  auto pick = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); };
  for (int trial = 0; trial < 12; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    const int64_t channels = 3 * pick(1, 3);                                // 3, 6 or 9
    const int64_t groups = std::vector<int64_t>{1, 3, channels}[trial % 3]; // plain, grouped, depthwise
    const int64_t filters = groups * pick(1, 3);
    Model m(rng, {2, channels, 2 * pick(3, 6) + 1, 2 * pick(3, 6) + 1}); // batch 2, odd H and W
    const int64_t kernel = 2 * pick(0, 1) + 1, pad = pick(0, kernel / 2);
    auto c = m.conv("c", m.x, filters, kernel, pick(1, 2), {pad, pad, pick(0, kernel / 2), pad}, pick(1, 2), groups,
                    trial % 2 == 0);
    auto y = m.batchNorm("bn", c);
    if (trial % 4 != 3)
      y = m.unary("nn.relu", y);
    expectFoldPreservesResults(m, {y}, 0);
    rng.seed(rng()); // the next trial draws from a fresh stream
  }
}

TEST(FoldBatchNorm, DenseWithAndWithoutBias) {
  for (bool bias : {true, false}) {
    Model m(testRng(), {2, 13});
    auto y = m.unary("nn.relu", m.batchNorm("bn", m.dense("fc", m.x, 7, bias)));
    expectFoldPreservesResults(m, {y}, 0);
  }
}

TEST(FoldBatchNorm, ChainOfTwoBatchNormsAndADeeperModel) {
  Model m(testRng(), {2, 5, 11, 9});
  auto a = m.batchNorm("bn2", m.batchNorm("bn1", m.conv("c1", m.x, 7, 3, 1, {1, 1, 1, 1}, 1, 1, true)));
  auto b =
      m.unary("nn.relu", m.batchNorm("bn3", m.conv("c2", m.unary("nn.relu", a), 7, 3, 2, {0, 1, 1, 0}, 1, 7, false)));
  expectFoldPreservesResults(m, {b}, 0);
}

TEST(FoldBatchNorm, ConvWithAnotherUserIsNotFolded) {
  Model m(testRng(), {2, 4, 7, 7});
  auto c = m.conv("c", m.x, 4, 3, 1, {1, 1, 1, 1}, 1, 1, true);
  auto y = m.add(m.batchNorm("bn", c), c); // a residual-style second use of the conv
  expectFoldPreservesResults(m, {y}, 1);
}

TEST(FoldBatchNorm, MissingParameterIsAnErrorNamingIt) {
  Model m(testRng(), {2, 3, 5, 5});
  auto y = m.batchNorm("bn", m.conv("c", m.x, 4, 3, 1, {0, 0, 0, 0}, 1, 1, true));
  std::string message = passErrorsWithout(
      m, {y}, "bn.running_var", [](WeightStore *weights) { return createFoldBatchNormPass(weights); });
  EXPECT_NE(message.find("'bn.running_var' has no data"), std::string::npos) << message;
}

} // namespace
} // namespace kiln::test
