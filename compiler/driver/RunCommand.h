// `kiln run`: runs a compiled library (or, with --reference, the reference interpreter) on
// .npy files.
#ifndef KILN_DRIVER_RUNCOMMAND_H
#define KILN_DRIVER_RUNCOMMAND_H

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kiln {

struct RunOptions {
  std::string libraryPath;   // lib<N>.so; empty with --reference
  std::string referenceModel; // model file for the interpreter
  std::string weightsPath;    // with --reference: safetensors, else seeded init
  std::optional<int64_t> batch;
  uint64_t seed = 0;
  std::vector<std::string> inputs;  // [NAME=]x.npy
  std::vector<std::string> outputs; // [NAME=]y.npy
  int threads = 0;                  // 0: the library's default
  int repeat = 0;                   // > 0: time this many calls after a warm-up
};

/// Runs and reports errors on stderr; returns the process exit code.
int runModel(const RunOptions &options);

} // namespace kiln

#endif
