// Helpers shared by the emit unit tests: a scratch directory per test process, fake backend
// objects compiled from this directory's C files, and models emitted from them (made lazily,
// once per process).
#ifndef KILN_TESTS_UNIT_EMIT_EMITTESTUTIL_H
#define KILN_TESTS_UNIT_EMIT_EMITTESTUTIL_H

#include "compiler/emit/LibraryEmitter.h"
#include "compiler/emit/Subprocess.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace kiln::test {

namespace fs = std::filesystem;

/// A fresh directory, removed with everything in it when the process exits.
inline const fs::path &scratchDir() {
  struct Dir {
    fs::path path;
    Dir() {
      std::string pattern = (fs::temp_directory_path() / "kiln-emit-test-XXXXXX").string();
      path = ::mkdtemp(pattern.data()) ? fs::path(pattern) : fs::path();
    }
    ~Dir() {
      std::error_code ec;
      if (!path.empty())
        fs::remove_all(path, ec);
    }
  };
  static Dir dir;
  return dir.path;
}

/// Runs a command, failing the test (with the tool's output) when it does not succeed.
inline std::string mustRun(const std::vector<std::string> &argv) {
  std::string output, error;
  EXPECT_TRUE(runTool(argv, output, error)) << error;
  return output;
}

/// Compiles fake_<fn>.c to <dir>/<fn>.o and the fake runtime to <dir>/<fn>_halide_runtime.o,
/// the two objects the Halide backend produces. Returns their paths.
inline std::vector<std::string> fakeBackend(const std::string &fn) {
  fs::path dir = scratchDir() / "objects";
  fs::create_directories(dir);
  std::string object = (dir / (fn + ".o")).string(), runtime = (dir / (fn + "_halide_runtime.o")).string();
  if (!fs::exists(object)) {
    std::string src = KILN_TEST_SOURCE_DIR;
    mustRun({"cc", "-std=c11", "-Wall", "-Werror", "-c", "-fPIC", "-I", KILN_TEST_HALIDE_INCLUDE_DIR,
             src + "/fake_" + fn.substr(5) + ".c", "-o", object});
    mustRun({"cc", "-std=c11", "-Wall", "-Werror", "-c", "-fPIC", src + "/fake_runtime.c", "-o", runtime});
  }
  return {object, runtime};
}

/// affine: x float32[2][3][4] -> y float32[2][3][4], backed by fake_affine (y = 2x + 1).
inline ModelInterface affineModel() { return {"affine", {{"x", {2, 3, 4}}}, {{"y", {2, 3, 4}}}}; }

/// pair: a, b float32[4] -> sum, diff float32[4], backed by fake_pair.
inline ModelInterface pairModel() {
  return {"pair", {{"a", {4}}, {"b", {4}}}, {{"sum", {4}}, {"diff", {4}}}};
}

/// The directory holding lib<name>.so/.a and <name>.h for `model`, emitted on first use.
inline fs::path emitted(const ModelInterface &model, const std::string &fn) {
  fs::path dir = scratchDir() / ("model-" + model.name);
  if (!fs::exists(dir / (model.name + ".h"))) {
    std::string error;
    EXPECT_TRUE(emitLibrary(model, fakeBackend(fn), fn, dir.string(), error)) << error;
  }
  return dir;
}

} // namespace kiln::test

#endif
