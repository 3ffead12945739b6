// `kiln tune`: measures candidate schedules for each distinct conv and dense layer of a model on
// this machine and keeps the best per layer signature in a JSON-lines file, then times the whole
// model with them against Halide's autoschedulers and records the fastest (docs/tuning.md).
#ifndef KILN_DRIVER_TUNECOMMAND_H
#define KILN_DRIVER_TUNECOMMAND_H

#include <cstdint>
#include <optional>
#include <string>

namespace kiln {

struct TuneCommandOptions {
  std::string modelPath;
  std::string weightsPath;
  std::optional<int64_t> batch;
  uint64_t seed = 0;
  std::string budget = "5m";           ///< "90s", "5m", "1h" or plain seconds
  int threads = 0;                     ///< 0: every core
  std::string outputPath = "tuning.json";
  bool refine = false;                 ///< also search layers whose record is complete
};

/// Parses a budget ("90s", "5m", "1h", "300"); nullopt when malformed or not positive.
std::optional<double> parseBudget(const std::string &text);

/// Tunes, prints the summary tables; returns the exit code (130 after Ctrl-C, with the file valid).
int runTune(const TuneCommandOptions &options);

} // namespace kiln

#endif
