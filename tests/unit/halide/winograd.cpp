// Tests of the Winograd F(2x2, 3x3) conv of the Halide backend: it matches the reference
// interpreter over odd sizes, padding, batch > 1, channels off the vector width and fused
// epilogues, under the default and small tiles; Auto picks it only where it applies and the shape
// favours it; a tuned schedule's algorithm is what the pipeline computes.
#include "graph_builder.h"

#include <fstream>
#include <sstream>

namespace kiln::test {
namespace {

/// The lowered layers of `outputs` of `g` under `options`, and whether Halide's statement of the
/// pipeline mentions the Winograd products.
struct Lowered {
  std::vector<HalideStageSchedule> schedules;
  bool winogradInPipeline = false;
};

Lowered lower(const Graph &g, const std::vector<Graph::V> &outputs, const HalideScheduleOptions &options,
              bool withStatement = false) {
  Parsed p = parse(g.text(outputs), g.functionName);
  Lowered lowered;
  std::string error;
  auto model = lowerToHalide(p.fn, g.weights, options, error);
  EXPECT_TRUE(mlir::succeeded(model)) << error;
  if (mlir::failed(model))
    return lowered;
  for (const HalideLayer &layer : model->layers)
    lowered.schedules.push_back(layer.schedule);
  if (withStatement) {
    std::string path = ::testing::TempDir() + "winograd_test.stmt";
    EXPECT_TRUE(mlir::succeeded(emitStmt(*model, path, false, error))) << error;
    std::stringstream text;
    text << std::ifstream(path).rdbuf();
    lowered.winogradInPipeline = text.str().find("winograd_product") != std::string::npos;
  }
  return lowered;
}

HalideScheduleOptions forced(ConvAlgorithm algorithm) {
  HalideScheduleOptions options;
  options.convAlgorithm = algorithm;
  return options;
}

/// Forced Winograd with small, narrow tiles that leave tails everywhere, serial.
HalideScheduleOptions smallTiles() {
  HalideScheduleOptions options = forced(ConvAlgorithm::Winograd);
  options.vectorWidth = 8;
  options.convChannelBlock = 8;
  options.convPixelBlock = 3;
  options.convRowBlock = 2;
  options.convReductionUnroll = 1;
  options.parallel = false;
  return options;
}

struct WinogradCase {
  const char *name;
  Shape input;
  int64_t filters;
  std::vector<int64_t> padding;
  bool bias;
};

void PrintTo(const WinogradCase &c, std::ostream *os) { *os << c.name; }

class WinogradConvTest : public ::testing::TestWithParam<WinogradCase> {};

// Odd and even outputs (the last tile half outside), valid and asymmetric padding, batch 3,
// channels below, off and above the vector width, several tile blocks along x.
const WinogradCase winogradCases[] = {
    {"c16_f32_9x11_pad1", {1, 16, 9, 11}, 32, {1, 1, 1, 1}, true},
    {"c24_f40_batch3_asym", {3, 24, 7, 13}, 40, {1, 0, 0, 1}, true},
    {"c8_f8_valid_odd", {1, 8, 9, 9}, 8, {0, 0, 0, 0}, true},
    {"c33_f35_batch2_nobias", {2, 33, 6, 5}, 35, {1, 1, 1, 1}, false},
    {"c8_f12_output_2x2", {1, 8, 4, 4}, 12, {0, 0, 0, 0}, true},
    {"c64_f64_30x30", {1, 64, 30, 30}, 64, {1, 1, 1, 1}, true},
};

TEST_P(WinogradConvTest, MatchesReference) {
  const WinogradCase &c = GetParam();
  Graph g(testRng());
  auto x = g.input(c.input);
  auto y = g.conv(x, c.filters, {3, 3}, {1, 1}, c.padding, {1, 1}, 1, c.bias);
  for (const HalideScheduleOptions &options : {forced(ConvAlgorithm::Winograd), smallTiles()}) {
    expectMatchesReference(g, {y}, options);
    Lowered lowered = lower(g, {y}, options);
    ASSERT_EQ(lowered.schedules.size(), 1u);
    EXPECT_EQ(lowered.schedules[0].convAlgorithm, ConvAlgorithm::Winograd);
  }
}

INSTANTIATE_TEST_SUITE_P(Halide, WinogradConvTest, ::testing::ValuesIn(winogradCases),
                         [](const auto &info) { return std::string(info.param.name); });

TEST(HalideWinograd, FusedResidualAndBatchNormEpilogues) {
  Graph g(testRng());
  auto x = g.input({2, 32, 11, 9});
  auto skip = g.input({2, 32, 11, 9});
  auto residual = g.unary("relu", g.add(g.conv(x, 32, {3, 3}, {1, 1}, {1, 1, 1, 1}), skip));
  auto normalised = g.unary("relu", g.batchNorm(g.conv(x, 32, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1, false)));
  for (const HalideScheduleOptions &options : {forced(ConvAlgorithm::Winograd), smallTiles()})
    expectMatchesReference(g, {residual, normalised}, options);
}

TEST(HalideWinograd, AutoPicksItWhereItAppliesAndIsFavoured) {
  Graph g(testRng());
  auto x = g.input({1, 16, 12, 12});
  auto favoured = g.conv(x, 24, {3, 3}, {1, 1}, {1, 1, 1, 1}); // 6 tiles per row
  auto narrow = g.conv(g.input({1, 16, 9, 9}), 24, {3, 3}, {1, 1}, {1, 1, 1, 1}); // 5 tiles per row
  auto strided = g.conv(x, 32, {3, 3}, {2, 2}, {1, 1, 1, 1});
  auto grouped = g.conv(x, 32, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 2);
  auto dilated = g.conv(x, 32, {3, 3}, {1, 1}, {2, 2, 2, 2}, {2, 2});
  auto pointwise = g.conv(x, 32, {1, 1}, {1, 1}, {0, 0, 0, 0});
  std::vector<Graph::V> outputs = {favoured, narrow, strided, grouped, dilated, pointwise};
  expectMatchesReference(g, outputs);
  Lowered automatic = lower(g, outputs, {});
  ASSERT_EQ(automatic.schedules.size(), outputs.size());
  EXPECT_EQ(automatic.schedules[0].convAlgorithm, ConvAlgorithm::Winograd);
  for (size_t i = 1; i < outputs.size(); ++i)
    EXPECT_EQ(automatic.schedules[i].convAlgorithm, ConvAlgorithm::Direct) << "conv " << i;
  // Forcing Winograd changes only the convs it applies to; forcing direct, every conv.
  Lowered everywhere = lower(g, outputs, forced(ConvAlgorithm::Winograd));
  ASSERT_EQ(everywhere.schedules.size(), outputs.size());
  EXPECT_EQ(everywhere.schedules[1].convAlgorithm, ConvAlgorithm::Winograd);
  for (size_t i = 2; i < outputs.size(); ++i)
    EXPECT_EQ(everywhere.schedules[i].convAlgorithm, ConvAlgorithm::Direct) << "conv " << i;
  for (const HalideStageSchedule &s : lower(g, outputs, forced(ConvAlgorithm::Direct)).schedules)
    EXPECT_EQ(s.convAlgorithm, ConvAlgorithm::Direct);
}

TEST(HalideWinograd, TunedAlgorithmIsTheOneComputed) {
  // The tuned key is the layer's signature, known only once the relu is fused: the conv is lowered
  // again when its tuned algorithm differs from the default's.
  Graph g(testRng());
  auto x = g.input({1, 32, 12, 12});
  auto y = g.unary("relu", g.conv(x, 32, {3, 3}, {1, 1}, {1, 1, 1, 1}));
  Lowered automatic = lower(g, {y}, {}, true);
  ASSERT_EQ(automatic.schedules.size(), 1u);
  EXPECT_EQ(automatic.schedules[0].convAlgorithm, ConvAlgorithm::Winograd);
  EXPECT_TRUE(automatic.winogradInPipeline);

  Parsed p = parse(g.text({y}), g.functionName);
  std::string error;
  auto model = lowerToHalide(p.fn, g.weights, {}, error);
  ASSERT_TRUE(mlir::succeeded(model)) << error;
  ASSERT_EQ(model->layers.size(), 1u);
  HalideScheduleOptions tuned;
  tuned.tuned[model->layers[0].signature].convAlgorithm = ConvAlgorithm::Direct;
  Lowered direct = lower(g, {y}, tuned, true);
  ASSERT_EQ(direct.schedules.size(), 1u);
  EXPECT_EQ(direct.schedules[0].convAlgorithm, ConvAlgorithm::Direct);
  EXPECT_FALSE(direct.winogradInPipeline);
  expectMatchesReference(g, {y}, tuned);

  // And the other way: a global Direct, the layer tuned to Winograd.
  HalideScheduleOptions winograd = forced(ConvAlgorithm::Direct);
  winograd.tuned[model->layers[0].signature].convAlgorithm = ConvAlgorithm::Winograd;
  Lowered chosen = lower(g, {y}, winograd, true);
  EXPECT_EQ(chosen.schedules[0].convAlgorithm, ConvAlgorithm::Winograd);
  EXPECT_TRUE(chosen.winogradInPipeline);
  expectMatchesReference(g, {y}, winograd);
}

} // namespace
} // namespace kiln::test
