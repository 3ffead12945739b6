// Tests that nn-trim-padding-taps preserves results: random convs on planes no larger than the
// kernel (strides 1-2, dilations 1-2, asymmetric padding, groups, batch 2, with and without
// bias) run through the reference interpreter before and after the pass agree to relative L2 <=
// 1e-5, and the designed cases shrink their kernel as expected; a missing weight is an error.
#include "pass_model.h"

#include "compiler/passes/Passes.h"

namespace kiln::test {
namespace {

std::unique_ptr<mlir::Pass> trimPass(WeightStore *weights) { return createTrimPaddingTapsPass(weights); }

/// The kernel shapes (KH x KW) of the convs of `module`, in order.
std::vector<Shape> kernels(mlir::ModuleOp module) {
  std::vector<Shape> shapes;
  module.walk([&](nn::Conv2DOp conv) {
    auto type = mlir::cast<mlir::RankedTensorType>(conv.getFilter().getType());
    shapes.push_back({type.getDimSize(2), type.getDimSize(3)});
  });
  return shapes;
}

TEST(TrimPaddingTaps, RandomSmallPlanesKeepTheirResults) {
  std::mt19937 rng = testRng();
  auto pick = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); };
  int trimmed = 0;
  for (int trial = 0; trial < 16; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    const int64_t groups = trial % 4 == 3 ? 2 : 1, channels = 2 * pick(1, 3), kernel = 2 * pick(1, 2) + 1;
    Model m(rng, {2, channels, pick(1, 4), pick(1, 4)});
    const int64_t dilation = pick(1, 2), reach = (kernel - 1) * dilation;
    Shape padding = {pick(0, reach), pick(0, reach), pick(0, reach), pick(0, reach)};
    // Enough padding that the output is at least 1x1.
    padding[2] = std::max(padding[2], reach + 1 - m.x.shape[2] - padding[0]);
    padding[3] = std::max(padding[3], reach + 1 - m.x.shape[3] - padding[1]);
    auto y = m.unary("nn.relu", m.conv("c", m.x, 2 * groups, kernel, pick(1, 2), padding, dilation, groups, trial % 2));
    expectPassPreservesResults(m, {y}, trimPass, [&](mlir::ModuleOp module) {
      Shape kept = kernels(module).front();
      trimmed += kept != Shape{kernel, kernel};
    });
    rng.seed(rng());
  }
  EXPECT_GT(trimmed, 0) << "no trial trimmed a kernel: the test does not exercise the pass";
}

TEST(TrimPaddingTaps, ResNetTailOnSmallPlanes) {
  // ResNet-18's layer4 at 32x32 input: a strided 3x3 conv from 2x2 to 1x1, then 3x3 on 1x1.
  Model m(testRng(), {2, 8, 2, 2});
  auto a = m.unary("nn.relu", m.conv("l4.0.conv1", m.x, 16, 3, 2, {1, 1, 1, 1}, 1, 1, false));
  auto b = m.unary("nn.relu", m.conv("l4.0.conv2", a, 16, 3, 1, {1, 1, 1, 1}, 1, 1, true));
  expectPassPreservesResults(m, {b}, trimPass, [](mlir::ModuleOp module) {
    EXPECT_EQ(kernels(module), (std::vector<Shape>{{2, 2}, {1, 1}}));
  });
}

TEST(TrimPaddingTaps, MissingWeightIsAnErrorNamingIt) {
  Model m(testRng(), {1, 4, 1, 1});
  auto y = m.conv("c", m.x, 4, 3, 1, {1, 1, 1, 1}, 1, 1, true);
  std::string message = passErrorsWithout(m, {y}, "c.weight", trimPass);
  EXPECT_NE(message.find("'c.weight' has no data"), std::string::npos) << message;
}

} // namespace
} // namespace kiln::test
