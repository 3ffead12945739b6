// Tests that the search's moves (mutation, crossover, nearest) never leave the schedule space,
// that the space excludes register tiles that spill (performance.md: 4 x 7 needs 33 registers),
// and that the cost model ranks a sensible tile above a degenerate one.
#include "compiler/tune/ScheduleSpace.h"

#include <gtest/gtest.h>

namespace kiln {
namespace {

HalideLayer conv56() {
  HalideLayer layer;
  layer.kind = HalideLayer::Kind::Conv;
  layer.extents = {64, 56, 56, 1};
  layer.reduction = {64, 3, 3};
  return layer;
}

TEST(ScheduleSpace, DefaultIsInsideAndSpillingTilesAreNot) {
  ScheduleSpace space;
  HalideStageSchedule s;
  EXPECT_TRUE(space.contains(s, HalideLayer::Kind::Conv));
  EXPECT_TRUE(space.contains(s, HalideLayer::Kind::Dense));
  EXPECT_EQ(ScheduleSpace::registersNeeded(s, HalideLayer::Kind::Conv), 31); // 2 x 14 + 2 + 1
  s.convChannelBlock = 64;
  s.convPixelBlock = 7;
  EXPECT_EQ(ScheduleSpace::registersNeeded(s, HalideLayer::Kind::Conv), 33);
  EXPECT_FALSE(space.contains(s, HalideLayer::Kind::Conv));
  s.convPixelBlock = 6;
  EXPECT_TRUE(space.contains(s, HalideLayer::Kind::Conv));
  s.convChannelBlock = 24; // not a multiple of 16 lanes
  EXPECT_FALSE(space.contains(s, HalideLayer::Kind::Conv));
}

TEST(ScheduleSpace, RandomWalksStayInside) {
  ScheduleSpace space;
  for (HalideLayer::Kind kind : {HalideLayer::Kind::Conv, HalideLayer::Kind::Dense}) {
    std::mt19937 rng(static_cast<uint32_t>(kind == HalideLayer::Kind::Conv ? 1 : 2));
    HalideStageSchedule walker, other;
    int moved = 0;
    for (int step = 0; step < 5000; ++step) {
      HalideStageSchedule next = space.mutate(walker, kind, rng);
      ASSERT_TRUE(space.contains(next, kind)) << formatSchedule(kind, next) << " at step " << step;
      moved += next != walker;
      HalideStageSchedule child = space.crossover(next, other, kind, rng);
      ASSERT_TRUE(space.contains(child, kind)) << formatSchedule(kind, child);
      other = walker;
      walker = next;
    }
    EXPECT_GT(moved, 4000); // mutation nearly always changes something
  }
}

TEST(ScheduleSpace, NearestProjectsAnythingInside) {
  ScheduleSpace space;
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    HalideStageSchedule s;
    s.vectorWidth = 1 + static_cast<int>(rng() % 40);
    s.convChannelBlock = 1 + static_cast<int>(rng() % 300);
    s.convPixelBlock = 1 + static_cast<int>(rng() % 40);
    s.convRowBlock = 1 + static_cast<int>(rng() % 9);
    s.convReductionUnroll = 1 + static_cast<int>(rng() % 20);
    s.denseBlock = 1 + static_cast<int>(rng() % 600);
    for (HalideLayer::Kind kind : {HalideLayer::Kind::Conv, HalideLayer::Kind::Dense})
      ASSERT_TRUE(space.contains(space.nearest(s, kind), kind)) << formatSchedule(kind, space.nearest(s, kind));
  }
}

TEST(ScheduleSpace, EffectiveScheduleIsIdempotentAndClamped) {
  HalideLayer layer = conv56();
  layer.extents = {40, 7, 7, 1};
  HalideStageSchedule s;
  s.convChannelBlock = 64;
  s.convPixelBlock = 16;
  s.convRowBlock = 4;
  HalideStageSchedule e = effectiveSchedule(layer, s);
  EXPECT_EQ(e.convChannelBlock, 32); // whole vectors within 40 channels
  EXPECT_EQ(e.convPixelBlock, 7);    // no wider than the row
  EXPECT_EQ(e.convRowBlock, 4);
  EXPECT_EQ(effectiveSchedule(layer, e), e);
  layer.extents = {16, 7, 7, 1}; // 784 outputs: below the default parallel threshold ...
  layer.reduction = {16, 3, 3};  // ... and 113K multiply-adds: below 64 times it
  EXPECT_FALSE(effectiveSchedule(layer, HalideStageSchedule{}).parallel);
  layer.extents = {512, 1, 1, 1}; // 512 outputs, but 2.4M multiply-adds: parallel by work
  layer.reduction = {512, 3, 3};
  EXPECT_TRUE(effectiveSchedule(layer, HalideStageSchedule{}).parallel);
}

TEST(ScheduleSpace, CostModelPrefersRegisterTiles) {
  HalideLayer layer = conv56();
  HalideStageSchedule tiled; // 2 vectors x 14 pixels
  HalideStageSchedule single = tiled;
  single.convChannelBlock = 16;
  single.convPixelBlock = 1;
  HalideStageSchedule narrow = tiled;
  narrow.vectorWidth = 4;
  narrow.convChannelBlock = 8;
  for (int threads : {1, 2}) {
    double base = predictedCost(layer, effectiveSchedule(layer, tiled), threads);
    EXPECT_LT(base, predictedCost(layer, effectiveSchedule(layer, single), threads));
    EXPECT_LT(base, predictedCost(layer, effectiveSchedule(layer, narrow), threads));
  }
  HalideStageSchedule serial = tiled;
  serial.parallel = false;
  EXPECT_LT(predictedCost(layer, effectiveSchedule(layer, tiled), 2),
            predictedCost(layer, effectiveSchedule(layer, serial), 2));
}

TEST(ScheduleSpace, WinogradOnlyWhereItApplies) {
  HalideLayer layer = conv56();
  HalideStageSchedule winograd;
  winograd.convAlgorithm = ConvAlgorithm::Winograd;
  // Not capable (say stride 2): the direct conv whatever is asked.
  EXPECT_EQ(effectiveSchedule(layer, winograd).convAlgorithm, ConvAlgorithm::Direct);
  EXPECT_EQ(effectiveSchedule(layer, HalideStageSchedule{}).convAlgorithm, ConvAlgorithm::Direct);
  layer.winogradCapable = true;
  EXPECT_EQ(effectiveSchedule(layer, winograd).convAlgorithm, ConvAlgorithm::Winograd);
  EXPECT_EQ(effectiveSchedule(layer, HalideStageSchedule{}).convAlgorithm, ConvAlgorithm::Winograd); // 28 tiles a row
  // Pixel blocks count 2x2 tiles: no more than the 28 per row; rows of tiles per task likewise.
  winograd.convPixelBlock = 16;
  winograd.convRowBlock = 4;
  EXPECT_EQ(effectiveSchedule(layer, winograd).convPixelBlock, 16);
  layer.extents = {64, 7, 7, 1};
  EXPECT_EQ(effectiveSchedule(layer, winograd).convPixelBlock, 4);
  EXPECT_EQ(effectiveSchedule(layer, winograd).convRowBlock, 3);
  EXPECT_EQ(effectiveSchedule(layer, HalideStageSchedule{}).convAlgorithm, ConvAlgorithm::Direct); // 4 tiles a row
  // The cost model sees Winograd's fewer multiply-adds on a wide layer.
  layer.extents = {64, 56, 56, 1};
  winograd = HalideStageSchedule{};
  winograd.convAlgorithm = ConvAlgorithm::Winograd;
  HalideStageSchedule direct;
  direct.convAlgorithm = ConvAlgorithm::Direct;
  EXPECT_LT(predictedCost(layer, effectiveSchedule(layer, winograd), 1),
            predictedCost(layer, effectiveSchedule(layer, direct), 1));
}

TEST(ScheduleSpace, LoopOrderDefaultFollowsTheWeights) {
  HalideLayer layer = conv56(); // 144 KiB of weights, 784 KiB of input: rows outermost
  EXPECT_EQ(effectiveSchedule(layer, HalideStageSchedule{}).convChannelsOuter, false);
  layer.extents = {512, 7, 7, 1}; // 9 MiB of weights, 98 KiB of input: channel blocks outermost
  layer.reduction = {512, 3, 3};
  EXPECT_EQ(effectiveSchedule(layer, HalideStageSchedule{}).convChannelsOuter, true);
  HalideStageSchedule rows;
  rows.convChannelsOuter = false; // an explicit choice (a tuned record) is kept
  EXPECT_EQ(effectiveSchedule(layer, rows).convChannelsOuter, false);
}

} // namespace
} // namespace kiln
