// Tests that the finite-difference check can fail: a gradient 1% off, or one from the wrong
// window, is rejected, while the right one passes on the same inputs.
#include "GradientCheck.h"

#include "compiler/reference/Kernels.h"
#include "compiler/reference/TrainingKernels.h"

#include <gtest/gtest.h>

using namespace kiln;
using namespace kiln::reference;
using namespace kiln::test;

namespace {

class GradientCheck : public ::testing::Test {
protected:
  std::mt19937 rng{51};
  HostTensor x = randomTensor({2, 3, 7, 9}, rng);
  HostTensor w = randomTensor({4, 3, 3, 3}, rng);

  HostTensor convolve(const HostTensor &filter) const {
    return conv2d(x, filter, nullptr, {2, 1}, {1, 0, 1, 2}, {1, 2}, 1);
  }
  HostTensor filterGradient(const HostTensor &dy, llvm::ArrayRef<int64_t> strides) const {
    return conv2dGradFilter(x, dy, {3, 3}, strides, {1, 0, 1, 2}, {1, 2}, 1);
  }
  double error(const TensorFunction &backward) {
    return gradientError([&](const HostTensor &f) { return convolve(f); }, backward, w, rng, kLinear);
  }
};

TEST_F(GradientCheck, AcceptsTheRightGradient) {
  EXPECT_LE(error([&](const HostTensor &dy) { return filterGradient(dy, {2, 1}); }), kLinear.tolerance);
}

TEST_F(GradientCheck, RejectsAGradientOnePercentOff) {
  EXPECT_GT(error([&](const HostTensor &dy) { return scaled(filterGradient(dy, {2, 1}), 1.01); }),
            kLinear.tolerance);
}

TEST_F(GradientCheck, RejectsAGradientOfTheWrongWindow) {
  // The same output shape, but stride 1 along H reads other input rows.
  EXPECT_GT(error([&](const HostTensor &dy) { return filterGradient(dy, {1, 1}); }), kLinear.tolerance);
}

TEST_F(GradientCheck, RejectsAGradientOfTheWrongShape) {
  EXPECT_GT(error([&](const HostTensor &) { return HostTensor({1}); }), kLinear.tolerance);
}

} // namespace
