// Tests that each nn op lowered to Halide (JIT, default schedule) matches the reference
// interpreter on random data, over a covering set of shapes and attributes (odd sizes, stride > 1,
// batch > 1, broadcasting).
#include "graph_builder.h"

namespace kiln::test {
namespace {

struct ConvCase {
  const char *name;
  Shape input;
  int64_t filters;
  std::vector<int64_t> kernel, strides, padding, dilations;
  int64_t groups;
  bool bias;
};

void PrintTo(const ConvCase &c, std::ostream *os) { *os << c.name; }

class ConvTest : public ::testing::TestWithParam<ConvCase> {};

// Covers kernel 1/3/5/7 (and non-square), stride 1/2/3, symmetric and asymmetric padding,
// dilation 2, groups 2, depthwise (with multiplier), batch 3, odd H/W, channel counts below,
// between and above the vector width and the 32-channel block, and outputs wider than a pixel tile.
const ConvCase convCases[] = {
    {"k1_s1", {1, 3, 7, 7}, 5, {1, 1}, {1, 1}, {0, 0, 0, 0}, {1, 1}, 1, true},
    {"k3_p1_block32", {1, 16, 11, 11}, 32, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1, true},
    {"k3_s2_asym_batch3", {3, 5, 13, 13}, 20, {3, 3}, {2, 2}, {1, 0, 0, 1}, {1, 1}, 1, true},
    {"k5_s3_asym", {1, 4, 13, 11}, 6, {5, 5}, {3, 3}, {2, 1, 0, 2}, {1, 1}, 1, false},
    {"k7_s2_p3", {1, 3, 13, 13}, 17, {7, 7}, {2, 2}, {3, 3, 3, 3}, {1, 1}, 1, true},
    {"k3_dilation2", {1, 8, 11, 11}, 24, {3, 3}, {1, 1}, {2, 2, 2, 2}, {2, 2}, 1, true},
    {"groups2", {1, 6, 7, 9}, 10, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 2, true},
    {"depthwise_batch3", {3, 19, 13, 13}, 19, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 19, true},
    {"depthwise_x2_s2", {1, 8, 11, 11}, 16, {5, 5}, {2, 2}, {2, 2, 2, 2}, {1, 1}, 8, false},
    {"one_filter", {1, 3, 11, 11}, 1, {3, 3}, {1, 1}, {0, 0, 0, 0}, {1, 1}, 1, true},
    {"two_filters_s3_dil", {1, 2, 13, 13}, 2, {3, 3}, {3, 3}, {1, 2, 0, 1}, {2, 1}, 1, true},
    {"c33_f35_k3x1_batch3", {3, 33, 7, 7}, 35, {3, 1}, {1, 1}, {1, 0, 1, 0}, {1, 1}, 1, true},
    {"wide_30", {1, 8, 30, 30}, 32, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1, true},
    {"tiny_output", {2, 4, 3, 3}, 7, {3, 3}, {1, 1}, {0, 0, 0, 0}, {1, 1}, 1, true},
    {"one_pixel_three_filters", {1, 2, 3, 3}, 3, {3, 3}, {1, 1}, {0, 0, 0, 0}, {1, 1}, 1, false},
};

TEST_P(ConvTest, MatchesReference) {
  const ConvCase &c = GetParam();
  Graph g(testRng());
  auto x = g.input(c.input);
  auto y = g.conv(x, c.filters, c.kernel, c.strides, c.padding, c.dilations, c.groups, c.bias);
  expectMatchesReference(g, {y});
}

INSTANTIATE_TEST_SUITE_P(Halide, ConvTest, ::testing::ValuesIn(convCases),
                         [](const auto &info) { return std::string(info.param.name); });

struct PoolCase {
  const char *name;
  const char *kind;
  Shape input;
  std::vector<int64_t> kernel, strides, padding;
  bool countIncludePad;
  bool ceilMode = false;
};

void PrintTo(const PoolCase &c, std::ostream *os) { *os << c.name; }

class PoolTest : public ::testing::TestWithParam<PoolCase> {};

const PoolCase poolCases[] = {
    {"max_k2_s2_floor", "max_pool2d", {1, 6, 7, 7}, {2, 2}, {2, 2}, {0, 0, 0, 0}, false},
    {"max_k3_s2_p1_batch3", "max_pool2d", {3, 20, 13, 13}, {3, 3}, {2, 2}, {1, 1, 1, 1}, false},
    {"max_asym_pad_c1", "max_pool2d", {1, 1, 11, 9}, {3, 2}, {1, 1}, {0, 1, 1, 0}, false},
    {"avg_include_pad", "avg_pool2d", {1, 17, 11, 11}, {3, 3}, {2, 2}, {1, 1, 1, 1}, true},
    {"avg_exclude_pad", "avg_pool2d", {2, 17, 11, 11}, {3, 3}, {2, 2}, {1, 1, 1, 1}, false},
    {"avg_exclude_asym_c3", "avg_pool2d", {1, 3, 7, 13}, {2, 3}, {1, 3}, {1, 0, 0, 2}, false},
    {"avg_k5_s3_include", "avg_pool2d", {1, 5, 13, 13}, {5, 5}, {3, 3}, {2, 2, 1, 1}, true},
    {"max_ceil_k3_s2_batch2", "max_pool2d", {2, 5, 8, 10}, {3, 3}, {2, 2}, {0, 0, 0, 0}, false, true},
    {"max_ceil_p1_asym", "max_pool2d", {1, 3, 9, 6}, {2, 3}, {2, 2}, {1, 0, 1, 1}, false, true},
    {"avg_ceil_include_pad", "avg_pool2d", {2, 17, 8, 10}, {3, 3}, {2, 2}, {1, 1, 1, 1}, true, true},
    {"avg_ceil_exclude_pad", "avg_pool2d", {1, 4, 9, 11}, {2, 3}, {2, 3}, {0, 1, 0, 1}, false, true},
    {"avg_ceil_include_nopad", "avg_pool2d", {1, 3, 7, 7}, {2, 2}, {2, 2}, {0, 0, 0, 0}, true, true},
};

TEST_P(PoolTest, MatchesReference) {
  const PoolCase &c = GetParam();
  Graph g(testRng());
  auto x = g.input(c.input);
  std::optional<bool> include;
  if (std::string(c.kind) == "avg_pool2d")
    include = c.countIncludePad;
  auto y = g.pool(c.kind, x, c.kernel, c.strides, c.padding, include, c.ceilMode);
  expectMatchesReference(g, {y});
}

INSTANTIATE_TEST_SUITE_P(Halide, PoolTest, ::testing::ValuesIn(poolCases),
                         [](const auto &info) { return std::string(info.param.name); });

TEST(HalideOps, GlobalAvgPool) {
  Graph g(testRng());
  auto x = g.input({2, 19, 7, 5});
  expectMatchesReference(g, {g.globalAvgPool(x)});
}

TEST(HalideOps, BatchNorm4DAnd2D) {
  Graph g(testRng());
  auto x = g.input({3, 7, 5, 9});
  auto v = g.input({3, 13});
  expectMatchesReference(g, {g.batchNorm(x), g.batchNorm(v)});
}

TEST(HalideOps, Activations) {
  Graph g(testRng());
  auto x = g.input({2, 5, 7, 3});
  expectMatchesReference(g, {g.unary("relu", x), g.unary("tanh", x), g.unary("sigmoid", x),
                             g.unary("leaky_relu", x), g.unary("dropout", x)});
}

TEST(HalideOps, ActivationsRank2And3) {
  Graph g(testRng());
  auto x = g.input({3, 21});
  auto z = g.input({2, 5, 17});
  expectMatchesReference(g, {g.unary("sigmoid", x), g.unary("tanh", z), g.unary("leaky_relu", z)});
}

TEST(HalideOps, Dense) {
  Graph g(testRng());
  auto x = g.input({3, 37});
  expectMatchesReference(g, {g.dense(x, 84), g.dense(x, 10, false), g.dense(x, 3), g.dense(x, 130)});
}

TEST(HalideOps, FlattenAndSoftmax) {
  Graph g(testRng());
  auto x = g.input({2, 5, 3, 7});
  auto v = g.input({3, 10});
  expectMatchesReference(g, {g.flatten(x), g.softmax(v, 1), g.softmax(x, 1), g.softmax(x, 3), g.softmax(v, 0)});
}

TEST(HalideOps, AddAndConcat) {
  Graph g(testRng());
  auto a = g.input({2, 6, 5, 7});
  auto b = g.input({2, 6, 5, 7});
  auto c = g.input({2, 3, 5, 7});
  auto d = g.input({3, 4});
  auto e = g.input({3, 9});
  expectMatchesReference(g, {g.add(a, b), g.concat({a, c, b}, 1), g.concat({a, b}, 3), g.concat({a, b}, 0),
                             g.concat({d, e}, 1)});
}

struct ConvTransposeCase {
  const char *name;
  Shape input;
  int64_t filters;
  std::vector<int64_t> kernel, strides, padding, outputPadding, dilations;
  int64_t groups;
  bool bias;
};

void PrintTo(const ConvTransposeCase &c, std::ostream *os) { *os << c.name; }

class ConvTransposeTest : public ::testing::TestWithParam<ConvTransposeCase> {};

const ConvTransposeCase convTransposeCases[] = {
    {"k3_s1", {1, 3, 7, 7}, 5, {3, 3}, {1, 1}, {0, 0, 0, 0}, {0, 0}, {1, 1}, 1, true},
    {"k3_s2_p1_op1_batch2", {2, 16, 7, 9}, 20, {3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, {1, 1}, 1, true},
    {"k4_s2_p1_block32", {1, 8, 5, 5}, 32, {4, 4}, {2, 2}, {1, 1, 1, 1}, {0, 0}, {1, 1}, 1, false},
    {"k5x3_s3x2_asym", {3, 4, 5, 7}, 6, {5, 3}, {3, 2}, {2, 0, 1, 1}, {2, 1}, {1, 1}, 1, true},
    {"dilation2_groups2", {1, 6, 6, 5}, 4, {3, 3}, {2, 1}, {1, 1, 0, 0}, {1, 0}, {2, 2}, 2, true},
    {"depthwise_s2", {2, 8, 5, 5}, 8, {2, 2}, {2, 2}, {0, 0, 0, 0}, {0, 0}, {1, 1}, 8, true},
    {"one_filter", {1, 5, 4, 6}, 1, {3, 3}, {2, 2}, {0, 0, 0, 0}, {0, 0}, {1, 1}, 1, true},
    // Inputs smaller than the kernel: the gather runs over input positions instead of taps.
    {"input_1x1_k5", {3, 12, 1, 1}, 6, {5, 5}, {1, 1}, {0, 0, 0, 0}, {0, 0}, {1, 1}, 1, true},
    {"input_2x2_k3_taps_miss", {2, 8, 2, 2}, 5, {3, 3}, {1, 1}, {0, 0, 0, 0}, {0, 0}, {1, 1}, 1, true},
    {"input_1x2_s2_groups2", {1, 6, 1, 2}, 4, {3, 4}, {2, 2}, {1, 0, 0, 1}, {0, 0}, {1, 1}, 2, false},
};

TEST_P(ConvTransposeTest, MatchesReference) {
  const ConvTransposeCase &c = GetParam();
  Graph g(testRng());
  auto x = g.input(c.input);
  auto y = g.convTranspose(x, c.filters, c.kernel, c.strides, c.padding, c.outputPadding, c.dilations, c.groups,
                           c.bias);
  expectMatchesReference(g, {y});
}

INSTANTIATE_TEST_SUITE_P(Halide, ConvTransposeTest, ::testing::ValuesIn(convTransposeCases),
                         [](const auto &info) { return std::string(info.param.name); });

TEST(HalideOps, ConvTransposeThenRelu) {
  Graph g(testRng());
  auto x = g.input({2, 4, 5, 5});
  expectMatchesReference(g, {g.unary("relu", g.convTranspose(x, 3, {3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}))});
}

TEST(HalideOps, ResizeNearestAndBilinear) {
  Graph g(testRng());
  auto x = g.input({2, 3, 5, 7});
  expectMatchesReference(g, {g.resize(x, "nearest", 10, 14), g.resize(x, "nearest", 15, 21),
                             g.resize(x, "nearest", 8, 9), g.resize(x, "bilinear", 10, 14),
                             g.resize(x, "bilinear", 10, 14, true), g.resize(x, "bilinear", 11, 3),
                             g.resize(x, "bilinear", 9, 20, true), g.resize(x, "bilinear", 1, 1, true)});
}

TEST(HalideOps, LRN) {
  Graph g(testRng());
  auto x = g.input({2, 19, 5, 7});
  expectMatchesReference(g, {g.lrn(x, 5), g.lrn(x, 2, 0.5f, 0.6f, 2.0f), g.lrn(x, 1), g.lrn(x, 25)});
}

TEST(HalideOps, BinaryBroadcasting) {
  Graph g(testRng());
  auto a = g.input({2, 6, 5, 7});
  auto b = g.input({2, 6, 5, 7});
  auto perChannel = g.input({6, 1, 1});
  auto row = g.input({7});
  auto column = g.input({2, 1, 5, 1});
  auto m = g.input({3, 1});
  auto n = g.input({4});
  expectMatchesReference(g, {g.binary("add", a, b), g.binary("sub", a, perChannel), g.binary("mul", perChannel, a),
                             g.binary("div", a, g.param({7}, 0.5f, 2.0f)), g.binary("div", g.param({6, 1, 1}), b),
                             g.binary("max", a, column), g.binary("min", column, row), g.binary("mul", m, n)});
}

TEST(HalideOps, BinaryFusesIntoConv) {
  Graph g(testRng());
  auto x = g.input({1, 5, 9, 9});
  auto s = g.input({7, 1, 1});
  auto c = g.conv(x, 7, {3, 3}, {2, 2}, {1, 1, 1, 1});
  expectMatchesReference(g, {g.binary("mul", g.binary("sub", c, s), s)});
}

TEST(HalideOps, SumAndMean) {
  Graph g(testRng());
  auto a = g.input({2, 5, 3, 7});
  auto b = g.input({2, 5, 3, 7});
  auto c = g.input({2, 5, 3, 7});
  auto v = g.input({3, 11});
  expectMatchesReference(g, {g.variadic("sum", {a, b, c}), g.variadic("mean", {a, b, c}), g.variadic("mean", {a}),
                             g.variadic("sum", {v, v})});
}

TEST(HalideOps, ClipHardSigmoidHardSwish) {
  Graph g(testRng());
  auto x = g.input({2, 5, 7, 3});
  auto big = g.binary("mul", x, g.input({1}));
  expectMatchesReference(g, {g.unaryWith("clip", x, "{min = -0.5 : f32, max = 0.25 : f32}"),
                             g.unaryWith("hard_sigmoid", big, "{alpha = 0.2 : f32, beta = 0.5 : f32}"),
                             g.unaryWith("hard_swish", big, ""), g.unaryWith("hard_swish", g.input({3, 17}), "")});
}

TEST(HalideOps, LogSoftmaxAndGlobalMaxPool) {
  Graph g(testRng());
  auto x = g.input({2, 5, 3, 7});
  auto v = g.input({3, 10});
  expectMatchesReference(g, {g.unaryWith("log_softmax", v, "{axis = 1 : i64}"),
                             g.unaryWith("log_softmax", x, "{axis = 1 : i64}"),
                             g.unaryWith("log_softmax", x, "{axis = 3 : i64}"), g.globalMaxPool(x)});
}

TEST(HalideOps, PadAndReshape) {
  Graph g(testRng());
  auto x = g.input({2, 3, 5, 7});
  auto v = g.input({6, 4});
  expectMatchesReference(g, {g.pad(x, {0, 0, 1, 2, 0, 1, 2, 0}, 0.0f), g.pad(x, {1, 0, 0, 0, 0, 2, 0, 3}, -1.5f),
                             g.pad(v, {1, 0, 2, 3}, 2.0f), g.reshape(x, {2, 105}), g.reshape(x, {6, 5, 7}),
                             g.reshape(x, {7, 3, 5, 2}), g.reshape(v, {2, 3, 2, 2}), g.reshape(v, {24})});
}
} // namespace
} // namespace kiln::test
