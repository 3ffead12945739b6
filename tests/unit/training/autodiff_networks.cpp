// Tests nn-autodiff on whole small networks of the ops PyTorch exports beyond the classic layers:
// the gradient of every parameter of @train_step against central differences of its loss
// (TrainStepGradients.h), batch 2, odd sizes.
#include "TrainStepGradients.h"

#include "../test_support.h"

#include <gtest/gtest.h>

using namespace kiln;
using namespace kiln::test;

namespace {

/// A loss of float32 values resolves a central difference to about 1e-6, and the smallest
/// gradients of these networks (the first layers', through a mean, a gate and log_softmax) are
/// about 1e-4: 1% is their floor. A wrong rule is off by far more.
constexpr FiniteDifference kNetwork{1e-2, 2e-2};

HostTensor filled(std::vector<int64_t> shape, float value) {
  HostTensor t(std::move(shape));
  std::fill(t.data.begin(), t.data.end(), value);
  return t;
}

std::string conv2dAttributes(const std::vector<int64_t> &strides, const std::vector<int64_t> &padding,
                             int64_t groups = 1) {
  return "strides = " + ints(strides) + ", padding = " + ints(padding) + ", dilations = " + ints({1, 1}) +
         ", groups = " + std::to_string(groups) + " : i64";
}

/// Layer normalization over the last axis of t as ONNX exports it before opset 17: mean, centre,
/// pow 2, mean, add epsilon, sqrt, div, then scale and shift.
std::string layerNorm(ForwardModel &m, const std::string &t, const std::vector<int64_t> &shape, std::mt19937 &rng) {
  std::vector<int64_t> reduced = shape;
  reduced.back() = 1;
  const std::string last = "axes = " + ints({static_cast<int64_t>(shape.size()) - 1});
  auto mean = m.op("reduce", {t}, reduced, "kind = \"mean\", " + last);
  auto centred = m.op("sub", {t, mean}, shape);
  auto squared = m.op("pow", {centred, m.input("two", filled({1}, 2.0f))}, shape);
  auto variance = m.op("reduce", {squared}, reduced, "kind = \"mean\", " + last);
  auto shifted = m.op("add", {variance, m.input("epsilon", filled({1}, 1e-5f))}, reduced);
  auto deviation = m.op("unary", {shifted}, reduced, "fn = \"sqrt\"");
  auto normalized = m.op("div", {centred, deviation}, shape);
  auto scaled = m.op("mul", {normalized, m.param("ln.weight", randomTensor({shape.back()}, rng, 0.5, 1.5))}, shape);
  return m.op("add", {scaled, m.param("ln.bias", randomTensor({shape.back()}, rng))}, shape);
}

TEST(AutodiffNetworks, ConvGeluLayerNormMatMulDense) {
  // conv -> gelu -> transpose to channels-last -> layer norm -> transpose back -> mean over H, W
  // -> matmul -> dense.
  std::mt19937 rng = testRng();
  ForwardModel m;
  auto x = m.input("x", randomTensor({2, 3, 7, 6}, rng));
  auto conv = m.op("conv2d", {x, m.param("c.weight", randomTensor({4, 3, 3, 3}, rng)),
                              m.param("c.bias", randomTensor({4}, rng))},
                   {2, 4, 4, 6}, conv2dAttributes({2, 1}, {1, 1, 1, 1}));
  auto gelu = m.op("unary", {conv}, {2, 4, 4, 6}, "fn = \"gelu\"");
  auto channelsLast = m.op("transpose", {gelu}, {2, 4, 6, 4}, "perm = " + ints({0, 2, 3, 1}));
  auto normalized = layerNorm(m, channelsLast, {2, 4, 6, 4}, rng);
  auto channelsFirst = m.op("transpose", {normalized}, {2, 4, 4, 6}, "perm = " + ints({0, 3, 1, 2}));
  auto pooled = m.op("reduce", {channelsFirst}, {2, 4, 1, 1}, "kind = \"mean\", axes = " + ints({2, 3}));
  auto flat = m.op("reshape", {pooled}, {2, 4}, "shape = " + ints({2, 4}));
  auto projected = m.op("matmul", {flat, m.param("proj", randomTensor({4, 3}, rng))}, {2, 3});
  auto y = m.op("dense", {projected, m.param("fc.weight", randomTensor({5, 3}, rng)),
                          m.param("fc.bias", randomTensor({5}, rng))},
                {2, 5});
  m.expectGradients(y, rng, kNetwork, /*targetNearOutput=*/true);
}

TEST(AutodiffNetworks, SelfAttentionWithResidual) {
  // q, k, v projections -> softmax(q k^T / 2) v -> output projection + x -> silu -> mean over
  // the sequence.
  std::mt19937 rng = testRng();
  ForwardModel m;
  auto x = m.input("x", randomTensor({2, 5, 6}, rng));
  auto project = [&](const std::string &name, int64_t from, int64_t to, const std::string &t) {
    return m.op("matmul", {t, m.param(name, randomTensor({from, to}, rng))}, {2, 5, to});
  };
  auto q = project("q", 6, 4, x), k = project("k", 6, 4, x), v = project("v", 6, 4, x);
  auto kT = m.op("transpose", {k}, {2, 4, 5}, "perm = " + ints({0, 2, 1}));
  auto scores = m.op("div", {m.op("matmul", {q, kT}, {2, 5, 5}), m.input("scale", filled({1}, 2.0f))}, {2, 5, 5});
  auto weights = m.op("softmax", {scores}, {2, 5, 5}, "axis = 2 : i64");
  auto attended = project("o", 4, 6, m.op("matmul", {weights, v}, {2, 5, 4}));
  auto residual = m.op("add", {attended, x}, {2, 5, 6});
  auto activated = m.op("unary", {residual}, {2, 5, 6}, "fn = \"silu\"");
  auto y = m.op("reduce", {activated}, {2, 1, 6}, "kind = \"mean\", axes = " + ints({1}));
  m.expectGradients(y, rng, kNetwork, /*targetNearOutput=*/true);
}

/// 1x1 conv -> hard_swish -> pad -> depthwise 3x3 stride 2 (its last row and column unread) ->
/// relu6 -> squeeze-excite (global avg pool, dense, hard_sigmoid, mul broadcast over H, W) ->
/// global avg pool -> dense -> prelu -> log_softmax, on fresh random values; `clear` says whether
/// every input of a piecewise op is at least `margin` from its kinks. The depthwise biases put
/// the relu6 input of each channel around 3 (inside), 9 (above 6) or -3 (below 0).
std::string mobileNetBlock(ForwardModel &m, std::mt19937 &rng, double margin, bool &clear) {
  auto x = m.input("x", randomTensor({2, 3, 10, 8}, rng));
  auto expand = m.op("conv2d", {x, m.param("expand.weight", randomTensor({6, 3, 1, 1}, rng))}, {2, 6, 10, 8},
                     conv2dAttributes({1, 1}, {0, 0, 0, 0}));
  auto swish = m.op("hard_swish", {expand}, {2, 6, 10, 8});
  auto padded =
      m.op("pad", {swish}, {2, 6, 12, 10}, "pads = " + ints({0, 0, 1, 1, 0, 0, 1, 1}) + ", value = 0.0 : f32");
  HostTensor depthwiseBias({6});
  depthwiseBias.data = {3.0f, 9.0f, 3.0f, -3.0f, 3.0f, 9.0f};
  auto depthwise = m.op("conv2d", {padded, m.param("dw.weight", randomTensor({6, 1, 3, 3}, rng, -0.3, 0.3)),
                                   m.param("dw.bias", depthwiseBias)},
                        {2, 6, 5, 4}, conv2dAttributes({2, 2}, {0, 0, 0, 0}, 6));
  auto relu6 = m.op("clip", {depthwise}, {2, 6, 5, 4}, "min = 0.0 : f32, max = 6.0 : f32");
  auto squeezed = m.op("reshape", {m.op("global_avg_pool", {relu6}, {2, 6, 1, 1})}, {2, 6}, "shape = " + ints({2, 6}));
  auto excite = m.op("dense", {squeezed, m.param("se.weight", randomTensor({6, 6}, rng, -0.3, 0.3))}, {2, 6});
  auto gate = m.op("hard_sigmoid", {excite}, {2, 6}, "alpha = 0.166666672 : f32, beta = 5.000000e-01 : f32");
  auto gated = m.op("mul", {relu6, m.op("reshape", {gate}, {2, 6, 1, 1}, "shape = " + ints({2, 6, 1, 1}))},
                    {2, 6, 5, 4});
  auto pooled = m.op("reshape", {m.op("global_avg_pool", {gated}, {2, 6, 1, 1})}, {2, 6}, "shape = " + ints({2, 6}));
  auto logits = m.op("dense", {pooled, m.param("fc.weight", randomTensor({4, 6}, rng)),
                               m.param("fc.bias", randomTensor({4}, rng))},
                     {2, 4});
  auto activated = m.op("prelu", {logits, m.param("act.slope", randomTensor({4}, rng, 0.1, 0.4))}, {2, 4});
  clear = m.staysClearOf(expand, {-3.0, 3.0}, margin) && m.staysClearOf(depthwise, {0.0, 6.0}, margin) &&
          m.staysClearOf(excite, {-3.0, 3.0}, margin) && m.staysClearOf(logits, {0.0}, margin);
  return m.op("log_softmax", {activated}, {2, 4}, "axis = 1 : i64");
}

TEST(AutodiffNetworks, MobileNetBlockWithSqueezeExcite) {
  // Central differences are exact only on one piece of a piecewise op: draw values until every
  // kinked input is 0.1 (ten steps of at most 1e-2 times an input's magnitude) from its kinks.
  std::mt19937 rng = testRng();
  for (int attempt = 0; attempt < 100; ++attempt) {
    ForwardModel m;
    bool clear = false;
    const std::string y = mobileNetBlock(m, rng, 0.1, clear);
    if (clear) {
      m.expectGradients(y, rng, kNetwork, /*targetNearOutput=*/true);
      return;
    }
  }
  FAIL() << "no draw kept clear of the kinks in 100 attempts";
}

} // namespace
