// Tests the reference activations (relu, tanh, sigmoid, leaky_relu, clip, hard_sigmoid, hard_swish),
// dropout (identity), the broadcasting binary ops (pow and prelu among them) and sum / mean.
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


std::string binaryModel(const std::string &op, const std::string &a, const std::string &b, const std::string &y) {
  return "func.func @forward(%a: tensor<" + a + "xf32>, %b: tensor<" + b + "xf32>) -> tensor<" + y + "xf32> {\n"
         "  %y = nn." + op + " %a, %b : (tensor<" + a + "xf32>, tensor<" + b + "xf32>) -> tensor<" + y + "xf32>\n"
         "  return %y : tensor<" + y + "xf32>\n}\n";
}

TEST(Binary, BroadcastsRowAgainstColumn) {
  // [2, 1] - [3] -> [2, 3]: a[i] - b[j].
  HostTensor a = tensor({2, 1}, {10, 20}), b = tensor({3}, {1, 2, 3});
  test::expectTensor(test::runOne(binaryModel("sub", "2x1", "3", "2x3"), {}, {a, b}), {2, 3},
                     {9, 8, 7, 19, 18, 17});
  test::expectTensor(test::runOne(binaryModel("mul", "2x1", "3", "2x3"), {}, {a, b}), {2, 3},
                     {10, 20, 30, 20, 40, 60});
  test::expectTensor(test::runOne(binaryModel("div", "2x1", "3", "2x3"), {}, {a, b}), {2, 3},
                     {10, 5, 10.0f / 3, 20, 10, 20.0f / 3});
}

TEST(Binary, PerChannelScaleOnNCHW) {
  // [1, 2, 1, 2] + [2, 1, 1]: one value per channel.
  HostTensor x = tensor({1, 2, 1, 2}, {1, 2, 3, 4}), s = tensor({2, 1, 1}, {100, 200});
  test::expectTensor(test::runOne(binaryModel("add", "1x2x1x2", "2x1x1", "1x2x1x2"), {}, {x, s}), {1, 2, 1, 2},
                     {101, 102, 203, 204});
}

TEST(Binary, MaxAndMin) {
  HostTensor a = tensor({1, 3}, {1, 5, -2}), b = tensor({1, 3}, {3, 4, -1});
  test::expectTensor(test::runOne(binaryModel("max", "1x3", "1x3", "1x3"), {}, {a, b}), {1, 3}, {3, 5, -1});
  test::expectTensor(test::runOne(binaryModel("min", "1x3", "1x3", "1x3"), {}, {a, b}), {1, 3}, {1, 4, -2});
}

TEST(Activations, ClipHardSigmoidHardSwish) {
  HostTensor x = tensor({1, 5}, {-4, -1, 0.5f, 3, 7});
  test::expectTensor(test::runOne(unaryModel("clip", "{min = 0.0 : f32, max = 6.0 : f32}"), {}, {x}), {1, 5},
                     {0, 0, 0.5f, 3, 6});
  test::expectTensor(test::runOne(unaryModel("hard_sigmoid", "{alpha = 0.2 : f32, beta = 0.5 : f32}"), {}, {x}),
                     {1, 5}, {0, 0.3f, 0.6f, 1, 1});
  // x * clamp(x / 6 + 1/2, 0, 1)
  test::expectTensor(test::runOne(unaryModel("hard_swish"), {}, {x}), {1, 5},
                     {0, -1.0f / 3, 0.5f * (0.5f / 6 + 0.5f), 3, 7});
}

TEST(SumMean, OfThreeInputs) {
  const char *model = R"mlir(
func.func @forward(%a: tensor<1x2xf32>, %b: tensor<1x2xf32>, %c: tensor<1x2xf32>) -> (tensor<1x2xf32>, tensor<1x2xf32>) {
  %s = nn.sum %a, %b, %c : (tensor<1x2xf32>, tensor<1x2xf32>, tensor<1x2xf32>) -> tensor<1x2xf32>
  %m = nn.mean %a, %b, %c : (tensor<1x2xf32>, tensor<1x2xf32>, tensor<1x2xf32>) -> tensor<1x2xf32>
  return %s, %m : tensor<1x2xf32>, tensor<1x2xf32>
}
)mlir";
  std::string error;
  auto out = test::run(model, {}, {tensor({1, 2}, {1, 2}), tensor({1, 2}, {3, 4}), tensor({1, 2}, {5, -9})}, error);
  ASSERT_TRUE(mlir::succeeded(out)) << error;
  test::expectTensor((*out)[0], {1, 2}, {9, -3});
  test::expectTensor((*out)[1], {1, 2}, {3, -1});
}

TEST(Pow, BroadcastsTheExponentAndTakesNegativeBasesToIntegerPowers) {
  const HostTensor base = tensor({2, 2}, {1, 2, 3, 4});
  test::expectTensor(test::runOp("pow", {base, tensor({2}, {2, 0.5f})}, {2, 2}), {2, 2}, {1, 1.41421356f, 9, 2});
  // A column of bases against a row of exponents: [3, 1] ^ [1, 2] -> [3, 2].
  test::expectTensor(test::runOp("pow", {tensor({3, 1}, {-2, 0.5f, 3}), tensor({1, 2}, {3, -1})}, {3, 2}), {3, 2},
                     {-8, -0.5f, 0.125f, 2, 27, 1.0f / 3});
}

TEST(PRelu, SlopePerChannelAndPerRow) {
  const HostTensor x = tensor({2, 3}, {-1, 2, -3, 4, -5, 0});
  test::expectTensor(test::runOp("prelu", {x, tensor({3}, {0.1f, 0.2f, 0.3f})}, {2, 3}), {2, 3},
                     {-0.1f, 2, -0.9f, 4, -1, 0});
  test::expectTensor(test::runOp("prelu", {x, tensor({2, 1}, {0.5f, 2})}, {2, 3}), {2, 3},
                     {-0.5f, 2, -1.5f, 4, -10, 0});
  // NCHW with a [C, 1, 1] slope, as PyTorch's PReLU(num_parameters=C) exports.
  const HostTensor image = tensor({1, 2, 1, 2}, {-1, 1, -2, 2});
  test::expectTensor(test::runOp("prelu", {image, tensor({2, 1, 1}, {0.25f, 0.5f})}, {1, 2, 1, 2}), {1, 2, 1, 2},
                     {-0.25f, 1, -1, 2});
}

} // namespace
