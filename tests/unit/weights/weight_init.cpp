// Tests that the seeded initialisation is deterministic, independent per parameter name, pinned
// to fixed bits (so it cannot drift between platforms), and within each rule's bounds.
#include "compiler/weights/WeightStore.h"
#include "model_text.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace kiln;

namespace {

const char *kModel = R"mlir(
func.func @forward(%x: tensor<1x4x9x9xf32> {nn.name = "x"}) -> (tensor<2x10xf32> {nn.name = "out"}) {
  %w = nn.param "conv.weight" : tensor<6x2x3x3xf32>
  %b = nn.param "conv.bias" : tensor<6xf32>
  %c = nn.conv2d %x, %w, %b {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>,
         dilations = array<i64: 1, 1>, groups = 2 : i64}
       : (tensor<1x4x9x9xf32>, tensor<6x2x3x3xf32>, tensor<6xf32>) -> tensor<1x6x7x7xf32>
  %g = nn.param "bn.weight" : tensor<6xf32>
  %s = nn.param "bn.bias" : tensor<6xf32>
  %m = nn.param "bn.running_mean" : tensor<6xf32>
  %v = nn.param "bn.running_var" : tensor<6xf32>
  %n = nn.batch_norm %c, %g, %s, %m, %v {epsilon = 1.0e-05 : f32}
       : (tensor<1x6x7x7xf32>, tensor<6xf32>, tensor<6xf32>, tensor<6xf32>, tensor<6xf32>) -> tensor<1x6x7x7xf32>
  %f = nn.flatten %n : (tensor<1x6x7x7xf32>) -> tensor<1x294xf32>
  %fw = nn.param "fc.weight" : tensor<10x294xf32>
  %fb = nn.param "fc.bias" : tensor<10xf32>
  %y = nn.dense %f, %fw, %fb : (tensor<1x294xf32>, tensor<10x294xf32>, tensor<10xf32>) -> tensor<1x10xf32>
  %z = nn.concat %y, %y {axis = 0 : i64} : (tensor<1x10xf32>, tensor<1x10xf32>) -> tensor<2x10xf32>
  return %z : tensor<2x10xf32>
}
)mlir";

/// Checks every value lies in [-bound, bound] and the values spread over most of the range.
void expectUniformIn(const HostTensor &t, double bound, const std::string &name) {
  double maxAbs = 0.0, sum = 0.0;
  for (float v : t.data) {
    ASSERT_LE(std::fabs(v), static_cast<float>(bound)) << name;
    maxAbs = std::max(maxAbs, double(std::fabs(v)));
    sum += v;
  }
  EXPECT_GT(maxAbs, 0.7 * bound) << name;
  EXPECT_LT(std::fabs(sum / t.size()), 0.35 * bound) << name;
}

TEST(WeightInit, SameNameAndSeedGiveSameValues) {
  auto rule = InitRule::uniformIn(1.0);
  HostTensor a = initParameter("c1.weight", {4, 3}, rule, 7);
  HostTensor b = initParameter("c1.weight", {4, 3}, rule, 7);
  EXPECT_EQ(a.data, b.data);
  EXPECT_NE(a.data, initParameter("c1.weight", {4, 3}, rule, 8).data);
  EXPECT_NE(a.data, initParameter("c2.weight", {4, 3}, rule, 7).data);
}

TEST(WeightInit, PinnedBitsForPlatformIndependence) {
  // The exact values of the documented scheme (computed independently in Python); a change
  // here changes every seeded model.
  HostTensor t = initParameter("c1.weight", {4}, InitRule::uniformIn(1.0), 0);
  const float expected[] = {-0x1.2d879p-1f, -0x1.2eb92p-3f, 0x1.9edc04p-1f, -0x1.3443p-1f};
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(t.data[i], expected[i]) << i;
}

TEST(WeightInit, ConstantRule) {
  HostTensor t = initParameter("bn.running_var", {5}, InitRule::constant(1.0f), 3);
  EXPECT_EQ(t.data, std::vector<float>(5, 1.0f));
}

TEST(WeightInit, BoundsFollowTheConsumer) {
  mlir::MLIRContext context;
  auto module = test::parseModel(context, kModel);
  ASSERT_TRUE(module);
  WeightStore store;
  std::string error;
  ASSERT_TRUE(mlir::succeeded(bindWeights(*module, nullptr, 42, store, error))) << error;
  ASSERT_EQ(store.size(), 8u);
  // conv: fan_in = C/groups * KH * KW = 2 * 3 * 3; dense: fan_in = K = 294.
  expectUniformIn(store["conv.weight"], std::sqrt(6.0 / 18), "conv.weight");
  expectUniformIn(store["conv.bias"], 1.0 / std::sqrt(18.0), "conv.bias");
  expectUniformIn(store["fc.weight"], std::sqrt(6.0 / 294), "fc.weight");
  expectUniformIn(store["fc.bias"], 1.0 / std::sqrt(294.0), "fc.bias");
  EXPECT_EQ(store["bn.weight"].data, std::vector<float>(6, 1.0f));
  EXPECT_EQ(store["bn.bias"].data, std::vector<float>(6, 0.0f));
  EXPECT_EQ(store["bn.running_mean"].data, std::vector<float>(6, 0.0f));
  EXPECT_EQ(store["bn.running_var"].data, std::vector<float>(6, 1.0f));
}

TEST(WeightInit, AddingALayerDoesNotChangeOthers) {
  const char *small = R"mlir(
func.func @forward(%x: tensor<1x294xf32>) -> tensor<1x10xf32> {
  %fw = nn.param "fc.weight" : tensor<10x294xf32>
  %fb = nn.param "fc.bias" : tensor<10xf32>
  %y = nn.dense %x, %fw, %fb : (tensor<1x294xf32>, tensor<10x294xf32>, tensor<10xf32>) -> tensor<1x10xf32>
  return %y : tensor<1x10xf32>
}
)mlir";
  mlir::MLIRContext context;
  auto big = test::parseModel(context, kModel);
  auto little = test::parseModel(context, small);
  ASSERT_TRUE(big && little);
  WeightStore a, b;
  std::string error;
  ASSERT_TRUE(mlir::succeeded(bindWeights(*big, nullptr, 5, a, error))) << error;
  ASSERT_TRUE(mlir::succeeded(bindWeights(*little, nullptr, 5, b, error))) << error;
  EXPECT_EQ(a["fc.weight"].data, b["fc.weight"].data);
  EXPECT_EQ(a["fc.bias"].data, b["fc.bias"].data);
}

} // namespace
