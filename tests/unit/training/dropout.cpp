// Tests dropout_train: the mask is a function of (step, seed, index) only, the kept fraction is
// 1 - rate, kept values are scaled by 1 / (1 - rate), and applied to a gradient it is its own
// backward rule.
#include "GradientCheck.h"
#include "run_model.h"

#include "compiler/reference/TrainingKernels.h"

#include "kiln/Dialect/NN/DropoutHash.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

using namespace kiln;
using namespace kiln::reference;
using namespace kiln::test;

namespace {

/// hyper = [learning rate, step].
HostTensor hyperAt(float step) { return tensor({2}, {0.1f, step}); }

/// Ones, so the output is the mask times 1 / (1 - rate).
HostTensor ones(int64_t size) {
  HostTensor t({size});
  t.data.assign(static_cast<size_t>(size), 1.0f);
  return t;
}

int64_t countKept(const HostTensor &output) {
  return std::count_if(output.data.begin(), output.data.end(), [](float v) { return v != 0.0f; });
}

TEST(DropoutTrain, SameStepAndSeedGiveTheSameMask) {
  std::mt19937 rng(31);
  const HostTensor x = randomAwayFromZero({2, 3, 7, 5}, rng, 0.1);
  EXPECT_EQ(dropoutTrain(x, hyperAt(4), 0.5f, 9).data, dropoutTrain(x, hyperAt(4), 0.5f, 9).data);
}

TEST(DropoutTrain, AnotherStepOrSeedGivesAnotherMask) {
  const HostTensor x = ones(1000);
  const HostTensor reference = dropoutTrain(x, hyperAt(4), 0.5f, 9);
  for (const HostTensor &other : {dropoutTrain(x, hyperAt(5), 0.5f, 9), dropoutTrain(x, hyperAt(4), 0.5f, 10)}) {
    int64_t differing = 0;
    for (int64_t i = 0; i < x.size(); ++i)
      differing += (reference.data[i] != 0.0f) != (other.data[i] != 0.0f);
    // Independent masks differ on half the elements; 400 is far below that.
    EXPECT_GT(differing, 400);
  }
}

TEST(DropoutTrain, MaskIsTheDropoutHashOfTheFlatIndex) {
  const HostTensor y = dropoutTrain(ones(4096), hyperAt(17), 0.3f, 5);
  for (uint32_t i = 0; i < 4096; ++i)
    ASSERT_EQ(y.data[i] != 0.0f, nn::dropoutKeeps(17, 5, i, 0.3f)) << "at " << i;
}

TEST(DropoutTrain, KeepsOneMinusRateWithinThreeSigma) {
  const int64_t n = 100000;
  for (float rate : {0.1f, 0.5f, 0.8f}) {
    const double keep = 1.0 - rate, sigma = std::sqrt(n * keep * rate);
    EXPECT_NEAR(double(countKept(dropoutTrain(ones(n), hyperAt(3), rate, 1))), n * keep, 3.0 * sigma)
        << "rate " << rate;
  }
}

TEST(DropoutTrain, ScalesKeptValuesByOneOverKeepProbability) {
  std::mt19937 rng(32);
  const HostTensor x = randomAwayFromZero({3, 5, 7}, rng, 0.1);
  const float rate = 0.25f;
  const HostTensor y = dropoutTrain(x, hyperAt(2), rate, 4);
  for (int64_t i = 0; i < x.size(); ++i)
    if (y.data[i] != 0.0f)
      EXPECT_FLOAT_EQ(y.data[i], x.data[i] / (1.0f - rate)) << "at " << i;
  EXPECT_GT(countKept(y), 0);
  EXPECT_LT(countKept(y), x.size());
}

TEST(DropoutTrain, RateZeroIsTheIdentity) {
  std::mt19937 rng(33);
  const HostTensor x = randomTensor({4, 9}, rng);
  EXPECT_EQ(dropoutTrain(x, hyperAt(1), 0.0f, 2).data, x.data);
}

TEST(DropoutTrain, IsItsOwnBackwardRule) {
  std::mt19937 rng(34);
  auto sameMask = [](const HostTensor &t) { return dropoutTrain(t, hyperAt(6), 0.4f, 8); };
  EXPECT_LE(gradientError(sameMask, sameMask, randomTensor({2, 3, 5, 5}, rng), rng, kLinear), kLinear.tolerance);
}

} // namespace
