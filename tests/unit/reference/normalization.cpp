// Tests reference batch_norm (per-channel statistics on dimension 1) and softmax (along the given
// axis, sums to 1, stable for large inputs), log_softmax and lrn against hand-computed values.
#include "run_model.h"

using namespace kiln;
using kiln::test::tensor;

namespace {

TEST(BatchNorm, PerChannelStatistics) {
  // eps 0.5 and var [3.5, 0.5] make the standard deviations exactly 2 and 1.
  const char *model = R"mlir(
func.func @forward(%x: tensor<1x2x1x2xf32>) -> tensor<1x2x1x2xf32> {
  %g = nn.param "bn.weight" : tensor<2xf32>
  %s = nn.param "bn.bias" : tensor<2xf32>
  %m = nn.param "bn.running_mean" : tensor<2xf32>
  %v = nn.param "bn.running_var" : tensor<2xf32>
  %y = nn.batch_norm %x, %g, %s, %m, %v {epsilon = 0.5 : f32}
       : (tensor<1x2x1x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x1x2xf32>
  return %y : tensor<1x2x1x2xf32>
}
)mlir";
  WeightStore w{{"bn.weight", tensor({2}, {2, 0.5f})},
                {"bn.bias", tensor({2}, {1, -1})},
                {"bn.running_mean", tensor({2}, {2, 5})},
                {"bn.running_var", tensor({2}, {3.5f, 0.5f})}};
  // Channel 0: (x - 2) / 2 * 2 + 1; channel 1: (x - 5) / 1 * 0.5 - 1.
  test::expectTensor(test::runOne(model, w, {tensor({1, 2, 1, 2}, {1, 3, 5, 7})}), {1, 2, 1, 2}, {0, 2, -1, 0});
}

std::string softmaxModel(const std::string &shape, int axis) {
  return "func.func @forward(%x: tensor<" + shape + "xf32>) -> tensor<" + shape + "xf32> {\n"
         "  %y = nn.softmax %x {axis = " + std::to_string(axis) + " : i64} : tensor<" + shape + "xf32>\n"
         "  return %y : tensor<" + shape + "xf32>\n}\n";
}

TEST(Softmax, KnownValuesAndLargeInputs) {
  // softmax([1, 2, 3]) = [e^-2, e^-1, 1] / (1 + e^-1 + e^-2); shifting by 1000 changes nothing.
  const std::vector<float> expected = {0.09003057f, 0.24472847f, 0.66524096f};
  test::expectTensor(test::runOne(softmaxModel("1x3", 1), {}, {tensor({1, 3}, {1, 2, 3})}), {1, 3}, expected);
  HostTensor large = test::runOne(softmaxModel("1x3", 1), {}, {tensor({1, 3}, {1001, 1002, 1003})});
  test::expectTensor(large, {1, 3}, expected);
  HostTensor negative = test::runOne(softmaxModel("1x3", 1), {}, {tensor({1, 3}, {-1e4f, -1e4f, -1e4f})});
  test::expectTensor(negative, {1, 3}, {1 / 3.0f, 1 / 3.0f, 1 / 3.0f});
}

TEST(Softmax, AlongAxisZeroSumsToOne) {
  // Columns: [0, 0] -> halves; [5, 5] -> halves; [1, 1 + ln 3] -> [1/4, 3/4].
  HostTensor y = test::runOne(softmaxModel("2x3", 0), {},
                              {tensor({2, 3}, {0, 5, 1, 0, 5, 1 + std::log(3.0f)})});
  test::expectTensor(y, {2, 3}, {0.5f, 0.5f, 0.25f, 0.5f, 0.5f, 0.75f});
  for (int col = 0; col < 3; ++col)
    EXPECT_NEAR(y.data[col] + y.data[3 + col], 1.0f, 1e-6f);
}

TEST(Softmax, MiddleAxisOfRankFour) {
  // [1, 3, 1, 2] along axis 1: each of the two positions is its own softmax over 3 channels.
  HostTensor y = test::runOne(softmaxModel("1x3x1x2", 1), {}, {tensor({1, 3, 1, 2}, {1, 0, 2, 0, 3, 0})});
  test::expectTensor(y, {1, 3, 1, 2},
                     {0.09003057f, 1 / 3.0f, 0.24472847f, 1 / 3.0f, 0.66524096f, 1 / 3.0f});
}


TEST(LogSoftmax, IsXMinusLogSumExp) {
  const char *model = R"mlir(
func.func @forward(%x: tensor<1x3xf32>) -> tensor<1x3xf32> {
  %y = nn.log_softmax %x {axis = 1 : i64} : tensor<1x3xf32>
  return %y : tensor<1x3xf32>
}
)mlir";
  // log(e + e^2 + e^3) = 3.40760596
  test::expectTensor(test::runOne(model, {}, {tensor({1, 3}, {1, 2, 3})}), {1, 3},
                     {-2.40760596f, -1.40760596f, -0.40760596f});
}

TEST(LRN, SumsSquaresOverNeighbouringChannels) {
  // size 3, alpha 3 (alpha / size = 1), beta 1, bias 1: y = x / (1 + squares of c-1 .. c+1).
  const char *model = R"mlir(
func.func @forward(%x: tensor<1x3x1x1xf32>) -> tensor<1x3x1x1xf32> {
  %y = nn.lrn %x {size = 3 : i64, alpha = 3.0 : f32, beta = 1.0 : f32, bias = 1.0 : f32}
       : (tensor<1x3x1x1xf32>) -> tensor<1x3x1x1xf32>
  return %y : tensor<1x3x1x1xf32>
}
)mlir";
  test::expectTensor(test::runOne(model, {}, {tensor({1, 3, 1, 1}, {1, 2, 3})}), {1, 3, 1, 1},
                     {1.0f / 6, 2.0f / 15, 3.0f / 14});
}

TEST(LRN, EvenSizeFollowsOnnxWindow) {
  // size 2: channels [c, c + 1] (ONNX: floor((size-1)/2) before, ceil((size-1)/2) after).
  const char *model = R"mlir(
func.func @forward(%x: tensor<1x3x1x1xf32>) -> tensor<1x3x1x1xf32> {
  %y = nn.lrn %x {size = 2 : i64, alpha = 2.0 : f32, beta = 1.0 : f32, bias = 1.0 : f32}
       : (tensor<1x3x1x1xf32>) -> tensor<1x3x1x1xf32>
  return %y : tensor<1x3x1x1xf32>
}
)mlir";
  test::expectTensor(test::runOne(model, {}, {tensor({1, 3, 1, 1}, {1, 2, 3})}), {1, 3, 1, 1},
                     {1.0f / 6, 2.0f / 14, 3.0f / 10});
}

} // namespace
