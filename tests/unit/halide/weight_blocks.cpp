// Tests of constant weights stored in blocks of the register tile's output channels: the pool
// holds each block contiguously and the Func reads back the weights; convs (direct, grouped,
// transposed, Winograd) and dense layers match the reference with blocks that divide, that do not,
// and a layer whose tuned block differs from the default's (lowered again).
#include "graph_builder.h"

#include "compiler/halide/Lowering.h"

namespace kiln::test {
namespace {

/// A (64 x 3 x 2) weight whose value is its own flat index.
Halide::Buffer<float> numbered() {
  Halide::Buffer<float> data(64, 3, 2);
  data.for_each_element([&](int f, int c, int k) { data(f, c, k) = static_cast<float>(f + 64 * (c + 3 * k)); });
  return data;
}

/// Embeds numbered() with `block`; expects the Func to read it back and the pool to hold element
/// (f, c, k) at (f % inner) + inner * (c + 3 * k) + (f / inner) * slab.
void expectEmbedded(int block, int inner) {
  WeightStore weights;
  HalideScheduleOptions options;
  llvm::DenseMap<mlir::Operation *, halide::LayerLowering> chosen;
  halide::LoweringState state(weights, options, chosen, 1024);
  Halide::Buffer<float> data = numbered();
  Halide::Func func = state.embed("w", data, block);
  state.finishConstants();
  Halide::Buffer<float> back = func.realize({64, 3, 2});
  const int slab = inner * 3 * 2;
  data.for_each_element([&](int f, int c, int k) {
    EXPECT_EQ(back(f, c, k), data(f, c, k)) << "at " << f << "," << c << "," << k;
    EXPECT_EQ(state.constantPool(f % inner + inner * (c + 3 * k) + f / inner * slab), data(f, c, k))
        << "block " << block << " at " << f << "," << c << "," << k;
  });
}

TEST(HalideWeightBlocks, PoolHoldsEachBlockContiguously) {
  expectEmbedded(16, 16);
  expectEmbedded(32, 32);
}

TEST(HalideWeightBlocks, BlocksThatDoNotDivideKeepTheFlatLayout) {
  expectEmbedded(0, 64);
  expectEmbedded(24, 64);
  expectEmbedded(64, 64);
  expectEmbedded(128, 64);
}

TEST(HalideWeightBlocks, ScalarsAreEmbeddedToo) {
  WeightStore weights;
  HalideScheduleOptions options;
  llvm::DenseMap<mlir::Operation *, halide::LayerLowering> chosen;
  halide::LoweringState state(weights, options, chosen, 64);
  Halide::Buffer<float> scalar = Halide::Buffer<float>::make_scalar();
  scalar() = 2.5f;
  Halide::Func func = state.embed("s", scalar, 32);
  state.finishConstants();
  Halide::Buffer<float> back = func.realize(std::vector<int>{});
  EXPECT_EQ(back(), 2.5f);
}

/// Convs and a dense layer whose output channels are a multiple of the block, or not (80, 1000).
std::vector<Graph::V> linearLayers(Graph &g) {
  auto x = g.input({2, 24, 9, 11});
  auto direct = g.unary("relu", g.conv(x, 64, {3, 3}, {2, 2}, {1, 1, 1, 1}));
  auto uneven = g.conv(x, 80, {1, 1}, {1, 1}, {0, 0, 0, 0});
  auto grouped = g.conv(x, 64, {3, 3}, {1, 1}, {1, 0, 0, 1}, {1, 1}, 2);
  auto winograd = g.conv(g.input({1, 16, 14, 14}), 96, {3, 3}, {1, 1}, {1, 1, 1, 1});
  auto transposed = g.convTranspose(x, 64, {3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1});
  auto features = g.input({3, 200});
  return {direct, uneven, grouped, winograd, transposed, g.dense(features, 128), g.dense(features, 1000)};
}

TEST(HalideWeightBlocks, LayersMatchReferenceUnderSeveralBlocks) {
  Graph g(testRng());
  std::vector<Graph::V> outputs = linearLayers(g);
  HalideScheduleOptions defaults;
  HalideScheduleOptions narrow; // blocks of 16 in 8-lane vectors
  narrow.vectorWidth = 8;
  narrow.convChannelBlock = 16;
  narrow.denseBlock = 16;
  narrow.parallel = false;
  HalideScheduleOptions wide; // three vectors per block: 96 divides, 64 and 80 do not
  wide.convChannelBlock = 48;
  wide.denseBlock = 128;
  for (const HalideScheduleOptions &options : {defaults, narrow, wide})
    expectMatchesReference(g, outputs, options);
}

TEST(HalideWeightBlocks, TunedBlockIsLoweredAgain) {
  Graph g(testRng());
  std::vector<Graph::V> outputs = linearLayers(g);
  Parsed p = parse(g.text(outputs), g.functionName);
  std::string error;
  auto model = lowerToHalide(p.fn, g.weights, {}, error);
  ASSERT_TRUE(mlir::succeeded(model)) << error;
  HalideScheduleOptions tuned;
  for (const HalideLayer &layer : model->layers) {
    HalideStageSchedule &s = tuned.tuned[layer.signature];
    s.convChannelBlock = 64;
    s.denseBlock = 32;
  }
  auto retuned = lowerToHalide(p.fn, g.weights, tuned, error);
  ASSERT_TRUE(mlir::succeeded(retuned)) << error;
  ASSERT_EQ(retuned->layers.size(), model->layers.size());
  EXPECT_EQ(retuned->layers.front().schedule.convChannelBlock, 64);
  EXPECT_EQ(retuned->layers.back().schedule.denseBlock, 32);
  expectMatchesReference(g, outputs, tuned);
}

} // namespace
} // namespace kiln::test
