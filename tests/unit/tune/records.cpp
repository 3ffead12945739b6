// Tests that tuning records (layer and pipeline) survive a write/read round trip, that bad lines
// are reported with the file and line, that merging keeps the faster record per (signature,
// target) key, and that the tuned schedules for compile are those of this host's target only.
#include "compiler/tune/TuningRecords.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace kiln {
namespace {

TuningRecord sample(const std::string &signature, double bestMs, const std::string &target = hostTargetString()) {
  TuningRecord r;
  r.signature = signature;
  r.target = target;
  r.schedule.convPixelBlock = 7;
  r.schedule.convRowBlock = 2;
  r.schedule.parallel = false;
  r.schedule.convChannelsOuter = true;
  r.schedule.convAlgorithm = ConvAlgorithm::Winograd;
  r.bestMs = bestMs;
  r.defaultMs = 2.0;
  r.trials = 5;
  r.threads = 2;
  r.complete = true;
  r.layers = {"c1", "c2"};
  return r;
}

std::string scratchFile(const std::string &name) {
  auto path = std::filesystem::temp_directory_path() / ("kiln_tune_" + std::to_string(::getpid()) + "_" + name);
  std::filesystem::remove(path);
  return path.string();
}

TEST(TuningRecords, FormatAndParseRoundTrip) {
  TuningRecord in = sample("conv2d(1x3x8x8,4x3x3x3,4) strides=1x1", 1.5);
  std::string line = formatRecord(in);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(line.rfind("{\"signature\":", 0), 0u) << line; // the key first: readable with grep
  for (const char *key : {"\"target\"", "\"schedule\"", "\"best_ms\"", "\"default_ms\"", "\"speedup\"",
                          "\"conv_row_block\"", "\"parallel_min_elements\""})
    EXPECT_NE(line.find(key), std::string::npos) << key;
  TuningRecord out;
  std::string error;
  ASSERT_TRUE(mlir::succeeded(parseRecord(line, out, error))) << error;
  EXPECT_EQ(out.signature, in.signature);
  EXPECT_EQ(out.target, in.target);
  EXPECT_EQ(out.schedule, in.schedule);
  EXPECT_DOUBLE_EQ(out.bestMs, 1.5);
  EXPECT_DOUBLE_EQ(out.defaultMs, 2.0);
  EXPECT_EQ(out.trials, 5);
  EXPECT_TRUE(out.complete);
  EXPECT_EQ(out.layers, in.layers);
  // Records written before the loop-order knob existed read as rows outermost.
  std::string older = line;
  older.erase(older.find("\"conv_channels_outer\":true,"), std::string("\"conv_channels_outer\":true,").size());
  ASSERT_TRUE(mlir::succeeded(parseRecord(older, out, error))) << error;
  EXPECT_EQ(out.schedule.convChannelsOuter, false);
  // ... and before the algorithm knob, as the direct conv they were measured with.
  EXPECT_NE(line.find("\"conv_algorithm\":\"winograd\""), std::string::npos) << line;
  older.erase(older.find("\"conv_algorithm\":\"winograd\","), std::string("\"conv_algorithm\":\"winograd\",").size());
  ASSERT_TRUE(mlir::succeeded(parseRecord(older, out, error))) << error;
  EXPECT_EQ(out.schedule.convAlgorithm, ConvAlgorithm::Direct);
}

TEST(TuningRecords, ParseErrorsSayWhatIsWrong) {
  TuningRecord r;
  std::string error;
  EXPECT_TRUE(mlir::failed(parseRecord("{\"signature\": ", r, error)));
  EXPECT_NE(error.find("invalid JSON"), std::string::npos) << error;
  EXPECT_TRUE(mlir::failed(parseRecord("[1, 2]", r, error)));
  EXPECT_NE(error.find("JSON object"), std::string::npos) << error;
  std::string line = formatRecord(sample("s", 1.0));
  std::string noSchedule = line;
  noSchedule.replace(noSchedule.find("\"schedule\""), 10, "\"schedules\"");
  EXPECT_TRUE(mlir::failed(parseRecord(noSchedule, r, error)));
  EXPECT_NE(error.find("\"schedule\""), std::string::npos) << error;
  std::string zeroBlock = line;
  zeroBlock.replace(zeroBlock.find("\"conv_pixel_block\":7"), 20, "\"conv_pixel_block\":0");
  EXPECT_TRUE(mlir::failed(parseRecord(zeroBlock, r, error)));
  EXPECT_NE(error.find("conv_pixel_block"), std::string::npos) << error;
  std::string badAlgorithm = line;
  badAlgorithm.replace(badAlgorithm.find("\"winograd\""), 10, "\"fft\"");
  EXPECT_TRUE(mlir::failed(parseRecord(badAlgorithm, r, error)));
  EXPECT_NE(error.find("conv_algorithm"), std::string::npos) << error;
}

TEST(TuningRecords, ReadReportsFileAndLine) {
  std::string path = scratchFile("bad.json");
  {
    std::ofstream out(path);
    out << formatRecord(sample("a", 1.0)) << "\n\n" << formatRecord(sample("b", 1.0)) << "\n{\"signature\": 3}\n";
  }
  std::vector<TuningRecord> records;
  std::string error;
  EXPECT_TRUE(mlir::failed(readRecords(path, false, records, error)));
  EXPECT_EQ(error.rfind(path + ":4: error: ", 0), 0u) << error;
  std::filesystem::remove(path);
  records.clear();
  EXPECT_TRUE(mlir::succeeded(readRecords(path, true, records, error))) << error; // missing: empty
  EXPECT_TRUE(records.empty());
  EXPECT_TRUE(mlir::failed(readRecords(path, false, records, error)));
}

TEST(TuningRecords, MergeKeepsTheFasterRecordPerKey) {
  std::vector<TuningRecord> records;
  mergeRecord(records, sample("a", 1.0));
  TuningRecord slower = sample("a", 1.4);
  slower.schedule.convPixelBlock = 3;
  slower.complete = false;
  mergeRecord(records, slower);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].schedule.convPixelBlock, 7);
  EXPECT_EQ(records[0].trials, 10);
  EXPECT_TRUE(records[0].complete);
  TuningRecord faster = sample("a", 0.8);
  faster.schedule.convPixelBlock = 9;
  mergeRecord(records, faster);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].schedule.convPixelBlock, 9);
  EXPECT_DOUBLE_EQ(records[0].bestMs, 0.8);
  mergeRecord(records, sample("a", 0.5, "arm-64-linux"));  // another target: another key
  mergeRecord(records, sample("b", 3.0));
  EXPECT_EQ(records.size(), 3u);
}

TEST(TuningRecords, WriteIsAtomicAndReadsBack) {
  std::string path = scratchFile("records.json");
  std::vector<TuningRecord> records = {sample("a", 1.0), sample("b", 2.0), sample("c", 0.5, "arm-64-linux")};
  std::string error;
  ASSERT_TRUE(mlir::succeeded(writeRecords(path, records, error))) << error;
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  std::vector<TuningRecord> back;
  ASSERT_TRUE(mlir::succeeded(readRecords(path, false, back, error))) << error;
  ASSERT_EQ(back.size(), 3u);
  EXPECT_EQ(back[1].signature, "b");
  HalideScheduleOptions options;
  ASSERT_TRUE(mlir::succeeded(readTunedSchedules(path, options, error))) << error;
  EXPECT_EQ(options.tuned.size(), 2u); // the arm record is for another target
  EXPECT_EQ(options.tuned.count("c"), 0u);
  EXPECT_EQ(options.tuned["a"].convRowBlock, 2);
  EXPECT_TRUE(options.tunedPipelines.empty());
  std::filesystem::remove(path);
}

TuningRecord pipelineSample(const std::string &autoscheduler, double bestMs) {
  TuningRecord r = sample("pipeline 0123456789abcdef (42 ops)", bestMs);
  r.autoscheduler = autoscheduler;
  r.layers = {"resnet18"};
  return r;
}

TEST(TuningRecords, PipelineRecordsNameTheFastestScheduler) {
  for (const std::string &name : {std::string(), std::string(kDefaultSchedules), std::string("Adams2019"),
                                  std::string("Mullapudi2016")}) {
    std::string line = formatRecord(pipelineSample(name, 3.0));
    EXPECT_EQ(line.find("\"schedule\""), std::string::npos) << line; // no layer knobs
    EXPECT_NE(line.find("\"autoscheduler\":\"" + (name.empty() ? std::string("kiln") : name) + "\""),
              std::string::npos)
        << line;
    TuningRecord out;
    std::string error;
    ASSERT_TRUE(mlir::succeeded(parseRecord(line, out, error))) << error;
    EXPECT_TRUE(out.isPipeline());
    EXPECT_EQ(out.autoscheduler, name);
    EXPECT_DOUBLE_EQ(out.bestMs, 3.0);
  }
  std::string bad = formatRecord(pipelineSample("Adams2019", 3.0));
  bad.replace(bad.find("Adams2019"), 9, "Adams2099");
  TuningRecord out;
  std::string error;
  EXPECT_TRUE(mlir::failed(parseRecord(bad, out, error)));
  EXPECT_NE(error.find("\"autoscheduler\": \"kiln\", \"kiln-default\", \"Adams2019\""), std::string::npos)
      << error;

  std::string path = scratchFile("pipeline.json");
  std::vector<TuningRecord> records = {sample("a", 1.0), pipelineSample("Adams2019", 2.0)};
  mergeRecord(records, pipelineSample("", 1.5)); // Kiln's schedules measured faster: kept
  ASSERT_EQ(records.size(), 2u);
  ASSERT_TRUE(mlir::succeeded(writeRecords(path, records, error))) << error;
  HalideScheduleOptions options;
  ASSERT_TRUE(mlir::succeeded(readTunedSchedules(path, options, error))) << error;
  EXPECT_EQ(options.tuned.size(), 1u);
  ASSERT_EQ(options.tunedPipelines.size(), 1u);
  EXPECT_EQ(options.tunedPipelines.begin()->second, "");
  std::filesystem::remove(path);
}

} // namespace
} // namespace kiln
