// Reading, merging and writing kiln tune's JSON-lines records (see TuningRecords.h).
#include "compiler/tune/TuningRecords.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

using namespace mlir;
using nlohmann::json;

namespace kiln {

namespace {
/// The schedule knobs as JSON keys, in the order they are written.
struct Knob {
  const char *key;
  int HalideStageSchedule::*field;
};
const Knob kIntKnobs[] = {
    {"vector_width", &HalideStageSchedule::vectorWidth},
    {"conv_channel_block", &HalideStageSchedule::convChannelBlock},
    {"conv_pixel_block", &HalideStageSchedule::convPixelBlock},
    {"conv_row_block", &HalideStageSchedule::convRowBlock},
    {"conv_reduction_unroll", &HalideStageSchedule::convReductionUnroll},
    {"dense_block", &HalideStageSchedule::denseBlock},
};
} // namespace

/// A pipeline record's "autoscheduler": the name, "kiln" for Kiln's tuned schedules, or
/// kDefaultSchedules ("kiln-default") for Kiln's defaults.
static const char kKilnSchedules[] = "kiln";

std::string formatRecord(const TuningRecord &r) {
  // Keys in the order written here (the key first, then the schedule, then the evidence).
  nlohmann::ordered_json line = nlohmann::ordered_json::object();
  line["signature"] = r.signature;
  line["target"] = r.target;
  if (r.isPipeline()) {
    line["autoscheduler"] = r.autoscheduler.empty() ? kKilnSchedules : r.autoscheduler;
  } else {
    nlohmann::ordered_json schedule = nlohmann::ordered_json::object();
    for (const Knob &knob : kIntKnobs)
      schedule[knob.key] = r.schedule.*knob.field;
    schedule["conv_channels_outer"] = r.schedule.convChannelsOuter.value_or(false);
    schedule["conv_algorithm"] = r.schedule.convAlgorithm == ConvAlgorithm::Winograd ? "winograd" : "direct";
    schedule["parallel"] = r.schedule.parallel;
    schedule["parallel_min_elements"] = r.schedule.parallelMinElements;
    line["schedule"] = schedule;
  }
  line["best_ms"] = r.bestMs;
  line["default_ms"] = r.defaultMs;
  line["speedup"] = r.bestMs > 0 ? r.defaultMs / r.bestMs : 0.0;
  line["trials"] = r.trials;
  line["threads"] = r.threads;
  line["complete"] = r.complete;
  line["layers"] = r.layers;
  return line.dump();
}

/// A pipeline record's "autoscheduler" into `r`.
static LogicalResult parseAutoscheduler(const json &line, TuningRecord &r, std::string &error) {
  auto it = line.find("autoscheduler");
  const std::vector<std::string> &names = halideAutoschedulers();
  std::string name = it != line.end() && it->is_string() ? it->get<std::string>() : "";
  if (name != kKilnSchedules && name != kDefaultSchedules && std::find(names.begin(), names.end(), name) == names.end()) {
    error = std::string("a pipeline record needs \"autoscheduler\": \"") + kKilnSchedules + "\", \"" +
            kDefaultSchedules + "\"";
    for (const std::string &known : names)
      error += ", \"" + known + "\"";
    return failure();
  }
  r.autoscheduler = name == kKilnSchedules ? "" : name;
  return success();
}

LogicalResult parseRecord(const std::string &text, TuningRecord &r, std::string &error) {
  json line;
  try {
    line = json::parse(text);
  } catch (const json::parse_error &e) {
    error = "invalid JSON at column " + std::to_string(e.byte) + ": " + e.what();
    return failure();
  }
  auto field = [&](const json &object, const char *key, json::value_t type, const char *what) -> const json * {
    auto it = object.find(key);
    bool numeric = type == json::value_t::number_float;
    if (it == object.end() || !(it->type() == type || (numeric && it->is_number()) ||
                                (type == json::value_t::number_integer && it->is_number_integer()))) {
      error = std::string("record needs \"") + key + "\" (" + what + ")";
      return nullptr;
    }
    return &*it;
  };
  if (!line.is_object()) {
    error = "a record must be a JSON object";
    return failure();
  }
  const json *signature = field(line, "signature", json::value_t::string, "a string");
  const json *target = signature ? field(line, "target", json::value_t::string, "a string") : nullptr;
  const json *best = target ? field(line, "best_ms", json::value_t::number_float, "a number") : nullptr;
  const json *fallback = best ? field(line, "default_ms", json::value_t::number_float, "a number") : nullptr;
  if (!fallback)
    return failure();
  r = TuningRecord{};
  r.signature = signature->get<std::string>();
  r.target = target->get<std::string>();
  r.bestMs = best->get<double>();
  r.defaultMs = fallback->get<double>();
  r.trials = line.value("trials", 0);
  r.threads = line.value("threads", 0);
  r.complete = line.value("complete", false);
  if (auto layers = line.find("layers"); layers != line.end() && layers->is_array())
    for (const json &name : *layers)
      if (name.is_string())
        r.layers.push_back(name.get<std::string>());
  if (r.isPipeline())
    return parseAutoscheduler(line, r, error);
  const json *schedule = field(line, "schedule", json::value_t::object, "an object");
  if (!schedule)
    return failure();
  for (const Knob &knob : kIntKnobs) {
    const json *value = field(*schedule, knob.key, json::value_t::number_integer, "a positive integer");
    if (!value || value->get<int64_t>() < 1 || value->get<int64_t>() > 4096) {
      error = std::string("schedule needs \"") + knob.key + "\" (an integer from 1 to 4096)";
      return failure();
    }
    r.schedule.*knob.field = value->get<int>();
  }
  const json *parallel = field(*schedule, "parallel", json::value_t::boolean, "true or false");
  const json *threshold =
      parallel ? field(*schedule, "parallel_min_elements", json::value_t::number_integer, "an integer") : nullptr;
  if (!threshold)
    return failure();
  r.schedule.parallel = parallel->get<bool>();
  r.schedule.convChannelsOuter = schedule->value("conv_channels_outer", false); // absent in older records
  // Absent in older records, which were measured with the direct conv.
  const std::string algorithm = schedule->value("conv_algorithm", std::string("direct"));
  if (algorithm != "direct" && algorithm != "winograd") {
    error = "schedule's \"conv_algorithm\" must be \"direct\" or \"winograd\"";
    return failure();
  }
  r.schedule.convAlgorithm = algorithm == "winograd" ? ConvAlgorithm::Winograd : ConvAlgorithm::Direct;
  r.schedule.parallelMinElements = threshold->get<int64_t>();
  return success();
}

LogicalResult readRecords(const std::string &path, bool missingIsEmpty, std::vector<TuningRecord> &records,
                          std::string &error) {
  if (missingIsEmpty && !std::filesystem::exists(path))
    return success();
  std::ifstream in(path);
  if (!in) {
    error = path + ": error: cannot read the tuning file";
    return failure();
  }
  std::string text;
  for (int lineNumber = 1; std::getline(in, text); ++lineNumber) {
    if (text.find_first_not_of(" \t\r") == std::string::npos)
      continue;
    TuningRecord record;
    std::string why;
    if (failed(parseRecord(text, record, why))) {
      error = path + ":" + std::to_string(lineNumber) + ": error: " + why;
      return failure();
    }
    mergeRecord(records, record);
  }
  return success();
}

void mergeRecord(std::vector<TuningRecord> &records, const TuningRecord &record) {
  for (TuningRecord &existing : records) {
    if (existing.signature != record.signature || existing.target != record.target)
      continue;
    int trials = existing.trials + record.trials;
    bool complete = existing.complete || record.complete;
    if (record.bestMs < existing.bestMs)
      existing = record;
    existing.trials = trials;
    existing.complete = complete;
    return;
  }
  records.push_back(record);
}

LogicalResult writeRecords(const std::string &path, const std::vector<TuningRecord> &records, std::string &error) {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    for (const TuningRecord &record : records)
      out << formatRecord(record) << "\n";
    out.flush();
    if (!out) {
      error = "cannot write '" + temporary + "'";
      return failure();
    }
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    error = "cannot rename '" + temporary + "' to '" + path + "'";
    return failure();
  }
  return success();
}

LogicalResult readTunedSchedules(const std::string &path, HalideScheduleOptions &options, std::string &error) {
  std::vector<TuningRecord> records;
  if (failed(readRecords(path, false, records, error)))
    return failure();
  const std::string target = hostTargetString();
  for (const TuningRecord &record : records) {
    if (record.target != target)
      continue;
    if (record.isPipeline())
      options.tunedPipelines[record.signature] = record.autoscheduler;
    else
      options.tuned[record.signature] = record.schedule;
  }
  return success();
}

std::string hostTargetString() { return Halide::get_host_target().to_string(); }

} // namespace kiln
