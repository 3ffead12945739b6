// The fake training model "trainee" (fake_train.c) made into a library: its interface, initial
// parameters and a builder. Shared by the training unit tests and kiln_fake_training_library,
// which makes such libraries for the `kiln train` end-to-end test. Needs KILN_TEST_SOURCE_DIR and
// KILN_TEST_HALIDE_INCLUDE_DIR.
#ifndef KILN_TESTS_UNIT_EMIT_FAKETRAINING_H
#define KILN_TESTS_UNIT_EMIT_FAKETRAINING_H

#include "compiler/emit/LibraryEmitter.h"
#include "compiler/emit/Subprocess.h"

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace kiln::test {

/// The initial parameters of the trainee: w = {0.5, -1, 2}, then b = {0.25}.
inline const std::vector<float> &traineeInitialParams() {
  static const std::vector<float> values = {0.5f, -1.0f, 2.0f, 0.25f};
  return values;
}

/// The trainee's interface: x float32[2][3] -> y float32[2][3], parameters w[3] and b[1], momentum
/// state, learning rate 0.1; labels are targets float32[2][3], or class indices float32[2].
inline ModelInterface traineeModel(const std::string &name, BackendAbi abi, bool classLabels,
                                   const std::string &initialParams) {
  ModelInterface model{name, {{"x", {2, 3}}}, {{"y", {2, 3}}}, abi};
  TrainingInterface training;
  training.params = {{"w", {3}}, {"b", {1}}};
  training.state = {{"w.momentum_buffer", {3}}, {"b.momentum_buffer", {1}}};
  training.labels = {"labels", classLabels ? std::vector<int64_t>{2} : std::vector<int64_t>{2, 3}};
  training.optimizer = "momentum";
  training.learningRate = 0.1f;
  training.initialParams = initialParams;
  training.trainFunction = "fake_train_step";
  model.training = training;
  return model;
}

/// Compiles fake_train.c for this variant (objects in <dir>-objects), writes the initial
/// parameters there and emits lib<name>.so, lib<name>.a and <name>.h into `dir`.
inline bool buildTrainee(const std::string &name, BackendAbi abi, bool classLabels, const std::filesystem::path &dir,
                         std::string &error) {
  namespace fs = std::filesystem;
  const fs::path objects = dir.string() + "-objects";
  fs::create_directories(objects);
  const std::string source = KILN_TEST_SOURCE_DIR;
  std::vector<std::string> compile = {"cc", "-std=c11", "-Wall", "-Werror", "-c", "-fPIC"};
  if (abi == BackendAbi::BarePointers)
    compile.push_back("-DFAKE_TRAIN_BARE_POINTERS");
  if (classLabels)
    compile.push_back("-DFAKE_TRAIN_CLASS_LABELS");
  compile.insert(compile.end(), {"-I", KILN_TEST_HALIDE_INCLUDE_DIR, source + "/fake_train.c", "-o",
                                 (objects / "fake_train.o").string()});
  std::string output;
  if (!runTool(compile, output, error))
    return false;
  std::vector<std::string> backend = {(objects / "fake_train.o").string()};
  if (abi == BackendAbi::HalideBuffers) {
    backend.push_back((objects / "fake_runtime.o").string());
    if (!runTool({"cc", "-std=c11", "-c", "-fPIC", source + "/fake_runtime.c", "-o", backend.back()}, output, error))
      return false;
  }
  const fs::path params = objects / "initial_params.bin";
  std::ofstream(params, std::ios::binary)
      .write(reinterpret_cast<const char *>(traineeInitialParams().data()),
             static_cast<std::streamsize>(traineeInitialParams().size() * sizeof(float)));
  return emitLibrary(traineeModel(name, abi, classLabels, params.string()), backend, "fake_train", dir.string(),
                     error);
}

} // namespace kiln::test

#endif
