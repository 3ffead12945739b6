// Tests that the ops that move, reduce and multiply tensors lowered to Halide match the reference
// interpreter on fresh random inputs: nn.transpose, nn.slice (negative steps, steps > 1),
// nn.broadcast and nn.slice_grad at ranks 1 to 6 (the block-transposed copies: NCHW <-> NHWC, the
// channel shuffle), nn.reduce of every kind over several axis sets and its gradient nn.reduce_grad
// (ties for max / min, first extreme for arg_max / arg_min), and nn.matmul (batched, broadcast
// batch dimensions, fused epilogues), plus small models built from them.
#include "graph_builder.h"

namespace kiln::test {
namespace {

using V = Graph::V;

V transpose(Graph &g, V x, const std::vector<int64_t> &perm) {
  Shape out(perm.size());
  for (size_t d = 0; d < perm.size(); ++d)
    out[d] = x.shape[perm[d]];
  return g.op(out, "nn.transpose " + x.name + " {perm = " + ints(perm) + "} : (" + typeOf(x.shape) + ") -> " +
                       typeOf(out));
}

struct SliceSpec {
  Shape input;
  std::vector<int64_t> starts, steps;
  Shape counts;
};

const SliceSpec sliceSpecs[] = {
    {{17}, {16}, {-3}, {6}},
    {{9, 11}, {8, 1}, {-2, 3}, {5, 4}},
    {{4, 6, 19}, {1, 5, 0}, {2, -1, 2}, {2, 6, 10}},
    {{2, 9, 5, 7}, {1, 8, 4, 1}, {-1, -2, -1, 3}, {2, 5, 3, 2}},
    {{2, 9, 5, 7}, {0, 3, 0, 0}, {1, 1, 1, 1}, {2, 4, 5, 7}},
    {{2, 40, 3, 3}, {0, 1, 0, 0}, {1, 2, 1, 1}, {2, 20, 3, 3}},
    {{1, 6, 5, 37}, {0, 5, 0, 36}, {1, -1, 1, -1}, {1, 6, 5, 37}},
    {{2, 3, 4, 5, 6}, {1, 0, 3, 4, 5}, {-1, 1, -1, -2, -1}, {2, 3, 4, 3, 6}},
    {{2, 2, 3, 3, 4, 5}, {0, 1, 0, 2, 1, 4}, {1, -1, 2, -1, 2, -2}, {2, 2, 2, 3, 2, 3}},
};

/// Narrow vectors, serial: a schedule the results must not depend on.
HalideScheduleOptions narrowSerial() {
  HalideScheduleOptions other;
  other.vectorWidth = 4;
  other.parallel = false;
  return other;
}

std::string sliceAttributes(const SliceSpec &s) {
  return "{starts = " + ints(s.starts) + ", steps = " + ints(s.steps) + "}";
}

TEST(HalideTensorOps, TransposeAtEveryRank) {
  Graph g(testRng());
  auto v1 = g.input({23});
  auto v2 = g.input({13, 21});
  auto v3 = g.input({5, 7, 9});
  auto nchw = g.input({2, 19, 5, 7});
  auto nhwc = g.input({2, 5, 7, 19});
  auto v5 = g.input({2, 3, 4, 5, 6});
  auto v6 = g.input({2, 3, 1, 4, 5, 3});
  expectMatchesReference(g, {transpose(g, v1, {0}), transpose(g, v2, {1, 0}), transpose(g, v3, {2, 0, 1}),
                             transpose(g, v3, {0, 2, 1}), transpose(g, v3, {1, 0, 2}),
                             transpose(g, nchw, {0, 2, 3, 1}), transpose(g, nhwc, {0, 3, 1, 2}),
                             transpose(g, nchw, {3, 2, 1, 0}), transpose(g, nchw, {1, 0, 2, 3}),
                             transpose(g, v5, {0, 2, 1, 3, 4}), transpose(g, v5, {4, 3, 0, 2, 1}),
                             transpose(g, v6, {5, 3, 1, 0, 2, 4})});
}

TEST(HalideTensorOps, TransposeUnderOtherScheduleOptions) {
  Graph g(testRng());
  auto nchw = g.input({3, 33, 9, 17});
  auto v2 = g.input({40, 24});
  expectScheduleIndependent(g, {transpose(g, nchw, {0, 2, 3, 1}), transpose(g, v2, {1, 0})}, narrowSerial(), 0.0);
}

TEST(HalideTensorOps, TransposeOfAComputedValueWithAFusedConsumer) {
  // ConvNeXt's layer scale and residual: the block-transposed copy's source is wrapped in the
  // copy, which the fused add inlines (wrapping it in the add failed to compile).
  Graph g(testRng());
  auto nhwc = g.binary("mul", g.input({2, 5, 7, 19}), g.param({19}));
  auto nchw = transpose(g, nhwc, {0, 3, 1, 2});
  expectMatchesReference(g, {g.add(g.input({2, 19, 5, 7}), nchw)});
}

TEST(HalideTensorOps, ChannelShuffle) {
  Graph g(testRng());
  auto x = g.input({2, 12, 5, 7});
  auto c = g.conv(x, 12, {1, 1}, {1, 1}, {0, 0, 0, 0});
  auto shuffled = g.reshape(transpose(g, g.reshape(c, {2, 3, 4, 5, 7}), {0, 2, 1, 3, 4}), {2, 12, 5, 7});
  expectMatchesReference(g, {g.unary("relu", shuffled)});
}

TEST(HalideTensorOps, ReshapeSplitsAndMerges) {
  Graph g(testRng());
  auto x = g.input({2, 12, 5, 7});
  auto v = g.input({6, 35});
  expectMatchesReference(g, {g.reshape(x, {2, 3, 4, 35}), g.reshape(x, {24, 5, 7}), g.reshape(x, {2, 12, 35, 1}),
                             g.reshape(x, {1, 2, 12, 5, 7}), g.reshape(v, {2, 3, 5, 7}), g.reshape(v, {6, 5, 1, 7}),
                             g.reshape(x, {4, 6, 7, 5})});
}

TEST(HalideTensorOps, SliceAtEveryRank) {
  Graph g(testRng());
  std::vector<V> outputs;
  for (const SliceSpec &s : sliceSpecs) {
    auto x = g.input(s.input);
    outputs.push_back(g.op(s.counts, "nn.slice " + x.name + " " + sliceAttributes(s) + " : (" + typeOf(s.input) +
                                         ") -> " + typeOf(s.counts)));
  }
  expectMatchesReference(g, outputs);
}

TEST(HalideTensorOps, SliceGradAtEveryRank) {
  Graph g(testRng());
  std::vector<V> outputs;
  for (const SliceSpec &s : sliceSpecs) {
    auto dy = g.input(s.counts);
    outputs.push_back(g.op(s.input, "nn.slice_grad " + dy.name + " " + sliceAttributes(s) + " : (" +
                                        typeOf(s.counts) + ") -> " + typeOf(s.input)));
  }
  expectMatchesReference(g, outputs);
}

TEST(HalideTensorOps, BroadcastAndItsConsumers) {
  Graph g(testRng());
  auto broadcast = [&](V x, const Shape &out) {
    return g.op(out, "nn.broadcast " + x.name + " : (" + typeOf(x.shape) + ") -> " + typeOf(out));
  };
  auto perChannel = g.input({6, 1, 1});
  auto row = g.input({7});
  auto middle = g.input({3, 1, 5});
  auto scalar = g.input({1});
  auto mixed = g.input({2, 1, 1, 3, 1});
  auto image = g.input({1, 3, 1, 1});
  auto a = g.input({2, 6, 5, 7});
  expectMatchesReference(g, {broadcast(perChannel, {2, 6, 5, 7}), broadcast(row, {3, 7}),
                             broadcast(middle, {2, 3, 4, 5}), broadcast(scalar, {2, 3, 4, 5, 6}),
                             broadcast(mixed, {2, 4, 1, 3, 5}), g.add(a, broadcast(perChannel, a.shape)),
                             g.conv(broadcast(image, {2, 3, 9, 9}), 4, {3, 3}, {1, 1}, {1, 1, 1, 1})});
}

// ---- reduce ----

struct ReduceCase {
  std::string kind;
  float lo = -1.0f, hi = 1.0f;
  bool quantized = false; ///< inputs in steps of 1/4: ties
};

void PrintTo(const ReduceCase &c, std::ostream *os) { *os << c.kind; }

const ReduceCase reduceCases[] = {
    {"sum"},       {"mean"},         {"max", -1, 1, true},        {"min", -1, 1, true},     {"prod", 0.8f, 1.25f},
    {"sum_square"}, {"l1"},          {"l2"},                       {"log_sum", 0.1f, 2.0f}, {"log_sum_exp", -5, 5},
    {"arg_max", -1, 1, true},        {"arg_min", -1, 1, true},
};

/// (input shape, axes): every rank, the innermost storage dimension kept and reduced.
const std::vector<std::pair<Shape, std::vector<int64_t>>> reduceAxes = {
    {{33}, {0}},
    {{5, 37}, {1}},
    {{5, 37}, {0}},
    {{3, 20, 6}, {1}},
    {{3, 20, 6}, {2}},
    {{3, 20, 6}, {0, 2}},
    {{2, 7, 5, 9}, {1}},
    {{2, 7, 5, 9}, {2, 3}},
    {{2, 7, 5, 9}, {0}},
    {{2, 7, 5, 9}, {3}},
    {{2, 7, 5, 9}, {0, 2}},
    {{2, 7, 5, 9}, {0, 1, 2, 3}},
    {{2, 3, 4, 5, 6}, {1, 3}},
    {{2, 3, 4, 5, 6}, {4}},
    {{2, 3, 2, 3, 2, 5}, {0, 5}},
};

class ReduceTest : public ::testing::TestWithParam<ReduceCase> {};

HostTensor reduceInput(Graph &g, const Shape &shape, const ReduceCase &c) {
  HostTensor t = g.random(shape, c.lo, c.hi);
  if (c.quantized)
    for (float &value : t.data)
      value = std::round(value * 4.0f) / 4.0f;
  return t;
}

Shape reducedShape(Shape shape, const std::vector<int64_t> &axes) {
  for (int64_t axis : axes)
    shape[axis] = 1;
  return shape;
}

V reduce(Graph &g, V x, const std::string &kind, const std::vector<int64_t> &axes) {
  Shape out = reducedShape(x.shape, axes);
  return g.op(out, "nn.reduce " + x.name + " {kind = \"" + kind + "\", axes = " + ints(axes) + "} : (" +
                       typeOf(x.shape) + ") -> " + typeOf(out));
}

bool argKind(const std::string &kind) { return kind == "arg_max" || kind == "arg_min"; }

TEST_P(ReduceTest, OverEveryAxisSet) {
  const ReduceCase &c = GetParam();
  Graph g(testRng());
  std::vector<V> outputs;
  for (const auto &[shape, axes] : reduceAxes)
    if (!argKind(c.kind) || axes.size() == 1)
      outputs.push_back(reduce(g, g.input(reduceInput(g, shape, c)), c.kind, axes));
  expectMatchesReference(g, outputs);
}

TEST_P(ReduceTest, GradientOverEveryAxisSet) {
  const ReduceCase &c = GetParam();
  Graph g(testRng());
  std::vector<V> outputs;
  // Every other axis set of reduceAxes (each rank, both sides of the innermost): compile time.
  for (size_t i = 0; i < reduceAxes.size(); i += 2) {
    const auto &[shape, axes] = reduceAxes[i];
    if (argKind(c.kind) && axes.size() != 1)
      continue;
    auto x = g.input(reduceInput(g, shape, c));
    auto y = reduce(g, x, c.kind, axes);
    auto dy = g.input(y.shape);
    outputs.push_back(g.op(shape, "nn.reduce_grad " + x.name + ", " + y.name + ", " + dy.name + " {kind = \"" +
                                      c.kind + "\", axes = " + ints(axes) + "} : (" + typeOf(shape) + ", " +
                                      typeOf(y.shape) + ", " + typeOf(y.shape) + ") -> " + typeOf(shape)));
  }
  expectMatchesReference(g, outputs);
}

INSTANTIATE_TEST_SUITE_P(Halide, ReduceTest, ::testing::ValuesIn(reduceCases),
                         [](const auto &info) { return info.param.kind; });

TEST(HalideTensorOps, ReduceUnderOtherScheduleOptions) {
  Graph g(testRng());
  auto x = g.input({3, 70, 9, 11});
  auto v = g.input({5, 300});
  expectScheduleIndependent(g, {reduce(g, x, "mean", {2, 3}), reduce(g, x, "max", {1}), reduce(g, v, "sum", {1}),
                                reduce(g, x, "arg_max", {1}), reduce(g, x, "l2", {0, 2})},
                            narrowSerial(), 1e-5);
}

// ---- matmul ----

V matmul(Graph &g, V a, V b) {
  Shape batch = a.shape.size() > b.shape.size() ? Shape(a.shape.begin(), a.shape.end() - 2)
                                                  : Shape(b.shape.begin(), b.shape.end() - 2);
  // numpy broadcasting of the batch dimensions, aligned at the end.
  Shape aBatch(a.shape.begin(), a.shape.end() - 2), bBatch(b.shape.begin(), b.shape.end() - 2);
  for (size_t i = 0; i < batch.size(); ++i) {
    int64_t fromA = i + aBatch.size() >= batch.size() ? aBatch[i + aBatch.size() - batch.size()] : 1;
    int64_t fromB = i + bBatch.size() >= batch.size() ? bBatch[i + bBatch.size() - batch.size()] : 1;
    batch[i] = std::max(fromA, fromB);
  }
  Shape out = batch;
  out.push_back(a.shape[a.shape.size() - 2]);
  out.push_back(b.shape.back());
  return g.op(out, "nn.matmul " + a.name + ", " + b.name + " : (" + typeOf(a.shape) + ", " + typeOf(b.shape) +
                       ") -> " + typeOf(out));
}

TEST(HalideTensorOps, MatMulShapesAndBroadcasting) {
  Graph g(testRng());
  auto mm = [&](Shape a, Shape b) { return matmul(g, g.input(a), g.input(b)); };
  expectMatchesReference(g, {mm({2, 4, 16, 8}, {2, 4, 8, 16}), mm({13, 37}, {37, 29}), mm({3, 1, 5, 6}, {4, 6, 7}),
                             mm({5, 6}, {2, 6, 7}), mm({2, 3, 5, 6}, {6, 9}), mm({3, 17, 33}, {3, 33, 20}),
                             mm({2, 1, 3, 4, 5}, {3, 1, 5, 2}), mm({1, 16}, {16, 40}), mm({9, 16}, {16, 1}),
                             mm({7, 1}, {1, 19}), mm({67, 130}, {130, 150})});
}

TEST(HalideTensorOps, MatMulLargeAndUnderOtherScheduleOptions) {
  Graph g(testRng());
  auto a = g.input({1, 196, 384});
  auto b = g.input(g.random({384, 384}, -0.1f, 0.1f));
  auto c = g.input({2, 4, 16, 8});
  auto d = g.input({2, 4, 8, 16});
  HalideScheduleOptions other;
  other.vectorWidth = 8;
  other.denseBlock = 16;
  other.parallel = false;
  expectScheduleIndependent(g, {matmul(g, a, b), matmul(g, c, d)}, other, 1e-5);
}

TEST(HalideTensorOps, MatMulWithFusedEpilogue) {
  Graph g(testRng());
  auto sum = g.binary("add", matmul(g, g.input({3, 10, 24}), g.input({24, 33})), g.param({33}));
  expectMatchesReference(g, {g.op(sum.shape, "nn.unary " + sum.name + " {fn = \"gelu\"} : " + typeOf(sum.shape))});
}

// ---- small models ----

TEST(HalideTensorOps, LayerNormOverChannelsInNHWC) {
  // ConvNeXt's LayerNorm: permute to NHWC, normalise over the last dimension, permute back.
  Graph g(testRng());
  auto x = g.input({2, 16, 5, 7});
  auto t = transpose(g, g.conv(x, 16, {3, 3}, {1, 1}, {1, 1, 1, 1}), {0, 2, 3, 1});
  auto mean = reduce(g, t, "mean", {3});
  auto centred = g.binary("sub", t, mean);
  auto variance = reduce(g, g.binary("pow", centred, g.param({1}, 2.0f, 2.0f)), "mean", {3});
  auto normalised = g.binary("div", centred, g.op(variance.shape, "nn.unary " + variance.name +
                                                                     " {fn = \"sqrt\"} : " + typeOf(variance.shape)));
  auto scaled = g.binary("add", g.binary("mul", normalised, g.param({16})), g.param({16}));
  expectMatchesReference(g, {transpose(g, scaled, {0, 3, 1, 2})}, {}, 1e-4);
}

TEST(HalideTensorOps, AttentionScores) {
  Graph g(testRng());
  auto q = g.input({2, 5, 8});
  auto k = g.input({2, 5, 8});
  auto v = g.input({2, 5, 8});
  auto scores = g.softmax(matmul(g, q, transpose(g, k, {0, 2, 1})), 2);
  expectMatchesReference(g, {matmul(g, scores, v)});
}

} // namespace
} // namespace kiln::test
