// Tests that each nn training op lowered to Halide (JIT, default schedule) matches the reference
// interpreter on fresh random inputs over a covering grid (odd sizes, kernel 1/3/5, stride 1/2/3,
// asymmetric padding, dilation 2, groups 2 and depthwise, batch 1 and 3, ties in max pooling),
// and that fusion and the shared reductions keep results unchanged under other schedule options.
#include "graph_builder.h"

namespace kiln::test {
namespace {

using V = Graph::V;

std::string f32(double value) {
  std::ostringstream os;
  os.precision(9);
  os << std::scientific << value << " : f32";
  return os.str();
}

/// "(T1, T2, ...) -> R" for operands `operands` and result shape `result`.
std::string signature(const std::vector<V> &operands, const Shape &result) {
  std::string text = "(";
  for (size_t i = 0; i < operands.size(); ++i)
    text += (i ? ", " : "") + typeOf(operands[i].shape);
  return text + ") -> " + typeOf(result);
}

/// Appends `nn.<kind> operands {attrs} : (...) -> result`.
V training(Graph &g, const std::string &kind, const std::vector<V> &operands, const std::string &attrs,
           const Shape &result) {
  std::string names;
  for (size_t i = 0; i < operands.size(); ++i)
    names += (i ? ", " : "") + operands[i].name;
  return g.op(result, "nn." + kind + " " + names + (attrs.empty() ? "" : " {" + attrs + "}") + " : " +
                          signature(operands, result));
}

/// Class indices in [0, classes) stored as floats, one per row.
V labels(Graph &g, int64_t rows, int64_t classes) {
  HostTensor t({rows});
  std::uniform_int_distribution<int64_t> pick(0, classes - 1);
  for (float &value : t.data)
    value = static_cast<float>(pick(g.rng));
  return g.input(t, "{nn.name = \"labels\"}");
}

/// hyper = [learning rate, step].
V hyper(Graph &g, float lr, float step) {
  HostTensor t({2});
  t.data = {lr, step};
  return g.input(t, "{nn.name = \"hyper\"}");
}

// ---- conv2d_grad_filter ----

struct ConvGradCase {
  const char *name;
  Shape input;
  int64_t filters;
  std::vector<int64_t> kernel, strides, padding, dilations;
  int64_t groups;
};

void PrintTo(const ConvGradCase &c, std::ostream *os) { *os << c.name; }

class ConvGradFilterTest : public ::testing::TestWithParam<ConvGradCase> {};

const ConvGradCase convGradCases[] = {
    {"k1_s1", {1, 3, 7, 7}, 5, {1, 1}, {1, 1}, {0, 0, 0, 0}, {1, 1}, 1},
    {"k3_p1_block32", {1, 16, 11, 11}, 32, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1},
    {"k3_s2_asym_batch3", {3, 5, 13, 13}, 20, {3, 3}, {2, 2}, {1, 0, 0, 1}, {1, 1}, 1},
    {"k5_s3_asym", {1, 4, 13, 11}, 6, {5, 5}, {3, 3}, {2, 1, 0, 2}, {1, 1}, 1},
    {"k5_lenet_batch3", {3, 1, 16, 16}, 6, {5, 5}, {1, 1}, {0, 0, 0, 0}, {1, 1}, 1},
    {"k3_dilation2", {1, 8, 11, 11}, 24, {3, 3}, {1, 1}, {2, 2, 2, 2}, {2, 2}, 1},
    {"groups2", {1, 6, 7, 9}, 10, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 2},
    {"depthwise_batch3", {3, 19, 13, 13}, 19, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 19},
    {"depthwise_x2_s2", {1, 8, 11, 11}, 16, {5, 5}, {2, 2}, {2, 2, 2, 2}, {1, 1}, 8},
    {"s3_dilation_mixed", {1, 2, 13, 13}, 2, {3, 3}, {3, 3}, {1, 2, 0, 1}, {2, 1}, 1},
    {"c33_f35_k3x1_batch3", {3, 33, 7, 7}, 35, {3, 1}, {1, 1}, {1, 0, 1, 0}, {1, 1}, 1},
    {"wide_parallel", {3, 8, 30, 30}, 16, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1},
};

TEST_P(ConvGradFilterTest, MatchesReference) {
  const ConvGradCase &c = GetParam();
  Graph g(testRng());
  Shape wShape = {c.filters, c.input[1] / c.groups, c.kernel[0], c.kernel[1]};
  std::string why;
  auto out = nn::inferConv2DShape(c.input, wShape, std::nullopt, c.strides, c.padding, c.dilations, c.groups, why);
  ASSERT_TRUE(mlir::succeeded(out)) << why;
  auto x = g.input(c.input);
  auto dy = g.input(Shape(out->begin(), out->end()));
  auto dw = training(g, "conv2d_grad_filter", {x, dy},
                     "strides = " + ints(c.strides) + ", padding = " + ints(c.padding) +
                         ", dilations = " + ints(c.dilations) + ", groups = " + std::to_string(c.groups) + " : i64",
                     wShape);
  expectMatchesReference(g, {dw});
}

INSTANTIATE_TEST_SUITE_P(Halide, ConvGradFilterTest, ::testing::ValuesIn(convGradCases),
                         [](const auto &info) { return std::string(info.param.name); });

// ---- dense and bias gradients ----

TEST(HalideTrainingOps, DenseGradInputAndWeight) {
  for (Shape nkm : {Shape{3, 37, 84}, Shape{1, 5, 3}, Shape{4, 130, 10}, Shape{3, 2, 70}}) {
    Graph g(testRng());
    const int64_t N = nkm[0], K = nkm[1], M = nkm[2];
    auto x = g.input({N, K});
    auto w = g.input({M, K});
    auto dy = g.input({N, M});
    expectMatchesReference(g, {training(g, "dense_grad_input", {dy, w}, "", {N, K}),
                               training(g, "dense_grad_weight", {x, dy}, "", {M, K})});
  }
}

TEST(HalideTrainingOps, BiasGradRanks2And4) {
  Graph g(testRng());
  auto a = g.input({3, 13});
  auto b = g.input({3, 7, 5, 9});
  auto c = g.input({1, 3, 11, 11});  // fewer channels than a vector
  auto d = g.input({3, 20, 33, 17}); // large enough for parallel partial sums
  auto e = g.input({2, 5, 9});       // rank 3: channels are not innermost
  expectMatchesReference(g, {training(g, "bias_grad", {a}, "", {13}), training(g, "bias_grad", {b}, "", {7}),
                             training(g, "bias_grad", {c}, "", {3}), training(g, "bias_grad", {d}, "", {20}),
                             training(g, "bias_grad", {e}, "", {5})});
}

// ---- pooling gradients ----

struct PoolGradCase {
  const char *name;
  const char *kind; ///< max_pool2d or avg_pool2d
  Shape input;
  std::vector<int64_t> kernel, strides, padding;
  bool countIncludePad;
  bool ceilMode = false;
};

void PrintTo(const PoolGradCase &c, std::ostream *os) { *os << c.name; }

class PoolGradTest : public ::testing::TestWithParam<PoolGradCase> {};

const PoolGradCase poolGradCases[] = {
    {"max_k2_s2_floor", "max_pool2d", {1, 6, 7, 7}, {2, 2}, {2, 2}, {0, 0, 0, 0}, false},
    {"max_k3_s2_p1_batch3", "max_pool2d", {3, 20, 13, 13}, {3, 3}, {2, 2}, {1, 1, 1, 1}, false},
    {"max_k3_s1_overlap", "max_pool2d", {2, 5, 9, 11}, {3, 3}, {1, 1}, {1, 1, 1, 1}, false},
    {"max_asym_pad_c1", "max_pool2d", {1, 1, 11, 9}, {3, 2}, {1, 1}, {0, 1, 1, 0}, false},
    {"max_k5_s3", "max_pool2d", {1, 4, 13, 13}, {5, 5}, {3, 3}, {2, 2, 1, 1}, false},
    {"max_ceil_k3_s2_batch2", "max_pool2d", {2, 5, 8, 10}, {3, 3}, {2, 2}, {0, 0, 0, 0}, false, true},
    {"max_ceil_p1_asym", "max_pool2d", {1, 3, 9, 6}, {2, 3}, {2, 2}, {1, 0, 1, 1}, false, true},
    {"avg_include_pad", "avg_pool2d", {1, 17, 11, 11}, {3, 3}, {2, 2}, {1, 1, 1, 1}, true},
    {"avg_exclude_pad_batch3", "avg_pool2d", {3, 17, 11, 11}, {3, 3}, {2, 2}, {1, 1, 1, 1}, false},
    {"avg_exclude_asym_c3", "avg_pool2d", {1, 3, 7, 13}, {2, 3}, {1, 3}, {1, 0, 0, 2}, false},
    {"avg_k5_s3_include", "avg_pool2d", {1, 5, 13, 13}, {5, 5}, {3, 3}, {2, 2, 1, 1}, true},
    {"avg_k1_s2", "avg_pool2d", {1, 4, 9, 9}, {1, 1}, {2, 2}, {0, 0, 0, 0}, true},
    {"avg_ceil_include_pad", "avg_pool2d", {2, 17, 8, 10}, {3, 3}, {2, 2}, {1, 1, 1, 1}, true, true},
    {"avg_ceil_exclude_pad", "avg_pool2d", {1, 4, 9, 11}, {2, 3}, {2, 3}, {0, 1, 0, 1}, false, true},
    {"avg_ceil_include_nopad", "avg_pool2d", {1, 3, 7, 7}, {2, 2}, {2, 2}, {0, 0, 0, 0}, true, true},
};

/// The pool's attributes and its output shape.
std::string poolAttrs(const PoolGradCase &c, Shape &out) {
  std::string why;
  auto shape = nn::inferPool2DShape(c.input, c.kernel, c.strides, c.padding, why, c.ceilMode);
  EXPECT_TRUE(mlir::succeeded(shape)) << why;
  out.assign(shape->begin(), shape->end());
  std::string attrs =
      "kernel = " + ints(c.kernel) + ", strides = " + ints(c.strides) + ", padding = " + ints(c.padding);
  if (std::string(c.kind) == "avg_pool2d")
    attrs += std::string(", count_include_pad = ") + (c.countIncludePad ? "true" : "false");
  if (c.ceilMode)
    attrs += ", ceil_mode = true";
  return attrs;
}

TEST_P(PoolGradTest, MatchesReference) {
  const PoolGradCase &c = GetParam();
  Graph g(testRng());
  Shape out;
  std::string attrs = poolAttrs(c, out);
  auto dy = g.input(out);
  if (std::string(c.kind) == "max_pool2d") {
    auto x = g.input(c.input);
    expectMatchesReference(g, {training(g, "max_pool2d_grad", {x, dy}, attrs, c.input)});
  } else {
    expectMatchesReference(g, {training(g, "avg_pool2d_grad", {dy}, attrs, c.input)});
  }
}

INSTANTIATE_TEST_SUITE_P(Halide, PoolGradTest, ::testing::ValuesIn(poolGradCases),
                         [](const auto &info) { return std::string(info.param.name); });

TEST(HalideTrainingOps, MaxPoolGradTiesGoToTheFirstMaximum) {
  // Inputs from {0, 0.5, 1} (many windows hold their maximum twice) and all-equal windows.
  for (const PoolGradCase &c :
       {PoolGradCase{"", "max_pool2d", {2, 3, 9, 9}, {3, 3}, {1, 1}, {1, 1, 1, 1}, false},
        PoolGradCase{"", "max_pool2d", {1, 4, 8, 7}, {2, 3}, {2, 2}, {0, 1, 1, 0}, false, true}}) {
    Graph g(testRng());
    Shape out;
    std::string attrs = poolAttrs(c, out);
    HostTensor x = g.random(c.input, 0.0f, 1.0f);
    for (float &value : x.data)
      value = std::round(value * 2.0f) / 2.0f;
    auto dy = g.input(out);
    auto quantised = g.input(x);
    auto constant = g.input(HostTensor(c.input));
    expectMatchesReference(g, {training(g, "max_pool2d_grad", {quantised, dy}, attrs, c.input),
                               training(g, "max_pool2d_grad", {constant, dy}, attrs, c.input)});
  }
}

TEST(HalideTrainingOps, GlobalAvgPoolGrad) {
  Graph g(testRng());
  auto dy = g.input({2, 19, 1, 1});
  auto one = g.input({1, 3, 1, 1});
  expectMatchesReference(g, {training(g, "global_avg_pool_grad", {dy}, "", {2, 19, 7, 5}),
                             training(g, "global_avg_pool_grad", {one}, "", {1, 3, 1, 1})});
}

// ---- losses ----

TEST(HalideTrainingOps, SoftmaxCrossEntropyAndGrad) {
  for (Shape nk : {Shape{4, 10}, Shape{1, 3}, Shape{3, 37}, Shape{5, 1000}}) {
    Graph g(testRng());
    auto z = g.input(g.random(nk, -4.0f, 4.0f));
    auto y = labels(g, nk[0], nk[1]);
    // The gradient p - onehot cancels where the label's p is near 1: then every component is
    // about 1 - p (>= 6.7e-4 for logits in [-4, 4]), and float's rounding of p (a few 6e-8) is up
    // to ~3e-4 of it (seen: 1.1e-5 on a row of 3). A wrong formula is off by O(1).
    expectMatchesReference(g,
                           {training(g, "softmax_cross_entropy", {z, y}, "", {1}),
                            training(g, "softmax_cross_entropy_grad", {z, y}, "", nk)},
                           {}, 1e-3);
  }
}

TEST(HalideTrainingOps, MseLossAndGrad) {
  for (Shape shape : {Shape{4, 30}, Shape{1, 1}, Shape{3, 5, 7, 9}, Shape{2, 3, 11}}) {
    Graph g(testRng());
    auto p = g.input(shape);
    auto t = g.input(shape);
    expectMatchesReference(g,
                           {training(g, "mse_loss", {p, t}, "", {1}), training(g, "mse_loss_grad", {p, t}, "", shape)});
  }
}

// ---- training forms ----

TEST(HalideTrainingOps, ActivationGrads) {
  Graph g(testRng());
  auto y = g.input({2, 5, 7, 3});
  auto dy = g.input({2, 5, 7, 3});
  auto y2 = g.input({3, 21});
  auto dy2 = g.input({3, 21});
  std::vector<V> outputs;
  for (const char *activation : {"relu", "leaky_relu", "tanh", "sigmoid"}) {
    std::string attrs = "activation = \"" + std::string(activation) + "\"";
    if (std::string(activation) == "leaky_relu")
      attrs += ", alpha = " + f32(0.1);
    outputs.push_back(training(g, "activation_grad", {y, dy}, attrs, y.shape));
    outputs.push_back(training(g, "activation_grad", {y2, dy2}, attrs, y2.shape));
  }
  expectMatchesReference(g, outputs);
}

TEST(HalideTrainingOps, DropoutTrainMatchesTheHashMask) {
  Graph g(testRng());
  auto x = g.input({3, 32, 9, 7});
  auto v = g.input({5, 37});
  auto h = hyper(g, 0.1f, 7.0f);
  std::vector<V> outputs;
  for (double rate : {0.5, 0.1, 0.0, 0.9})
    for (const V &input : {x, v})
      outputs.push_back(training(g, "dropout_train", {input, h},
                                 "rate = " + f32(rate) + ", seed = " + std::to_string(outputs.size() * 977) + " : i64",
                                 input.shape));
  auto actual = expectMatchesReference(g, outputs);
  ASSERT_EQ(actual.size(), outputs.size());
  // rate 0.5 on the 6048-element tensor keeps about half.
  int64_t kept = std::count_if(actual[0].data.begin(), actual[0].data.end(), [](float value) { return value != 0.0f; });
  EXPECT_NEAR(static_cast<double>(kept) / actual[0].data.size(), 0.5, 0.05);
}

TEST(HalideTrainingOps, BatchNormTrainingOps) {
  for (Shape shape : {Shape{3, 7, 5, 9}, Shape{5, 13}, Shape{1, 3, 11, 11}, Shape{4, 20, 17, 15}}) {
    Graph g(testRng());
    const Shape channels = {shape[1]};
    auto x = g.input(g.random(shape, -2.0f, 3.0f));
    auto dy = g.input(shape);
    auto scale = g.input(g.random(channels, 0.5f, 1.5f));
    auto shift = g.input(channels);
    auto running = g.input(g.random(channels, 0.0f, 1.0f));
    std::string eps = "epsilon = " + f32(1e-5);
    expectMatchesReference(g, {training(g, "batch_norm_train", {x, scale, shift}, eps, shape),
                               training(g, "batch_norm_grad_input", {x, scale, dy}, eps, shape),
                               training(g, "batch_norm_grad_scale", {x, dy}, eps, channels),
                               training(g, "running_stat_update", {running, x},
                                        "momentum = " + f32(0.1) + ", statistic = \"mean\"", channels),
                               training(g, "running_stat_update", {running, x},
                                        "momentum = " + f32(0.1) + ", statistic = \"var\"", channels)});
  }
}

TEST(HalideTrainingOps, Slice) {
  Graph g(testRng());
  auto x = g.input({2, 9, 5, 7});
  auto v = g.input({3, 11});
  auto attrs = [](const std::string &starts, const std::string &steps) {
    return "starts = array<i64: " + starts + ">, steps = array<i64: " + steps + ">";
  };
  expectMatchesReference(g, {training(g, "slice", {x}, attrs("0, 3, 0, 0", "1, 1, 1, 1"), {2, 4, 5, 7}),
                             training(g, "slice", {x}, attrs("1, 0, 0, 0", "1, 1, 1, 1"), {1, 9, 5, 7}),
                             training(g, "slice", {x}, attrs("0, 0, 0, 2", "1, 1, 1, 1"), {2, 9, 5, 5}),
                             training(g, "slice", {x}, attrs("1, 8, 4, 1", "-1, -2, -1, 3"), {2, 5, 3, 2}),
                             training(g, "slice", {v}, attrs("0, 0", "1, 1"), {3, 6}),
                             training(g, "slice", {v}, attrs("2, 6", "-1, 2"), {3, 3})});
}

// ---- optimizers ----

struct OptimizerCase {
  const char *name;
  const char *optimizer;
  int slots;
  const char *attrs; ///< extra attributes, without the optimizer and which
};

void PrintTo(const OptimizerCase &c, std::ostream *os) { *os << c.name; }

class OptimizerTest : public ::testing::TestWithParam<OptimizerCase> {};

const OptimizerCase optimizerCases[] = {
    {"sgd", "sgd", 0, ""},
    {"sgd_weight_decay", "sgd", 0, ", weight_decay = 1.0e-02 : f32"},
    {"momentum", "momentum", 1, ", momentum = 9.0e-01 : f32"},
    {"momentum_weight_decay", "momentum", 1, ", momentum = 9.0e-01 : f32, weight_decay = 5.0e-04 : f32"},
    {"nesterov", "nesterov", 1, ", momentum = 9.0e-01 : f32, weight_decay = 1.0e-02 : f32"},
    {"rmsprop", "rmsprop", 1, ", alpha = 9.0e-01 : f32, epsilon = 1.0e-06 : f32"},
    {"rmsprop_defaults", "rmsprop", 1, ", weight_decay = 1.0e-02 : f32"},
    {"adam", "adam", 2, ""},
    {"adam_weight_decay", "adam", 2, ", beta1 = 8.0e-01 : f32, beta2 = 9.9e-01 : f32, weight_decay = 1.0e-02 : f32"},
};

TEST_P(OptimizerTest, EveryResultMatchesReference) {
  const OptimizerCase &c = GetParam();
  for (Shape shape : {Shape{6, 3, 5, 5}, Shape{7}, Shape{10, 84}}) {
    for (float step : {1.0f, 3.0f, 1000.0f}) {
      Graph g(testRng());
      auto p = g.input(shape);
      auto grad = g.input(shape);
      auto h = hyper(g, 0.05f, step);
      std::vector<V> operands = {p, grad, h};
      for (int slot = 0; slot < c.slots; ++slot) {
        // Second moments (rmsprop's only slot, adam's second) are never negative.
        bool secondMoment = std::string(c.optimizer) == "rmsprop" || slot == 1;
        operands.push_back(g.input(g.random(shape, secondMoment ? 0.0f : -1.0f, 1.0f)));
      }
      std::vector<V> outputs;
      for (int which = 0; which <= c.slots; ++which)
        outputs.push_back(training(g, "optimizer_update", operands,
                                   "optimizer = \"" + std::string(c.optimizer) +
                                       "\", which = " + std::to_string(which) + " : i64" + c.attrs,
                                   shape));
      expectMatchesReference(g, outputs);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Halide, OptimizerTest, ::testing::ValuesIn(optimizerCases),
                         [](const auto &info) { return std::string(info.param.name); });

// ---- fusion and shared reductions ----

/// A backward fragment: the stats of one x shared by four ops, bias_grad and grad_input sharing
/// the sum of dy, an activation_grad and an sgd update fused into their producers' stages.
Graph backwardFragment(std::vector<V> &outputs) {
  Graph g(testRng());
  auto x = g.input({3, 16, 9, 9});
  auto dy = g.input({3, 16, 9, 9});
  auto scale = g.input(g.random({16}, 0.5f, 1.5f));
  auto shift = g.input({16});
  auto running = g.input(g.random({16}, 0.0f, 1.0f));
  auto w = g.input({16, 16, 3, 3});
  auto h = hyper(g, 0.1f, 2.0f);
  std::string eps = "epsilon = " + f32(1e-5);
  auto y = training(g, "batch_norm_train", {x, scale, shift}, eps, x.shape);
  auto r = g.unary("relu", y);
  auto dr = training(g, "activation_grad", {r, dy}, "activation = \"relu\"", x.shape);
  auto dx = training(g, "batch_norm_grad_input", {x, scale, dr}, eps, x.shape);
  auto dscale = training(g, "batch_norm_grad_scale", {x, dr}, eps, {16});
  auto dshift = training(g, "bias_grad", {dr}, "", {16});
  auto mean =
      training(g, "running_stat_update", {running, x}, "momentum = " + f32(0.1) + ", statistic = \"mean\"", {16});
  auto dw = training(g, "conv2d_grad_filter", {x, dx},
                     "strides = " + ints({1, 1}) + ", padding = " + ints({1, 1, 1, 1}) +
                         ", dilations = " + ints({1, 1}) + ", groups = 1 : i64",
                     {16, 16, 3, 3});
  auto w1 = training(g, "optimizer_update", {w, dw, h}, "optimizer = \"sgd\", which = 0 : i64", w.shape);
  auto dropped =
      training(g, "dropout_train", {g.unary("tanh", dx), h}, "rate = " + f32(0.25) + ", seed = 5 : i64", x.shape);
  outputs = {r, dscale, dshift, mean, w1, dropped};
  return g;
}

TEST(HalideTrainingOps, FusedBackwardFragment) {
  std::vector<V> outputs;
  Graph g = backwardFragment(outputs);
  expectMatchesReference(g, outputs);
}

TEST(HalideTrainingOps, ScheduleOptionsDoNotChangeResults) {
  std::vector<V> outputs;
  Graph g = backwardFragment(outputs);
  HalideScheduleOptions other;
  other.vectorWidth = 4;
  other.convChannelBlock = 8;
  other.convPixelBlock = 2;
  other.convReductionUnroll = 2;
  other.denseBlock = 8;
  other.parallel = false;
  expectScheduleIndependent(g, outputs, other, 1e-5);
}

} // namespace
} // namespace kiln::test
