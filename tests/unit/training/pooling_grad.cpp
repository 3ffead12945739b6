// Tests the pooling backward rules against central differences of the forward kernels:
// max_pool2d_grad and avg_pool2d_grad (count_include_pad on and off) over kernels, strides,
// asymmetric paddings and ceil_mode, global_avg_pool_grad, and max_pool2d_grad's choice among ties.
#include "GradientCheck.h"

#include "compiler/reference/Kernels.h"
#include "compiler/reference/TrainingKernels.h"

#include "kiln/Dialect/NN/ShapeRules.h"

#include <gtest/gtest.h>

#include <array>
#include <string>

using namespace kiln;
using namespace kiln::reference;
using namespace kiln::test;

namespace {

struct PoolCase {
  std::string name;
  int64_t N, C, H, W;
  std::array<int64_t, 2> kernel, strides;
  std::array<int64_t, 4> padding; // top, left, bottom, right
  bool ceilMode;
  unsigned seed;

  friend void PrintTo(const PoolCase &c, std::ostream *os) { *os << c.name; }
  std::vector<int64_t> inputShape() const { return {N, C, H, W}; }
};

/// Kernels 1, 3, 5 by strides 1, 2, 3 by ceil_mode, with asymmetric padding (at most half the
/// window, as PyTorch requires) and odd H and W; batches of 1 and 3 alternate.
std::vector<PoolCase> poolGrid() {
  std::vector<PoolCase> cases;
  for (int64_t k : {1, 3, 5})
    for (int64_t s : {1, 2, 3})
      for (bool ceilMode : {false, true}) {
        const int64_t half = k / 2;
        const std::string name = "k" + std::to_string(k) + "_s" + std::to_string(s) + (ceilMode ? "_ceil" : "_floor");
        const unsigned seed = static_cast<unsigned>(cases.size() + 1);
        cases.push_back({name, seed % 2 ? 1 : 3, 2, 11, 9, {k, k}, {s, s}, {half, 0, 0, half}, ceilMode, seed});
      }
  return cases;
}

class Pool2DGrad : public ::testing::TestWithParam<PoolCase> {
protected:
  const PoolCase &c = GetParam();
  std::mt19937 rng{c.seed};

  double averagePoolError(bool countIncludePad) {
    auto forward = [&](const HostTensor &x) {
      return avgPool2d(x, c.kernel, c.strides, c.padding, countIncludePad, c.ceilMode);
    };
    auto backward = [&](const HostTensor &dy) {
      return avgPool2dGrad(dy, c.inputShape(), c.kernel, c.strides, c.padding, countIncludePad);
    };
    return gradientError(forward, backward, randomTensor(c.inputShape(), rng), rng, kLinear);
  }
};

TEST_P(Pool2DGrad, MaxPoolGradientMatchesFiniteDifferences) {
  // Values 0.05 apart and a step of 0.01 never change which cell is a window's maximum.
  const HostTensor x = randomDistinct(c.inputShape(), rng, 0.05);
  auto forward = [&](const HostTensor &input) { return maxPool2d(input, c.kernel, c.strides, c.padding, c.ceilMode); };
  auto backward = [&](const HostTensor &dy) { return maxPool2dGrad(x, dy, c.kernel, c.strides, c.padding); };
  EXPECT_LE(gradientError(forward, backward, x, rng, kPiecewiseLinear), kPiecewiseLinear.tolerance);
}

TEST_P(Pool2DGrad, AvgPoolCountingPaddingMatchesFiniteDifferences) {
  EXPECT_LE(averagePoolError(true), kLinear.tolerance);
}

TEST_P(Pool2DGrad, AvgPoolNotCountingPaddingMatchesFiniteDifferences) {
  EXPECT_LE(averagePoolError(false), kLinear.tolerance);
}

INSTANTIATE_TEST_SUITE_P(Grid, Pool2DGrad, ::testing::ValuesIn(poolGrid()),
                         [](const ::testing::TestParamInfo<PoolCase> &info) { return info.param.name; });

TEST(Pool2DGrad, GridHasCeilModeWindowsPastThePadding) {
  // The grid must exercise the extra ceil_mode window whose divisor is clipped at the padding.
  int extraWindows = 0;
  for (const PoolCase &c : poolGrid())
    if (c.ceilMode)
      extraWindows += nn::poolOutputSize(c.H, c.kernel[0], c.strides[0], c.padding[0], c.padding[2], true) -
                      nn::poolOutputSize(c.H, c.kernel[0], c.strides[0], c.padding[0], c.padding[2], false);
  EXPECT_GT(extraWindows, 0);
}

TEST(Pool2DGrad, MaxPoolGivesATieToItsFirstCell) {
  // One 2x2 window of equal values: the whole gradient goes to (0, 0), as in PyTorch.
  HostTensor x({1, 1, 2, 2});
  x.data = {3, 3, 3, 3};
  HostTensor dy({1, 1, 1, 1});
  dy.data = {5};
  EXPECT_EQ(maxPool2dGrad(x, dy, {2, 2}, {2, 2}, {0, 0, 0, 0}).data, (std::vector<float>{5, 0, 0, 0}));
}

TEST(GlobalAvgPoolGrad, MatchesFiniteDifferences) {
  std::mt19937 rng(7);
  for (std::vector<int64_t> shape : {std::vector<int64_t>{1, 3, 5, 7}, std::vector<int64_t>{3, 2, 1, 1},
                                     std::vector<int64_t>{3, 4, 9, 3}}) {
    auto backward = [&](const HostTensor &dy) { return globalAvgPoolGrad(dy, shape); };
    EXPECT_LE(gradientError(globalAvgPool, backward, randomTensor(shape, rng), rng, kLinear), kLinear.tolerance)
        << "shape " << shape[0] << "x" << shape[1] << "x" << shape[2] << "x" << shape[3];
  }
}

} // namespace
