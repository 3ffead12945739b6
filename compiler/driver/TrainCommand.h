// `kiln train`: trains a library compiled with --train on .npy data (shuffled mini-batches of
// the library's compiled batch size), reporting the loss per epoch and saving a checkpoint
// after each epoch.
#ifndef KILN_DRIVER_TRAINCOMMAND_H
#define KILN_DRIVER_TRAINCOMMAND_H

#include <cstdint>
#include <optional>
#include <string>

namespace kiln {

struct TrainOptions {
  std::string libraryPath; // lib<N>.so compiled with --train
  std::string inputsPath;  // X: float32 [num, <input shape without the batch dimension>]
  std::string labelsPath;  // Y: int32/int64 class indices [num], or float32 targets [num, ...]
  int epochs = 1;
  std::optional<int64_t> batch;            // must equal the library's batch when given
  std::optional<float> learningRate;       // replaces the library's (or the checkpoint's) rate
  bool shuffle = true;
  uint64_t seed = 0;                       // of the shuffling
  std::string loadPath;                    // checkpoint to start from
  std::string savePath;                    // checkpoint written after each epoch
  int threads = 0;                         // worker threads (0: the library's default)
};

/// Trains and reports errors on stderr; returns the process exit code.
int runTrain(const TrainOptions &options);

} // namespace kiln

#endif
