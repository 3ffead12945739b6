// Runs a Kiln-compiled model library (lib<N>.so) inside the calling process, and binds model
// inputs/outputs to .npy files for `kiln run`-style tools. Expects a library written by
// emitLibrary (it looks up N_model_info, N_create, N_run, N_set_threads, N_last_error, and for
// a training library, one that defines N_training_info, the N_train_step_multi API as well).
// Guarantees: failures return false with a message naming the library, tensor or file.
#ifndef KILN_RUNNER_LOADEDMODEL_H
#define KILN_RUNNER_LOADEDMODEL_H

#include "compiler/emit/LibraryEmitter.h"
#include "kiln/Dialect/NN/HostTensor.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace kiln {

/// A model library opened with dlopen, with one context. Not thread-safe: use one
/// LoadedModel per thread.
class LoadedModel {
public:
  /// Opens `soPath` (named lib<N>.so) with RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND (DEEPBIND keeps
  /// the model's own runtime symbols when the process also holds Halide or LLVM), finds the
  /// N_* API and creates a context. Returns null and sets `error` on failure.
  static std::unique_ptr<LoadedModel> open(const std::string &soPath, std::string &error);
  ~LoadedModel();
  LoadedModel(const LoadedModel &) = delete;
  LoadedModel &operator=(const LoadedModel &) = delete;

  const std::string &name() const { return modelName; }
  const std::vector<TensorSpec> &inputs() const { return inputSpecs; }
  const std::vector<TensorSpec> &outputs() const { return outputSpecs; }

  /// Threads for later runs: 0 = the library default, 1..256 = that many.
  bool setThreads(int threads, std::string &error);

  /// Runs the model. `in` must match inputs() in count and shapes; `out` is resized to outputs().
  bool run(const std::vector<HostTensor> &in, std::vector<HostTensor> &out, std::string &error);

  // ---- Training libraries (compiled with --train) ----

  /// The training interface (params, state, labels, optimizer and the initial learning rate;
  /// initialParams and trainFunction are empty), or null for an inference-only library.
  const TrainingInterface *training() const { return trainingSpecs ? &*trainingSpecs : nullptr; }

  /// One training step: `in` as for run, `labels` of the shape training()->labels has; `loss`
  /// receives the batch's mean loss. A failed step leaves the library's parameters as they were.
  bool trainStep(const std::vector<HostTensor> &in, const HostTensor &labels, float &loss, std::string &error);

  bool setLearningRate(float learningRate, std::string &error);
  float learningRate() const;
  int64_t stepCount() const;

  /// The library's N_save / N_load (atomic safetensors checkpoints).
  bool save(const std::string &checkpoint, std::string &error);
  bool load(const std::string &checkpoint, std::string &error);

private:
  struct Api;
  struct TrainingApi;
  LoadedModel() = default;
  bool checkInputs(const std::vector<HostTensor> &in, std::vector<const float *> &pointers, std::string &error) const;
  bool requireTraining(const char *what, std::string &error) const;
  /// True for KILN_OK; else false with the library's message for the failed call (N<function>).
  bool succeeded(int status, const std::string &function, std::string &error) const;
  void *handle = nullptr;
  void *context = nullptr;
  std::unique_ptr<Api> api;
  std::unique_ptr<TrainingApi> trainingApi;
  std::string modelName, path;
  std::vector<TensorSpec> inputSpecs, outputSpecs;
  std::optional<TrainingInterface> trainingSpecs;
};

/// Binds `--input [NAME=]file.npy` arguments to `specs`: named bindings by name, the unnamed
/// ones to the remaining inputs in model order (only when their count matches). Loads every
/// file and checks its shape. On success `out[i]` holds the tensor for `specs[i]`.
bool loadInputs(const std::vector<std::string> &bindings, const std::vector<TensorSpec> &specs,
                std::vector<HostTensor> &out, std::string &error);

/// Writes `tensors[i]` (the value of `specs[i]`) to the file bound to it by `bindings`
/// (`[NAME=]file.npy`, matched like loadInputs). Outputs without a binding are not written.
bool writeOutputs(const std::vector<std::string> &bindings, const std::vector<TensorSpec> &specs,
                  const std::vector<HostTensor> &tensors, std::string &error);

/// Wall-clock statistics of repeated runs, in milliseconds. `runs` counts the calls that
/// succeeded; timing stops at the first call that returns false.
struct Timing {
  double minMs = 0, medianMs = 0, maxMs = 0;
  int runs = 0;
};

/// Calls `fn` `repeat` times (at least once) and times each call.
Timing timeRuns(std::function<bool()> fn, int repeat);

} // namespace kiln

#endif
