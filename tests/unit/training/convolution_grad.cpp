// Tests the conv2d and dense backward rules against central differences of the forward kernels:
// conv2d_grad_filter, the input gradient as conv_transpose2d, dense_grad_input, dense_grad_weight
// and bias_grad, over a grid of kernel sizes, strides, paddings, dilations, groups and batches.
#include "GradientCheck.h"

#include "compiler/reference/Kernels.h"
#include "compiler/reference/TrainingKernels.h"

#include <gtest/gtest.h>

#include <array>
#include <string>

using namespace kiln;
using namespace kiln::reference;
using namespace kiln::test;

namespace {

struct ConvCase {
  std::string name;
  int64_t N, C, H, W, F;
  std::array<int64_t, 2> kernel, strides, dilations;
  std::array<int64_t, 4> padding; // top, left, bottom, right
  int64_t groups;
  unsigned seed;

  friend void PrintTo(const ConvCase &c, std::ostream *os) { *os << c.name; }
  std::vector<int64_t> inputShape() const { return {N, C, H, W}; }
  std::vector<int64_t> filterShape() const { return {F, C / groups, kernel[0], kernel[1]}; }
  /// The output_padding that makes conv_transpose2d of the output gradient the input's shape.
  std::array<int64_t, 2> transposeOutputPadding() const {
    return {(H + padding[0] + padding[2] - dilations[0] * (kernel[0] - 1) - 1) % strides[0],
            (W + padding[1] + padding[3] - dilations[1] * (kernel[1] - 1) - 1) % strides[1]};
  }
};

/// Kernels 1, 3, 5 by strides 1, 2, 3, each with: no padding; asymmetric padding, dilation 2 and a
/// batch of 3; 2 groups with a rectangular window and stride; depthwise with padding and dilation
/// along W. H and W are odd.
std::vector<ConvCase> convGrid() {
  std::vector<ConvCase> cases;
  for (int64_t k : {1, 3, 5})
    for (int64_t s : {1, 2, 3}) {
      const std::string suffix = "_k" + std::to_string(k) + "_s" + std::to_string(s);
      const int64_t narrow = k == 1 ? 1 : k - 2, half = k / 2;
      const auto seed = [&] { return static_cast<unsigned>(cases.size() + 1); };
      cases.push_back({"plain" + suffix, 1, 3, 7, 9, 2, {k, k}, {s, s}, {1, 1}, {0, 0, 0, 0}, 1, seed()});
      cases.push_back(
          {"padded_dilated_batch3" + suffix, 3, 2, 11, 9, 3, {k, k}, {s, s}, {2, 2}, {1, 0, 2, 1}, 1, seed()});
      cases.push_back({"groups2" + suffix, 1, 4, 9, 7, 6, {k, narrow}, {s, 1}, {1, 1}, {0, 1, 1, 0}, 2, seed()});
      cases.push_back(
          {"depthwise_batch3" + suffix, 3, 3, 9, 11, 3, {k, k}, {1, s}, {1, 2}, {half, half, 0, half}, 3, seed()});
    }
  return cases;
}

class Conv2DGrad : public ::testing::TestWithParam<ConvCase> {
protected:
  const ConvCase &c = GetParam();
  std::mt19937 rng{c.seed};
  HostTensor x = randomTensor(c.inputShape(), rng);
  HostTensor w = randomTensor(c.filterShape(), rng);

  HostTensor convolve(const HostTensor &input, const HostTensor &filter, const HostTensor *bias = nullptr) const {
    return conv2d(input, filter, bias, c.strides, c.padding, c.dilations, c.groups);
  }
};

TEST_P(Conv2DGrad, FilterGradientMatchesFiniteDifferences) {
  auto forward = [&](const HostTensor &filter) { return convolve(x, filter); };
  auto backward = [&](const HostTensor &dy) {
    return conv2dGradFilter(x, dy, c.kernel, c.strides, c.padding, c.dilations, c.groups);
  };
  EXPECT_LE(gradientError(forward, backward, w, rng, kLinear), kLinear.tolerance);
}

TEST_P(Conv2DGrad, InputGradientIsConvTransposeWithTheSameFilter) {
  auto forward = [&](const HostTensor &input) { return convolve(input, w); };
  auto backward = [&](const HostTensor &dy) {
    return convTranspose2d(dy, w, nullptr, c.strides, c.padding, c.transposeOutputPadding(), c.dilations, c.groups);
  };
  EXPECT_LE(gradientError(forward, backward, x, rng, kLinear), kLinear.tolerance);
}

TEST_P(Conv2DGrad, BiasGradientMatchesFiniteDifferences) {
  auto forward = [&](const HostTensor &bias) { return convolve(x, w, &bias); };
  EXPECT_LE(gradientError(forward, biasGrad, randomTensor({c.F}, rng), rng, kLinear), kLinear.tolerance);
}

INSTANTIATE_TEST_SUITE_P(Grid, Conv2DGrad, ::testing::ValuesIn(convGrid()),
                         [](const ::testing::TestParamInfo<ConvCase> &info) { return info.param.name; });

struct DenseCase {
  std::string name;
  int64_t N, K, M;
  unsigned seed;

  friend void PrintTo(const DenseCase &c, std::ostream *os) { *os << c.name; }
};

class DenseGrad : public ::testing::TestWithParam<DenseCase> {
protected:
  const DenseCase &c = GetParam();
  std::mt19937 rng{c.seed};
  HostTensor x = randomTensor({c.N, c.K}, rng);
  HostTensor w = randomTensor({c.M, c.K}, rng);
  HostTensor b = randomTensor({c.M}, rng);
};

TEST_P(DenseGrad, InputGradientMatchesFiniteDifferences) {
  auto forward = [&](const HostTensor &input) { return dense(input, w, &b); };
  auto backward = [&](const HostTensor &dy) { return denseGradInput(dy, w); };
  EXPECT_LE(gradientError(forward, backward, x, rng, kLinear), kLinear.tolerance);
}

TEST_P(DenseGrad, WeightGradientMatchesFiniteDifferences) {
  auto forward = [&](const HostTensor &weight) { return dense(x, weight, &b); };
  auto backward = [&](const HostTensor &dy) { return denseGradWeight(x, dy); };
  EXPECT_LE(gradientError(forward, backward, w, rng, kLinear), kLinear.tolerance);
}

TEST_P(DenseGrad, BiasGradientMatchesFiniteDifferences) {
  auto forward = [&](const HostTensor &bias) { return dense(x, w, &bias); };
  EXPECT_LE(gradientError(forward, biasGrad, b, rng, kLinear), kLinear.tolerance);
}

INSTANTIATE_TEST_SUITE_P(Shapes, DenseGrad,
                         ::testing::Values(DenseCase{"batch1", 1, 5, 3, 101}, DenseCase{"batch3", 3, 7, 4, 102},
                                           DenseCase{"wide_batch3", 3, 13, 9, 103}),
                         [](const ::testing::TestParamInfo<DenseCase> &info) { return info.param.name; });

} // namespace
