// Tests that nn.unary (each of the 23 functions, standalone at ranks 1 to 6 and fused into a conv),
// its gradient nn.unary_grad, and the binary nn.pow / nn.prelu (broadcast operands on either
// side, constant exponents) lowered to Halide match the reference interpreter on fresh random
// inputs, including large |x| where softplus, elu, selu, celu and mish must stay accurate.
#include "graph_builder.h"

#include "kiln/Dialect/NN/ShapeRules.h"

namespace kiln::test {
namespace {

using V = Graph::V;

struct UnaryCase {
  std::string fn;
  float alpha = 1.0f, beta = 1.0f;
  float lo = -6.0f, hi = 6.0f; ///< the range of the random inputs
};

void PrintTo(const UnaryCase &c, std::ostream *os) { *os << c.fn; }

std::string attributes(const UnaryCase &c) {
  std::ostringstream os;
  os.precision(9);
  os << "{fn = \"" << c.fn << "\", alpha = " << std::scientific << c.alpha << " : f32, beta = " << c.beta
     << " : f32}";
  return os.str();
}

V unary(Graph &g, V x, const UnaryCase &c) {
  return g.op(x.shape, "nn.unary " + x.name + " " + attributes(c) + " : " + typeOf(x.shape));
}

/// Random data in [c.lo, c.hi], with the first elements set to far-out and special values inside
/// the function's domain (halves for round, zero, +-30, +-100).
HostTensor unaryInput(Graph &g, const Shape &shape, const UnaryCase &c) {
  HostTensor t = g.random(shape, c.lo, c.hi);
  std::vector<float> special = {0.5f, 1.5f, 2.5f, -0.5f, -2.5f, 0.0f, 30.0f, -30.0f, 100.0f, -100.0f, 1e-4f, -1e-4f};
  size_t k = 0;
  for (float value : special)
    if (value >= c.lo && value <= c.hi && k < t.data.size())
      t.data[k++] = value;
  return t;
}

const UnaryCase unaryCases[] = {
    {"exp", 1, 1, -20, 20},
    {"log", 1, 1, 1e-3f, 50},
    {"sqrt", 1, 1, 1e-3f, 50}, // away from 0, where the derivative is infinite
    {"abs"},
    {"erf", 1, 1, -5, 5},
    {"floor"},
    {"ceil"},
    {"neg"},
    {"reciprocal", 1, 1, 0.05f, 5},
    {"round"},
    {"sign"},
    {"step"},
    {"pow", 3.0f},
    {"pow", 2.0f},
    {"pow", -2.0f, 1, 0.2f, 5},
    {"pow", 0.5f, 1, 1e-3f, 9},
    {"pow", 1.7f, 1, 0, 9},
    {"elu", 0.7f, 1, -120, 120},
    {"selu", 1.67326319f, 1.05070102f, -120, 120},
    {"celu", 1.5f, 1, -120, 120},
    {"softplus", 1, 1, -120, 120},
    {"softsign", 1, 1, -120, 120},
    {"mish", 1, 1, -120, 120},
    {"gelu"},
    {"gelu_tanh"},
    {"thresholded_relu", 0.3f},
    {"silu", 1, 1, -120, 120},
    {"affine", -0.7f, 0.3f},
};

class UnaryTest : public ::testing::TestWithParam<UnaryCase> {};

TEST_P(UnaryTest, StandaloneAtEveryRank) {
  const UnaryCase &c = GetParam();
  Graph g(testRng());
  std::vector<V> outputs;
  for (Shape shape : {Shape{37}, Shape{3, 21}, Shape{2, 5, 17}, Shape{2, 3, 5, 7}, Shape{2, 1, 3, 5, 7},
                      Shape{1, 2, 3, 2, 3, 5}})
    outputs.push_back(unary(g, g.input(unaryInput(g, shape, c)), c));
  expectMatchesReference(g, outputs);
}

TEST_P(UnaryTest, FusedIntoConvAndDense) {
  const UnaryCase &c = GetParam();
  Graph g(testRng());
  // Scaled so the conv's outputs cover the function's range; kept positive where it must be.
  const float scale = std::max(std::fabs(c.lo), std::fabs(c.hi));
  auto x = g.input(g.random({2, 5, 9, 9}, 0.0f, scale / 3.0f));
  auto conv = g.conv(x, 19, {3, 3}, {2, 2}, {1, 1, 1, 1});
  auto v = g.input(g.random({3, 21}, 0.0f, scale / 5.0f));
  auto dense = g.dense(v, 20);
  if (c.lo >= 0.0f) { // into the domain, away from 0: |y| + 0.1 (also fused)
    conv = g.binary("add", unary(g, conv, {"abs"}), g.param({1}, 0.1f, 0.1f));
    dense = g.binary("add", unary(g, dense, {"abs"}), g.param({1}, 0.1f, 0.1f));
  }
  expectMatchesReference(g, {unary(g, conv, c), unary(g, dense, c)});
}

TEST_P(UnaryTest, GradientMatchesReference) {
  const UnaryCase &c = GetParam();
  Graph g(testRng());
  std::vector<V> outputs;
  for (Shape shape : {Shape{3, 21}, Shape{2, 3, 5, 7}, Shape{2, 1, 3, 5, 7}}) {
    auto x = g.input(unaryInput(g, shape, c));
    auto dy = g.input(shape);
    outputs.push_back(g.op(shape, "nn.unary_grad " + x.name + ", " + dy.name + " " + attributes(c) + " : (" +
                                      typeOf(shape) + ", " + typeOf(shape) + ") -> " + typeOf(shape)));
  }
  expectMatchesReference(g, outputs);
}

INSTANTIATE_TEST_SUITE_P(Halide, UnaryTest, ::testing::ValuesIn(unaryCases), [](const auto &info) {
  std::string name = info.param.fn + "_" + std::to_string(info.index);
  return name;
});

TEST(HalideUnaryOps, EveryFunctionIsTested) {
  for (llvm::StringRef fn : nn::unaryFunctions())
    EXPECT_TRUE(std::any_of(std::begin(unaryCases), std::end(unaryCases),
                            [&](const UnaryCase &c) { return c.fn == fn.str(); }))
        << fn.str();
}

TEST(HalideUnaryOps, SmallResultsStayAccurate) {
  // Where the result is tiny next to |x| (softplus and mish far left, elu / selu / celu just below
  // 0), a relative L2 over a wide range cannot see a lost digit: each range alone.
  struct Tail {
    UnaryCase c;
    float lo, hi;
  };
  const Tail tails[] = {{{"softplus"}, -40, -20}, {{"mish"}, -40, -20}, {{"silu"}, -80, -20},
                        {{"elu", 0.7f}, -1e-4f, 0}, {{"selu", 1.67326319f, 1.05070102f}, -1e-4f, 0},
                        {{"celu", 1.5f}, -1e-4f, 0}};
  Graph g(testRng());
  std::vector<V> outputs;
  for (const Tail &t : tails)
    outputs.push_back(unary(g, g.input(g.random({3, 37}, t.lo, t.hi)), t.c));
  expectMatchesReference(g, outputs);
}

TEST(HalideUnaryOps, GradientFusesIntoItsProducer) {
  Graph g(testRng());
  auto x = g.input({2, 5, 9, 9});
  auto dy = g.conv(g.input({2, 3, 9, 9}), 5, {3, 3}, {1, 1}, {1, 1, 1, 1});
  Shape s = x.shape;
  auto dx = g.op(s, "nn.unary_grad " + x.name + ", " + dy.name + " {fn = \"gelu\"} : (" + typeOf(s) + ", " +
                        typeOf(s) + ") -> " + typeOf(s));
  expectMatchesReference(g, {dx});
}

TEST(HalideBinaryOps, PowAndPReluBroadcastOnEitherSide) {
  Graph g(testRng());
  auto a = g.input(g.random({2, 6, 5, 7}, 0.1f, 3.0f));
  auto b = g.input(g.random({2, 6, 5, 7}, -2.0f, 2.0f));
  auto perChannel = g.input(g.random({6, 1, 1}, -1.0f, 1.0f));
  auto row = g.input(g.random({7}, 0.5f, 2.0f));
  auto signedBase = g.input({2, 6, 5, 7});
  auto integers = g.param({1, 6, 1, 1}, 0.0f, 0.0f); // the first parameter: "p0"
  // Exponents 0, 1, ..., 5 per channel: negative bases with integer exponents.
  for (int64_t c = 0; c < 6; ++c)
    g.weights["p0"].data[c] = static_cast<float>(c);
  auto m = g.input(g.random({3, 1}, 0.5f, 2.0f));
  auto n = g.input({4});
  expectMatchesReference(g, {g.binary("pow", a, b), g.binary("pow", a, perChannel), g.binary("pow", row, b),
                             g.binary("pow", signedBase, integers), g.binary("prelu", b, perChannel),
                             g.binary("prelu", perChannel, b), g.binary("prelu", m, n), g.binary("pow", m, n)});
}

TEST(HalideBinaryOps, PowByConstantExponents) {
  Graph g(testRng());
  auto x = g.input({2, 5, 3, 7});
  auto positive = g.input(g.random({3, 17}, 0.0f, 4.0f));
  std::vector<V> outputs;
  for (float exponent : {2.0f, 3.0f, -1.0f, 0.5f, -0.5f, 0.0f, 7.0f, 1.5f}) {
    auto e = g.param({1}, exponent, exponent);
    bool needsPositive = exponent != std::floor(exponent) || exponent < 0.0f;
    outputs.push_back(g.binary("pow", needsPositive ? positive : x, e));
  }
  expectMatchesReference(g, outputs);
}

TEST(HalideBinaryOps, PReluFusesIntoConv) {
  Graph g(testRng());
  auto x = g.input({1, 5, 9, 9});
  auto slope = g.param({7, 1, 1});
  expectMatchesReference(g, {g.binary("prelu", g.conv(x, 7, {3, 3}, {1, 1}, {1, 1, 1, 1}), slope)});
}

} // namespace
} // namespace kiln::test
