// Tests the reference activations (relu, tanh, sigmoid, leaky_relu), dropout (identity) and add.
#include "run_model.h"

#include <limits>

using namespace kiln;
using kiln::test::tensor;

namespace {

std::string unaryModel(const std::string &op, const std::string &attrs = "") {
  return "func.func @forward(%x: tensor<1x5xf32>) -> tensor<1x5xf32> {\n"
         "  %y = nn." + op + " %x " + attrs + " : tensor<1x5xf32>\n"
         "  return %y : tensor<1x5xf32>\n}\n";
}

TEST(Activations, Relu) {
  HostTensor y = test::runOne(unaryModel("relu"), {}, {tensor({1, 5}, {-2, -0.0f, 0.5f, 3, -1e30f})});
  test::expectTensor(y, {1, 5}, {0, 0, 0.5f, 3, 0});
}

TEST(Activations, ReluPropagatesNaN) {
  float nan = std::numeric_limits<float>::quiet_NaN();
  HostTensor y = test::runOne(unaryModel("relu"), {}, {tensor({1, 5}, {nan, 1, 1, 1, 1})});
  EXPECT_TRUE(std::isnan(y.data[0]));
}

TEST(Activations, Tanh) {
  HostTensor y = test::runOne(unaryModel("tanh"), {}, {tensor({1, 5}, {0, 1, -1, 20, -20})});
  test::expectTensor(y, {1, 5}, {0, 0.76159416f, -0.76159416f, 1, -1});
}

TEST(Activations, SigmoidIncludingExtremes) {
  HostTensor y = test::runOne(unaryModel("sigmoid"), {}, {tensor({1, 5}, {0, 2, -2, 1000, -1000})});
  test::expectTensor(y, {1, 5}, {0.5f, 0.88079708f, 0.11920292f, 1, 0});
}

TEST(Activations, LeakyRelu) {
  HostTensor y = test::runOne(unaryModel("leaky_relu", "{alpha = 0.125 : f32}"), {},
                              {tensor({1, 5}, {-2, -0.5f, 0, 3, 7})});
  test::expectTensor(y, {1, 5}, {-0.25f, -0.0625f, 0, 3, 7});
}

TEST(Dropout, IdentityAtInference) {
  HostTensor x = tensor({1, 5}, {-2, -0.5f, 0, 3, 7});
  HostTensor y = test::runOne(unaryModel("dropout", "{rate = 0.5 : f32}"), {}, {x});
  EXPECT_EQ(y.data, x.data);
}

TEST(Add, Elementwise) {
  const char *model = R"mlir(
func.func @forward(%a: tensor<1x3xf32>, %b: tensor<1x3xf32>) -> tensor<1x3xf32> {
  %y = nn.add %a, %b : tensor<1x3xf32>
  return %y : tensor<1x3xf32>
}
)mlir";
  HostTensor y = test::runOne(model, {}, {tensor({1, 3}, {1, 2, 3}), tensor({1, 3}, {10, -2, 0.5f})});
  test::expectTensor(y, {1, 3}, {11, 0, 3.5f});
}

} // namespace
