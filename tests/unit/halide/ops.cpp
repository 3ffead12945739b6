// Tests that each nn op lowered to Halide (JIT, default schedule) matches the reference
// interpreter on random data, over a covering set of shapes and attributes.
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
};

TEST_P(PoolTest, MatchesReference) {
  const PoolCase &c = GetParam();
  Graph g(testRng());
  auto x = g.input(c.input);
  std::optional<bool> include;
  if (std::string(c.kind) == "avg_pool2d")
    include = c.countIncludePad;
  auto y = g.pool(c.kind, x, c.kernel, c.strides, c.padding, include);
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

} // namespace
} // namespace kiln::test
