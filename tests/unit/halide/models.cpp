// Tests that whole models (a chain, a DAG, fused conv epilogues) lowered to Halide match the
// reference, also with long parallel loops cut into chunks; that schedule options never change
// results, that AOT emits the two objects and the statement, and that bad inputs or weights are
// reported as errors rather than crashes.
#include "graph_builder.h"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace kiln::test {
namespace {

/// conv+bias -> BN -> relu -> maxpool -> flatten -> dense -> softmax, batch 3.
Graph chain(std::vector<Graph::V> &outputs) {
  Graph g(testRng());
  auto x = g.input({3, 3, 13, 13});
  auto c = g.conv(x, 20, {3, 3}, {1, 1}, {1, 1, 1, 1});
  auto r = g.unary("relu", g.batchNorm(c));
  auto p = g.pool("max_pool2d", r, {2, 2}, {2, 2}, {0, 0, 0, 0});
  auto d = g.dense(g.flatten(p), 10);
  outputs = {g.softmax(d, 1)};
  return g;
}

TEST(HalideModels, Chain) {
  std::vector<Graph::V> outputs;
  Graph g = chain(outputs);
  expectMatchesReference(g, outputs);
}

TEST(HalideModels, DagWithAddConcatAndSharedValues) {
  Graph g(testRng());
  auto x = g.input({2, 8, 11, 11});
  auto a = g.conv(x, 16, {3, 3}, {1, 1}, {1, 1, 1, 1});
  auto b = g.conv(x, 16, {1, 1}, {1, 1}, {0, 0, 0, 0});
  auto s = g.unary("relu", g.add(a, b));                  // add + relu fused into a's conv
  auto d = g.unary("dropout", s);
  auto t = g.conv(d, 16, {3, 3}, {1, 1}, {1, 1, 1, 1});
  auto res = g.unary("relu", g.add(t, s));                 // residual: s used twice
  auto cat = g.concat({res, x, a}, 1);                     // a used twice (add and concat)
  auto gap = g.globalAvgPool(g.conv(cat, 5, {3, 3}, {2, 2}, {0, 1, 1, 0}));
  expectMatchesReference(g, {g.flatten(gap), res});
}

TEST(HalideModels, ConvEpilogues) {
  Graph g(testRng());
  auto x = g.input({1, 17, 9, 9});
  auto a = g.unary("leaky_relu", g.batchNorm(g.conv(x, 33, {3, 3}, {1, 1}, {1, 1, 1, 1})));
  auto b = g.unary("sigmoid", g.conv(x, 33, {1, 1}, {1, 1}, {0, 0, 0, 0}, {1, 1}, 1, false));
  auto c = g.unary("tanh", g.add(a, b));
  expectMatchesReference(g, {c, g.unary("relu", g.dense(g.flatten(c), 12))});
}

TEST(HalideModels, LongParallelLoopsRunInChunksWithTails) {
  // 5 images of 37 rows: the conv's 185 row tasks, the pool's 90, the padded copy's and the
  // output transpose's go parallel in chunks of several rows whose last chunk is short.
  Graph g(testRng());
  auto x = g.input({5, 3, 37, 23});
  auto c = g.unary("relu", g.conv(x, 8, {3, 3}, {1, 1}, {1, 1, 1, 1}));
  auto p = g.pool("max_pool2d", c, {2, 2}, {2, 2}, {0, 0, 0, 0});
  auto w = g.conv(g.conv(p, 16, {1, 1}, {1, 1}, {0, 0, 0, 0}), 16, {3, 3}, {1, 1}, {1, 1, 1, 1});
  HalideScheduleOptions winograd;
  winograd.convAlgorithm = ConvAlgorithm::Winograd;
  for (const HalideScheduleOptions &options : {HalideScheduleOptions{}, winograd})
    expectMatchesReference(g, {p, w}, options);
  Parsed parsed = parse(g.text({p, w}), g.functionName);
  std::string error;
  auto model = lowerToHalide(parsed.fn, g.weights, winograd, error);
  ASSERT_TRUE(mlir::succeeded(model)) << error;
  std::string path = ::testing::TempDir() + "chunks_test.stmt";
  ASSERT_TRUE(mlir::succeeded(emitStmt(*model, path, false, error))) << error;
  std::stringstream text;
  text << std::ifstream(path).rdbuf();
  EXPECT_NE(text.str().find("rows_chunk"), std::string::npos) << "no chunked parallel loop";
  std::filesystem::remove(path);
}

TEST(HalideModels, ScheduleOptionsDoNotChangeResults) {
  std::vector<Graph::V> outputs;
  Graph g = chain(outputs);
  HalideScheduleOptions other;
  other.vectorWidth = 8;
  other.convChannelBlock = 8;
  other.convPixelBlock = 3;
  other.convReductionUnroll = 2;
  other.denseBlock = 8;
  other.parallel = false;
  expectScheduleIndependent(g, outputs, other, 1e-6);
}

TEST(HalideModels, TunedLayerSchedulesDoNotChangeResults) {
  // Each conv and dense layer found by its signature gets knobs of its own (row blocks, odd pixel
  // blocks, no unroll, channel blocks outermost, serial); the lowered model reports which layers
  // were tuned.
  std::vector<Graph::V> outputs;
  Graph g = chain(outputs);
  Parsed p = parse(g.text(outputs));
  ASSERT_TRUE(p.fn);
  std::string error;
  auto plain = lowerToHalide(p.fn, g.weights, {}, error);
  ASSERT_TRUE(mlir::succeeded(plain)) << error;
  ASSERT_EQ(plain->layers.size(), 2u);
  EXPECT_NE(plain->layers[0].signature.find("+relu"), std::string::npos) << plain->layers[0].signature;
  HalideScheduleOptions tuned;
  HalideStageSchedule conv;
  conv.vectorWidth = 8;
  conv.convChannelBlock = 16;
  conv.convPixelBlock = 5;
  conv.convRowBlock = 3;
  conv.convReductionUnroll = 1;
  conv.convChannelsOuter = true;
  tuned.tuned[plain->layers[0].signature] = conv;
  HalideStageSchedule dense;
  dense.denseBlock = 16;
  dense.parallel = false;
  tuned.tuned[plain->layers[1].signature] = dense;
  auto model = lowerToHalide(p.fn, g.weights, tuned, error);
  ASSERT_TRUE(mlir::succeeded(model)) << error;
  EXPECT_TRUE(model->layers[0].tuned && model->layers[1].tuned);
  EXPECT_EQ(model->layers[0].schedule.convRowBlock, 3);
  EXPECT_EQ(model->layers[0].schedule.convPixelBlock, 5);
  expectScheduleIndependent(g, outputs, tuned, 1e-6);
}

TEST(HalideModels, AotObjectsAndStmt) {
  std::vector<Graph::V> outputs;
  Graph g = chain(outputs);
  Parsed p = parse(g.text(outputs));
  ASSERT_TRUE(p.fn);
  std::string error;
  auto model = lowerToHalide(p.fn, g.weights, {}, error);
  ASSERT_TRUE(mlir::succeeded(model)) << error;
  auto dir = std::filesystem::temp_directory_path() / ("kiln_halide_aot_" + std::to_string(runSeed()));
  std::filesystem::create_directories(dir);
  auto objects = compileToObjects({{&*model, "lenet_like"}}, dir.string(), error);
  ASSERT_TRUE(mlir::succeeded(objects)) << error;
  ASSERT_EQ(*objects, (std::vector<std::string>{(dir / "lenet_like.o").string(), (dir / "halide_runtime.o").string()}));
  for (const std::string &object : *objects)
    EXPECT_GT(std::filesystem::file_size(object), 0u);
  auto stmt = dir / "lenet_like.stmt";
  ASSERT_TRUE(mlir::succeeded(emitStmt(*model, stmt.string(), false, error))) << error;
  std::ifstream in(stmt);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_NE(text.str().find("produce"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(HalideModels, ErrorsAreReported) {
  Graph g(testRng());
  auto x = g.input({1, 2, 5, 5});
  auto y = g.conv(x, 4, {3, 3}, {1, 1}, {1, 1, 1, 1});
  Parsed p = parse(g.text({y}));
  ASSERT_TRUE(p.fn);
  std::string error;

  WeightStore missing = g.weights;
  missing.erase(missing.begin());
  EXPECT_TRUE(mlir::failed(lowerToHalide(p.fn, missing, {}, error)));
  EXPECT_NE(error.find("p0"), std::string::npos) << error;

  auto model = lowerToHalide(p.fn, g.weights, {}, error);
  ASSERT_TRUE(mlir::succeeded(model)) << error;
  EXPECT_TRUE(mlir::failed(runJit(*model, {HostTensor({1, 2, 5, 4})}, error)));
  EXPECT_NE(error.find("1x2x5x5"), std::string::npos) << error;
  EXPECT_TRUE(mlir::failed(runJit(*model, {}, error)));
}

} // namespace
} // namespace kiln::test
