// Tests every backward rule nn-autodiff writes for the ops of PyTorch-exported CNNs beyond the
// classic layers: each op alone, every operand a trained parameter (or a constant input where a
// model has one), odd shapes, batch > 1 and broadcast operands, against central differences of
// the train step's loss (TrainStepGradients.h).
#include "TrainStepGradients.h"

#include "../test_support.h"

#include "kiln/Dialect/NN/ShapeRules.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringRef.h"

#include <gtest/gtest.h>

using namespace kiln;
using namespace kiln::test;

namespace {

std::string ints(std::initializer_list<int64_t> values) { return test::ints(std::vector<int64_t>(values)); }

// --- nn.unary: every function ---

struct UnaryCase {
  const char *fn;
  double alpha, beta, lo, hi;
  std::vector<double> kinks; ///< where the function or its derivative jumps
};

void PrintTo(const UnaryCase &c, std::ostream *os) { *os << c.fn; }

std::vector<UnaryCase> unaryCases() {
  const std::vector<double> integers{-2, -1, 0, 1, 2}, halves{-1.5, -0.5, 0.5, 1.5};
  return {{"exp", 1, 1, -2, 2, {}},           {"log", 1, 1, 0.5, 3, {}},
          {"sqrt", 1, 1, 0.5, 3, {}},         {"abs", 1, 1, -2, 2, {0}},
          {"erf", 1, 1, -2, 2, {}},           {"floor", 1, 1, -2, 2, integers},
          {"ceil", 1, 1, -2, 2, integers},    {"neg", 1, 1, -2, 2, {}},
          {"reciprocal", 1, 1, -2, 2, {0}},   {"round", 1, 1, -2, 2, halves},
          {"sign", 1, 1, -2, 2, {0}},         {"step", 1, 1, -2, 2, {0}},
          {"pow", 3, 1, -2, 2, {}},           {"pow", 2.5, 1, 0.5, 2, {}},
          {"elu", 0.7, 1, -2, 2, {0}},        {"selu", 1.6732632, 1.0507009, -2, 2, {0}},
          {"celu", 0.8, 1, -2, 2, {0}},       {"softplus", 1, 1, -3, 3, {}},
          {"softsign", 1, 1, -3, 3, {0}},     {"mish", 1, 1, -3, 3, {}},
          {"gelu", 1, 1, -3, 3, {}},          {"gelu_tanh", 1, 1, -3, 3, {}},
          {"thresholded_relu", 0.4, 1, -2, 2, {0.4}}, {"silu", 1, 1, -3, 3, {}},
          {"affine", 0.7, -0.3, -2, 2, {}}};
}

class UnaryRule : public ::testing::TestWithParam<UnaryCase> {};

TEST_P(UnaryRule, MatchesFiniteDifferences) {
  const UnaryCase &c = GetParam();
  // The margin keeps 1/x's inputs away from 0, where it is steep.
  const double margin = std::string(c.fn) == "reciprocal" ? 0.8 : 0.05;
  std::mt19937 rng = testRng();
  ForwardModel m;
  auto x = m.param("x", randomAvoiding({2, 3, 5}, rng, c.lo, c.hi, c.kinks, margin));
  auto y = m.op("unary", {x}, {2, 3, 5},
                "fn = \"" + std::string(c.fn) + "\", alpha = " + std::to_string(c.alpha) +
                    " : f32, beta = " + std::to_string(c.beta) + " : f32");
  m.expectGradients(y, rng, kSmooth);
}

INSTANTIATE_TEST_SUITE_P(EveryFunction, UnaryRule, ::testing::ValuesIn(unaryCases()),
                         [](const auto &info) { return std::string(info.param.fn) + std::to_string(info.index); });

TEST(UnaryRule, CoversEveryFunction) {
  for (llvm::StringRef fn : nn::unaryFunctions())
    EXPECT_TRUE(llvm::any_of(unaryCases(), [&](const UnaryCase &c) { return fn == c.fn; })) << fn.str();
}

// --- Binary ops with numpy broadcasting ---

struct BroadcastCase {
  const char *name;
  std::vector<int64_t> lhs, rhs, result;
};

void PrintTo(const BroadcastCase &c, std::ostream *os) { *os << c.name; }

const BroadcastCase kBroadcasts[] = {{"same", {2, 3, 5}, {2, 3, 5}, {2, 3, 5}},
                                     {"rhs_column", {2, 3, 5}, {3, 1}, {2, 3, 5}},
                                     {"lhs_row", {5}, {2, 3, 5}, {2, 3, 5}},
                                     {"both", {2, 1, 5}, {3, 1}, {2, 3, 5}},
                                     {"per_channel_nchw", {2, 3, 5, 3}, {3, 1, 1}, {2, 3, 5, 3}}};

/// One binary op on two parameters drawn by `values` (lhs then rhs), for each broadcast case.
class BinaryRule : public ::testing::TestWithParam<BroadcastCase> {
protected:
  void check(const std::string &op,
             const std::function<std::pair<HostTensor, HostTensor>(const BroadcastCase &, std::mt19937 &)> &values) {
    const BroadcastCase &c = GetParam();
    std::mt19937 rng = testRng();
    auto [lhs, rhs] = values(c, rng);
    ForwardModel m;
    auto a = m.param("a", lhs);
    auto b = m.param("b", rhs);
    m.expectGradients(m.op(op, {a, b}, c.result), rng, kSmooth);
  }
  static std::pair<HostTensor, HostTensor> uniform(const BroadcastCase &c, std::mt19937 &rng) {
    return {randomTensor(c.lhs, rng), randomTensor(c.rhs, rng)};
  }
};

TEST_P(BinaryRule, Add) { check("add", uniform); }
TEST_P(BinaryRule, Sub) { check("sub", uniform); }
TEST_P(BinaryRule, Mul) { check("mul", uniform); }
TEST_P(BinaryRule, Div) {
  check("div", [](const BroadcastCase &c, std::mt19937 &rng) {
    return std::pair{randomTensor(c.lhs, rng), randomAwayFromZero(c.rhs, rng, 0.8)};
  });
}
/// Values 0.05 apart across both operands: no tie within the step.
std::pair<HostTensor, HostTensor> distinct(const BroadcastCase &c, std::mt19937 &rng) {
  HostTensor both = randomDistinct({HostTensor::numElements(c.lhs) + HostTensor::numElements(c.rhs)}, rng, 0.05);
  HostTensor lhs(c.lhs), rhs(c.rhs);
  std::copy_n(both.data.begin(), lhs.size(), lhs.data.begin());
  std::copy(both.data.begin() + lhs.size(), both.data.end(), rhs.data.begin());
  return {lhs, rhs};
}
TEST_P(BinaryRule, Max) { check("max", distinct); }
TEST_P(BinaryRule, Min) { check("min", distinct); }
TEST_P(BinaryRule, Pow) {
  check("pow", [](const BroadcastCase &c, std::mt19937 &rng) {
    return std::pair{randomTensor(c.lhs, rng, 0.7, 1.5), randomTensor(c.rhs, rng, -1.0, 2.0)};
  });
}
TEST_P(BinaryRule, PRelu) {
  check("prelu", [](const BroadcastCase &c, std::mt19937 &rng) {
    return std::pair{randomAwayFromZero(c.lhs, rng, 0.05), randomTensor(c.rhs, rng, -0.5, 0.5)};
  });
}

INSTANTIATE_TEST_SUITE_P(Broadcasts, BinaryRule, ::testing::ValuesIn(kBroadcasts),
                         [](const auto &info) { return std::string(info.param.name); });

TEST(PowRule, ConstantIntegerExponentOfANegativeBase) {
  // (x - mean)^2 of a layer norm: the exponent is a constant input, so log of the negative base
  // (its gradient) is never built.
  std::mt19937 rng = testRng();
  ForwardModel m;
  auto x = m.param("x", randomTensor({3, 7}, rng));
  HostTensor two({1});
  two.data = {2.0f};
  auto y = m.op("pow", {x, m.input("two", two)}, {3, 7});
  m.expectGradients(y, rng, kSmooth);
}

// --- Matmul with broadcast batch dimensions, ranks 2 to 5 ---

struct MatMulCase {
  const char *name;
  std::vector<int64_t> lhs, rhs, result;
};

void PrintTo(const MatMulCase &c, std::ostream *os) { *os << c.name; }

class MatMulRule : public ::testing::TestWithParam<MatMulCase> {};

TEST_P(MatMulRule, MatchesFiniteDifferences) {
  const MatMulCase &c = GetParam();
  std::mt19937 rng = testRng();
  ForwardModel m;
  auto a = m.param("a", randomTensor(c.lhs, rng));
  auto b = m.param("b", randomTensor(c.rhs, rng));
  m.expectGradients(m.op("matmul", {a, b}, c.result), rng, kLinear);
}

INSTANTIATE_TEST_SUITE_P(
    Ranks, MatMulRule,
    ::testing::Values(MatMulCase{"rank2", {3, 4}, {4, 5}, {3, 5}},
                      MatMulCase{"batch_lhs_only", {2, 3, 4}, {4, 5}, {2, 3, 5}},
                      MatMulCase{"batch_rhs_only", {3, 4}, {2, 4, 5}, {2, 3, 5}},
                      MatMulCase{"rank4_broadcast", {2, 1, 3, 4}, {3, 4, 5}, {2, 3, 3, 5}},
                      MatMulCase{"rank5_both_broadcast", {2, 3, 1, 3, 4}, {3, 2, 4, 2}, {2, 3, 2, 3, 2}}),
    [](const auto &info) { return std::string(info.param.name); });

// --- Data movement ---

TEST(TransposeRule, InversePermutation) {
  std::mt19937 rng = testRng();
  ForwardModel m;
  auto x = m.param("x", randomTensor({2, 3, 4, 5}, rng));
  auto y = m.op("transpose", {x}, {4, 2, 5, 3}, "perm = " + ints({2, 0, 3, 1}));
  m.expectGradients(y, rng, kLinear);
}

TEST(SliceRule, NegativeStepsAndStepsAboveOne) {
  std::mt19937 rng = testRng();
  ForwardModel m;
  auto x = m.param("x", randomTensor({5, 7, 6}, rng));
  auto y = m.op("slice", {x}, {3, 2, 6}, "starts = " + ints({4, 1, 5}) + ", steps = " + ints({-2, 3, -1}));
  m.expectGradients(y, rng, kLinear);
}

TEST(BroadcastRule, SumsOverRepeatedAndLeadingDimensions) {
  std::mt19937 rng = testRng();
  ForwardModel m;
  auto x = m.param("x", randomTensor({3, 1, 5}, rng));
  m.expectGradients(m.op("broadcast", {x}, {2, 3, 4, 5}), rng, kLinear);
}

TEST(PadRule, CutsThePaddingAway) {
  std::mt19937 rng = testRng();
  ForwardModel m;
  auto x = m.param("x", randomTensor({2, 3, 4}, rng));
  auto y = m.op("pad", {x}, {3, 4, 9}, "pads = " + ints({0, 1, 2, 1, 0, 3}) + ", value = 5.0e-01 : f32");
  m.expectGradients(y, rng, kLinear);
}

TEST(SumMeanRule, VariadicWithARepeatedInput) {
  std::mt19937 rng = testRng();
  for (const char *op : {"sum", "mean"}) {
    ForwardModel m;
    auto a = m.param("a", randomTensor({2, 3, 5}, rng));
    auto b = m.param("b", randomTensor({2, 3, 5}, rng));
    m.expectGradients(m.op(op, {a, b, a}, {2, 3, 5}), rng, kLinear);
  }
}

// --- Reductions ---

struct ReduceCase {
  const char *kind;
  std::vector<int64_t> axes, result;
  /// The input's values: some kinds need them positive, away from 0, or without ties.
  HostTensor (*values)(std::mt19937 &);
};

void PrintTo(const ReduceCase &c, std::ostream *os) { *os << c.kind; }

const std::vector<int64_t> kReduceInput{3, 4, 5};
HostTensor anyValues(std::mt19937 &rng) { return randomTensor(kReduceInput, rng); }
HostTensor withoutTies(std::mt19937 &rng) { return randomDistinct(kReduceInput, rng, 0.05); }
HostTensor awayFromZero(std::mt19937 &rng) { return randomAwayFromZero(kReduceInput, rng, 0.5); }
HostTensor positive(std::mt19937 &rng) { return randomTensor(kReduceInput, rng, 0.2, 1.0); }

class ReduceRule : public ::testing::TestWithParam<ReduceCase> {};

TEST_P(ReduceRule, MatchesFiniteDifferences) {
  const ReduceCase &c = GetParam();
  std::mt19937 rng = testRng();
  ForwardModel m;
  auto x = m.param("x", c.values(rng));
  auto y = m.op("reduce", {x}, c.result, "kind = \"" + std::string(c.kind) + "\", axes = " + test::ints(c.axes));
  m.expectGradients(y, rng, kSmooth);
}

INSTANTIATE_TEST_SUITE_P(
    EveryKind, ReduceRule,
    ::testing::Values(ReduceCase{"sum", {0, 2}, {1, 4, 1}, anyValues}, ReduceCase{"mean", {1}, {3, 1, 5}, anyValues},
                      ReduceCase{"max", {1, 2}, {3, 1, 1}, withoutTies}, ReduceCase{"min", {0}, {1, 4, 5}, withoutTies},
                      ReduceCase{"prod", {2}, {3, 4, 1}, awayFromZero},
                      ReduceCase{"sum_square", {0, 1, 2}, {1, 1, 1}, anyValues},
                      ReduceCase{"l1", {1}, {3, 1, 5}, awayFromZero}, ReduceCase{"l2", {0, 2}, {1, 4, 1}, anyValues},
                      ReduceCase{"log_sum", {1}, {3, 1, 5}, positive},
                      ReduceCase{"log_sum_exp", {2}, {3, 4, 1}, anyValues},
                      ReduceCase{"arg_max", {1}, {3, 1, 5}, withoutTies},
                      ReduceCase{"arg_min", {2}, {3, 4, 1}, withoutTies}),
    [](const auto &info) { return std::string(info.param.kind); });

TEST(GlobalMaxPoolRule, GradientGoesToTheMaximum) {
  std::mt19937 rng = testRng();
  ForwardModel m;
  auto x = m.param("x", randomDistinct({2, 3, 4, 5}, rng, 0.05));
  m.expectGradients(m.op("global_max_pool", {x}, {2, 3, 1, 1}), rng, kPiecewiseLinear);
}

// --- Activations of MobileNets, and softmax anywhere ---

// Piecewise linear ops: their loss is quadratic between kinks, so any step is exact on one piece;
// 0.1 keeps the float rounding of the loss small, and inputs 0.12 from the kinks stay on theirs.
constexpr FiniteDifference kPiecewise{0.1, 1e-3};
constexpr double kKinkMargin = 0.12;


TEST(ClipRule, Relu6AndAnAsymmetricRange) {
  std::mt19937 rng = testRng();
  for (auto [lo, hi] : {std::pair{0.0, 6.0}, std::pair{-0.5, 0.25}}) {
    ForwardModel m;
    auto x = m.param("x", randomAvoiding({2, 3, 5}, rng, lo - 1.5, hi + 1.5, {lo, hi}, kKinkMargin));
    auto y = m.op("clip", {x}, {2, 3, 5},
                  "min = " + std::to_string(lo) + " : f32, max = " + std::to_string(hi) + " : f32");
    m.expectGradients(y, rng, kPiecewise);
  }
}

TEST(HardSigmoidRule, OnnxAndPyTorchConstants) {
  std::mt19937 rng = testRng();
  for (auto [alpha, beta] : {std::pair{0.2, 0.5}, std::pair{1.0 / 6.0, 0.5}, std::pair{-0.5, 0.25}}) {
    ForwardModel m;
    const double a = -beta / alpha, b = (1.0 - beta) / alpha;
    auto x = m.param("x", randomAvoiding({2, 3, 5}, rng, std::min(a, b) - 1.5, std::max(a, b) + 1.5, {a, b},
                                         kKinkMargin));
    auto y = m.op("hard_sigmoid", {x}, {2, 3, 5},
                  "alpha = " + std::to_string(alpha) + " : f32, beta = " + std::to_string(beta) + " : f32");
    m.expectGradients(y, rng, kPiecewise);
  }
}

TEST(LRNRule, OddAndEvenWindows) {
  std::mt19937 rng = testRng();
  for (const char *attrs : {"size = 5 : i64, alpha = 0.3 : f32, beta = 0.75 : f32, bias = 2.0 : f32",
                            "size = 2 : i64, alpha = 0.5 : f32, beta = 0.6 : f32, bias = 1.0 : f32"}) {
    ForwardModel m;
    auto x = m.param("x", randomTensor({2, 7, 3, 4}, rng));
    m.expectGradients(m.op("lrn", {x}, {2, 7, 3, 4}, attrs), rng, kSmooth);
  }
}

TEST(ResizeRule, EveryModeUpAndDown) {
  std::mt19937 rng = testRng();
  const std::vector<std::pair<std::string, std::vector<int64_t>>> cases{
      {"mode = \"nearest\", coordinate_mode = \"asymmetric\", size = " + ints({10, 7}), {2, 3, 10, 7}},
      {"mode = \"nearest\", nearest_mode = \"round_prefer_ceil\", size = " + ints({3, 2}), {2, 3, 3, 2}},
      {"mode = \"bilinear\", size = " + ints({11, 9}), {2, 3, 11, 9}},
      {"mode = \"bilinear\", coordinate_mode = \"align_corners\", size = " + ints({2, 3}), {2, 3, 2, 3}},
      {"mode = \"bicubic\", size = " + ints({9, 13}), {2, 3, 9, 13}},
      {"mode = \"bicubic\", exclude_outside = true, scales = array<f32: 0.6, 0.8>, size = " + ints({3, 3}),
       {2, 3, 3, 3}}};
  for (const auto &[attrs, shape] : cases) {
    ForwardModel m;
    auto x = m.param("x", randomTensor({2, 3, 5, 4}, rng));
    m.expectGradients(m.op("resize", {x}, shape, attrs), rng, kLinear);
  }
}

TEST(ConvTransposeRule, InputFilterAndBiasWithStridesGroupsAndPadding) {
  std::mt19937 rng = testRng();
  ForwardModel m;
  auto x = m.param("x", randomTensor({2, 4, 3, 5}, rng));
  auto w = m.param("w", randomTensor({4, 3, 3, 2}, rng));
  auto b = m.param("b", randomTensor({6}, rng));
  // groups 2: [C=4, F/groups=3] -> 6 output channels; H: (3-1)*2 - 1 - 0 + 2*(3-1) + 1 + 1 = 9,
  // W: (5-1)*1 - 0 - 1 + 1*(2-1) + 0 + 1 = 5.
  auto y = m.op("conv_transpose2d", {x, w, b}, {2, 6, 9, 5},
                "strides = " + ints({2, 1}) + ", padding = " + ints({1, 0, 0, 1}) + ", output_padding = " +
                    ints({1, 0}) + ", dilations = " + ints({2, 1}) + ", groups = 2 : i64");
  m.expectGradients(y, rng, kSmooth);
}

TEST(HardSwishRule, AllThreePieces) {
  std::mt19937 rng = testRng();
  ForwardModel m;
  auto x = m.param("x", randomAvoiding({3, 4, 5}, rng, -5.0, 5.0, {-3.0, 3.0}));
  m.expectGradients(m.op("hard_swish", {x}, {3, 4, 5}), rng, kSmooth);
}

TEST(SoftmaxRule, InTheMiddleOfANetAlongEachAxis) {
  std::mt19937 rng = testRng();
  for (const char *op : {"softmax", "log_softmax"})
    for (int64_t axis : {0, 1, 2}) {
      ForwardModel m;
      auto x = m.param("x", randomTensor({2, 5, 3}, rng, -2.0, 2.0));
      auto s = m.op(op, {x}, {2, 5, 3}, "axis = " + std::to_string(axis) + " : i64");
      auto y = m.op("mul", {s, m.param("w", randomTensor({5, 3}, rng))}, {2, 5, 3});
      m.expectGradients(y, rng, kSmooth);
    }
}

} // namespace
