// Tests reference conv2d (stride, asymmetric padding, dilation, groups, depthwise, batch) and
// conv_transpose2d (stride, padding, output_padding, groups) and dense against hand-computed values
// on small odd shapes.
#include "run_model.h"

using namespace kiln;
using kiln::test::tensor;

namespace {

/// 1, 2, 3, ... (or start, start + 1, ...) for every element of `shape`.
HostTensor iota(std::vector<int64_t> shape, float start = 1.0f) {
  HostTensor t(std::move(shape));
  for (size_t i = 0; i < t.data.size(); ++i)
    t.data[i] = start + float(i);
  return t;
}

/// A model of one conv2d with bias; types are spelt out by the caller.
std::string convModel(const std::string &x, const std::string &w, const std::string &b, const std::string &y,
                      const std::string &attrs) {
  return "func.func @forward(%x: tensor<" + x + "xf32>) -> tensor<" + y + "xf32> {\n"
         "  %w = nn.param \"c.weight\" : tensor<" + w + "xf32>\n"
         "  %b = nn.param \"c.bias\" : tensor<" + b + "xf32>\n"
         "  %y = nn.conv2d %x, %w, %b {" + attrs + "} : (tensor<" + x + "xf32>, tensor<" + w + "xf32>, tensor<" + b +
         "xf32>) -> tensor<" + y + "xf32>\n"
         "  return %y : tensor<" + y + "xf32>\n}\n";
}

TEST(Conv2D, IsCrossCorrelationNotConvolution) {
  // A single 1 at (kh=1, kw=2) picks x[oh + 1][ow + 2]; x is 0..11 in a 3x4 plane.
  std::string model = convModel("1x1x3x4", "1x1x2x3", "1", "1x1x2x2",
                                "strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, "
                                "dilations = array<i64: 1, 1>, groups = 1 : i64");
  WeightStore w{{"c.weight", tensor({1, 1, 2, 3}, {0, 0, 0, 0, 0, 1})}, {"c.bias", tensor({1}, {0})}};
  test::expectTensor(test::runOne(model, w, {iota({1, 1, 3, 4}, 0)}), {1, 1, 2, 2}, {6, 7, 10, 11});
}

TEST(Conv2D, StrideTwoAsymmetricPadding) {
  // x[i][j] = 5i + j + 1; a 3x3 box sum with padding top 1, left 0, bottom 0, right 2, stride 2.
  // Output rows take input rows {0,1} and {1,2,3}; columns {0,1,2}, {2,3,4}, {4}.
  std::string model = convModel("1x1x5x5", "1x1x3x3", "1", "1x1x2x3",
                                "strides = array<i64: 2, 2>, padding = array<i64: 1, 0, 0, 2>, "
                                "dilations = array<i64: 1, 1>, groups = 1 : i64");
  WeightStore w{{"c.weight", tensor({1, 1, 3, 3}, std::vector<float>(9, 1.0f))}, {"c.bias", tensor({1}, {0.5f})}};
  test::expectTensor(test::runOne(model, w, {iota({1, 1, 5, 5})}), {1, 1, 2, 3},
                     {27.5f, 39.5f, 15.5f, 108.5f, 126.5f, 45.5f});
}

TEST(Conv2D, DilationTwo) {
  // Taps at rows/cols {0, 2, 4}: 1*x(0,0) + 2*x(0,4) + 5*x(2,2) + 3*x(4,0) + 4*x(4,4)
  //                              = 1 + 10 + 65 + 63 + 100 = 239.
  std::string model = convModel("1x1x5x5", "1x1x3x3", "1", "1x1x1x1",
                                "strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, "
                                "dilations = array<i64: 2, 2>, groups = 1 : i64");
  WeightStore w{{"c.weight", tensor({1, 1, 3, 3}, {1, 0, 2, 0, 5, 0, 3, 0, 4})}, {"c.bias", tensor({1}, {0})}};
  test::expectTensor(test::runOne(model, w, {iota({1, 1, 5, 5})}), {1, 1, 1, 1}, {239});
}

TEST(Conv2D, TwoGroupsAndTwoImages) {
  // 1x1 filters; group 0 (filters 0, 1) sees channels 0, 1; group 1 (filters 2, 3) sees 2, 3.
  // Image 0 has x[c][w] = 10c + w; image 1 adds 1000 to every value.
  std::string model = convModel("2x4x1x3", "4x2x1x1", "4", "2x4x1x3",
                                "strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, "
                                "dilations = array<i64: 1, 1>, groups = 2 : i64");
  HostTensor x({2, 4, 1, 3});
  for (int n = 0; n < 2; ++n)
    for (int c = 0; c < 4; ++c)
      for (int j = 0; j < 3; ++j)
        x.data[(n * 4 + c) * 3 + j] = 1000.0f * n + 10.0f * c + j;
  WeightStore w{{"c.weight", tensor({4, 2, 1, 1}, {1, 0, 1, 1, 1, 0, 0, 2})}, {"c.bias", tensor({4}, {0, 0, 0, 0})}};
  test::expectTensor(test::runOne(model, w, {x}), {2, 4, 1, 3},
                     {0,    1,    2,    10,   12,   14,   20,   21,   22,   60,   62,   64,
                      1000, 1001, 1002, 2010, 2012, 2014, 1020, 1021, 1022, 2060, 2062, 2064});
}

TEST(Conv2D, Depthwise) {
  // groups = C = 3, x[c][i][j] = 100c + 3i + j; 2x2 filters: channel 0 all 1, channel 1 all 2,
  // channel 2 only -1 at (1,1); bias 1 on channel 2.
  std::string model = convModel("1x3x3x3", "3x1x2x2", "3", "1x3x2x2",
                                "strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, "
                                "dilations = array<i64: 1, 1>, groups = 3 : i64");
  HostTensor x({1, 3, 3, 3});
  for (int c = 0; c < 3; ++c)
    for (int k = 0; k < 9; ++k)
      x.data[c * 9 + k] = 100.0f * c + k;
  WeightStore w{{"c.weight", tensor({3, 1, 2, 2}, {1, 1, 1, 1, 2, 2, 2, 2, 0, 0, 0, -1})},
                {"c.bias", tensor({3}, {0, 0, 1})}};
  test::expectTensor(test::runOne(model, w, {x}), {1, 3, 2, 2},
                     {8, 12, 20, 24, 816, 824, 840, 848, -203, -204, -206, -207});
}

TEST(Dense, WithAndWithoutBias) {
  const char *model = R"mlir(
func.func @forward(%x: tensor<2x3xf32>) -> (tensor<2x2xf32>, tensor<2x2xf32>) {
  %w = nn.param "fc.weight" : tensor<2x3xf32>
  %b = nn.param "fc.bias" : tensor<2xf32>
  %y = nn.dense %x, %w, %b : (tensor<2x3xf32>, tensor<2x3xf32>, tensor<2xf32>) -> tensor<2x2xf32>
  %z = nn.dense %x, %w : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x2xf32>
  return %y, %z : tensor<2x2xf32>, tensor<2x2xf32>
}
)mlir";
  // y = x W^T + b with W = [[1, 0, -1], [0.5, 0.5, 0.5]], b = [10, 0].
  WeightStore w{{"fc.weight", tensor({2, 3}, {1, 0, -1, 0.5f, 0.5f, 0.5f})}, {"fc.bias", tensor({2}, {10, 0})}};
  std::string error;
  auto out = test::run(model, w, {tensor({2, 3}, {1, 2, 3, 4, 5, 6})}, error);
  ASSERT_TRUE(mlir::succeeded(out)) << error;
  ASSERT_EQ(out->size(), 2u);
  test::expectTensor((*out)[0], {2, 2}, {8, 3, 8, 7.5f});
  test::expectTensor((*out)[1], {2, 2}, {-2, 3, -2, 7.5f});
}


/// A model of one conv_transpose2d (filter [C, F/groups, KH, KW], no bias).
std::string convTransposeModel(const std::string &x, const std::string &w, const std::string &y,
                               const std::string &attrs) {
  return "func.func @forward(%x: tensor<" + x + "xf32>) -> tensor<" + y + "xf32> {\n"
         "  %w = nn.param \"t.weight\" : tensor<" + w + "xf32>\n"
         "  %y = nn.conv_transpose2d %x, %w {" + attrs + ", dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<" +
         x + "xf32>, tensor<" + w + "xf32>) -> tensor<" + y + "xf32>\n"
         "  return %y : tensor<" + y + "xf32>\n}\n";
}

TEST(ConvTranspose2D, StrideOneOverlapsTaps) {
  // Each input cell adds itself to a 2x2 block of the 3x3 output (all-ones filter).
  std::string model = convTransposeModel("1x1x2x2", "1x1x2x2", "1x1x3x3",
                                         "strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, "
                                         "output_padding = array<i64: 0, 0>");
  WeightStore weights = {{"t.weight", tensor({1, 1, 2, 2}, {1, 1, 1, 1})}};
  test::expectTensor(test::runOne(model, weights, {iota({1, 1, 2, 2})}), {1, 1, 3, 3},
                     {1, 3, 2, 4, 10, 6, 3, 7, 4});
}

TEST(ConvTranspose2D, StrideTwoPaddingAndOutputPadding) {
  // Stride 2, kernel 2: each input cell becomes a 2x2 block scaled by the filter [1 2; 3 4]; the
  // full 4x4 output loses its first row and column to padding (top 1, left 1) and output_padding
  // adds a zero row and column at the bottom/right: OH = (2-1)*2 - 1 - 0 + 1 + 1 + 1 = 4.
  std::string model = convTransposeModel("1x1x2x2", "1x1x2x2", "1x1x4x4",
                                         "strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 0, 0>, "
                                         "output_padding = array<i64: 1, 1>");
  WeightStore weights = {{"t.weight", tensor({1, 1, 2, 2}, {1, 2, 3, 4})}};
  // Full output rows: [1 2 2 4; 3 4 6 8; 3 6 4 8; 9 12 12 16].
  test::expectTensor(test::runOne(model, weights, {tensor({1, 1, 2, 2}, {1, 2, 3, 4})}), {1, 1, 4, 4},
                     {4, 6, 8, 0, 6, 4, 8, 0, 12, 12, 16, 0, 0, 0, 0, 0});
}

TEST(ConvTranspose2D, GroupsAndBias) {
  // Two groups of one channel each, two filters per group: filter [C=2, F/groups=2, 1, 1].
  const char *model = R"mlir(
func.func @forward(%x: tensor<1x2x1x1xf32>) -> tensor<1x4x1x1xf32> {
  %w = nn.param "t.weight" : tensor<2x2x1x1xf32>
  %b = nn.param "t.bias" : tensor<4xf32>
  %y = nn.conv_transpose2d %x, %w, %b {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>,
         output_padding = array<i64: 0, 0>, dilations = array<i64: 1, 1>, groups = 2 : i64}
       : (tensor<1x2x1x1xf32>, tensor<2x2x1x1xf32>, tensor<4xf32>) -> tensor<1x4x1x1xf32>
  return %y : tensor<1x4x1x1xf32>
}
)mlir";
  WeightStore weights = {{"t.weight", tensor({2, 2, 1, 1}, {1, 2, 3, 4})}, {"t.bias", tensor({4}, {0, 0, 0, 100})}};
  test::expectTensor(test::runOne(model, weights, {tensor({1, 2, 1, 1}, {10, 20})}), {1, 4, 1, 1},
                     {10, 20, 60, 180});
}

} // namespace
