// Tests of Halide's autoschedulers as whole-pipeline schedules: a small residual network scheduled
// by Adams2019 and by Mullapudi2016 matches the reference interpreter; kiln tune's per-pipeline
// choice (by pipelineSignature) is applied only to the function it was measured on, and the
// choice of Kiln's default schedules sets the layer records aside; the
// signature ignores the weights' values and layer names but not the shapes.
#include "graph_builder.h"

namespace kiln::test {
namespace {

/// conv + bn + relu, a strided conv, a residual add, pooling and a dense softmax head: odd sizes,
/// batch 2.
struct SmallResNet {
  Graph g;
  std::vector<Graph::V> outputs;

  explicit SmallResNet(Shape input) : g(testRng()) {
    auto x = g.input(input);
    auto a = g.unary("relu", g.batchNorm(g.conv(x, 16, {3, 3}, {1, 1}, {1, 1, 1, 1})));
    auto b = g.conv(a, 16, {3, 3}, {1, 1}, {1, 1, 1, 1});
    auto joined = g.unary("relu", g.add(a, b));
    auto down = g.pool("max_pool2d", g.conv(joined, 24, {3, 3}, {2, 2}, {1, 1, 1, 1}), {2, 2}, {2, 2}, {0, 0, 0, 0});
    outputs = {g.softmax(g.dense(g.flatten(g.globalAvgPool(down)), 10), 1), down};
  }
};

std::string scheduledBy(const Graph &g, const std::vector<Graph::V> &outputs, const HalideScheduleOptions &options) {
  Parsed p = parse(g.text(outputs), g.functionName);
  std::string error;
  auto model = lowerToHalide(p.fn, g.weights, options, error);
  EXPECT_TRUE(mlir::succeeded(model)) << error;
  return mlir::succeeded(model) ? model->autoscheduler : "(failed)";
}

class AutoscheduledPipeline : public ::testing::TestWithParam<const char *> {};

TEST_P(AutoscheduledPipeline, MatchesReference) {
  SmallResNet net({2, 5, 13, 11});
  HalideScheduleOptions options;
  options.autoscheduler = GetParam();
  options.autoschedulerThreads = 2;
  expectMatchesReference(net.g, net.outputs, options);
  EXPECT_EQ(scheduledBy(net.g, net.outputs, options), GetParam());
}

INSTANTIATE_TEST_SUITE_P(Halide, AutoscheduledPipeline, ::testing::Values("Adams2019", "Mullapudi2016"),
                         [](const auto &info) { return std::string(info.param); });

TEST(HalideAutoschedule, TunedChoiceAppliesToItsPipelineOnly) {
  SmallResNet net({2, 5, 13, 11}), wider({2, 5, 13, 15});
  Parsed p = parse(net.g.text(net.outputs), net.g.functionName);
  Parsed q = parse(wider.g.text(wider.outputs), wider.g.functionName);
  const std::string signature = pipelineSignature(p.fn);
  EXPECT_EQ(signature.rfind("pipeline ", 0), 0u) << signature;
  EXPECT_NE(signature, pipelineSignature(q.fn)) << "another input shape, another pipeline";

  HalideScheduleOptions options;
  options.tunedPipelines[signature] = "Mullapudi2016";
  EXPECT_EQ(scheduledBy(net.g, net.outputs, options), "Mullapudi2016");
  EXPECT_EQ(scheduledBy(wider.g, wider.outputs, options), "");
  expectMatchesReference(net.g, net.outputs, options);
  options.tunedPipelines[signature] = ""; // Kiln's schedules were faster
  EXPECT_EQ(scheduledBy(net.g, net.outputs, options), "");
  options.autoscheduler = "Adams2019"; // asked for explicitly: wins over the record
  EXPECT_EQ(scheduledBy(net.g, net.outputs, options), "Adams2019");
}

TEST(HalideAutoschedule, DefaultSchedulesChoiceSetsTheLayerRecordsAside) {
  SmallResNet net({2, 5, 13, 11});
  Parsed p = parse(net.g.text(net.outputs), net.g.functionName);
  std::string error;
  auto plain = lowerToHalide(p.fn, net.g.weights, {}, error);
  ASSERT_TRUE(mlir::succeeded(plain)) << error;
  HalideScheduleOptions options;
  for (const HalideLayer &layer : plain->layers)
    options.tuned[layer.signature].convPixelBlock = 3; // a record for every layer
  auto tunedCount = [&](const HalideScheduleOptions &o) {
    auto model = lowerToHalide(p.fn, net.g.weights, o, error);
    EXPECT_TRUE(mlir::succeeded(model)) << error;
    return mlir::succeeded(model) ? llvm::count_if(model->layers, [](const HalideLayer &l) { return l.tuned; }) : -1;
  };
  EXPECT_EQ(tunedCount(options), static_cast<int64_t>(plain->layers.size()));
  options.tunedPipelines[pipelineSignature(p.fn)] = kDefaultSchedules;
  EXPECT_EQ(tunedCount(options), 0);
  EXPECT_EQ(scheduledBy(net.g, net.outputs, options), "");
  expectMatchesReference(net.g, net.outputs, options);
}

TEST(HalideAutoschedule, SignatureIgnoresWeightValues) {
  SmallResNet one({1, 5, 9, 9}), other({1, 5, 9, 9}); // the same graph ...
  for (auto &[name, tensor] : other.g.weights)          // ... with other weights
    for (float &value : tensor.data)
      value = -2 * value + 1;
  Parsed p = parse(one.g.text(one.outputs), one.g.functionName);
  Parsed q = parse(other.g.text(other.outputs), other.g.functionName);
  EXPECT_EQ(pipelineSignature(p.fn), pipelineSignature(q.fn));
}

} // namespace
} // namespace kiln::test
