// Tests that bindWeights takes given weights verbatim, fills missing ones by the seeded rule, and
// reports shape mismatches (naming the parameter and both shapes) and unused names.
#include "compiler/weights/WeightStore.h"
#include "model_text.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace kiln;

namespace {

const char *kModel = R"mlir(
func.func @forward(%x: tensor<1x3xf32>) -> tensor<1x2xf32> {
  %w = nn.param "fc.weight" : tensor<2x3xf32>
  %b = nn.param "fc.bias" : tensor<2xf32>
  %y = nn.dense %x, %w, %b : (tensor<1x3xf32>, tensor<2x3xf32>, tensor<2xf32>) -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}
)mlir";

class BindWeights : public ::testing::Test {
protected:
  void SetUp() override {
    module = test::parseModel(context, kModel);
    ASSERT_TRUE(module);
    given["fc.weight"] = HostTensor({2, 3});
    given["fc.weight"].data = {1, 2, 3, 4, 5, 6};
  }
  mlir::MLIRContext context;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  WeightStore given;
};

TEST_F(BindWeights, GivenValuesKeptAndMissingOnesInitialised) {
  WeightStore store;
  std::string error;
  ASSERT_TRUE(mlir::succeeded(bindWeights(*module, &given, 1, store, error))) << error;
  EXPECT_EQ(store["fc.weight"].data, given["fc.weight"].data);
  EXPECT_EQ(store["fc.bias"].data, initParameter("fc.bias", {2}, InitRule::uniformIn(1.0 / std::sqrt(3.0)), 1).data);
}

TEST_F(BindWeights, ShapeMismatchNamesParameterAndBothShapes) {
  given["fc.bias"] = HostTensor({3});
  WeightStore store;
  std::string error;
  EXPECT_TRUE(mlir::failed(bindWeights(*module, &given, 1, store, error)));
  EXPECT_NE(error.find("'fc.bias'"), std::string::npos) << error;
  EXPECT_NE(error.find("[2]"), std::string::npos) << error;
  EXPECT_NE(error.find("[3]"), std::string::npos) << error;
  EXPECT_TRUE(store.empty()); // untouched on failure
}

TEST_F(BindWeights, UnusedNamesAreListed) {
  given["fc1.bias"] = HostTensor({2});
  given["fc2.bias"] = HostTensor({2});
  WeightStore store;
  std::string error;
  EXPECT_TRUE(mlir::failed(bindWeights(*module, &given, 1, store, error)));
  EXPECT_NE(error.find("'fc1.bias', 'fc2.bias'"), std::string::npos) << error;
}

TEST_F(BindWeights, WithoutGivenWeightsEverythingIsSeeded) {
  WeightStore a, b;
  std::string error;
  ASSERT_TRUE(mlir::succeeded(bindWeights(*module, nullptr, 9, a, error))) << error;
  ASSERT_TRUE(mlir::succeeded(bindWeights(*module, nullptr, 9, b, error))) << error;
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a["fc.weight"].data, b["fc.weight"].data);
  EXPECT_EQ(a["fc.weight"].shape, (std::vector<int64_t>{2, 3}));
}

} // namespace
