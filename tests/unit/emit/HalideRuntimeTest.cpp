// Tests the emitted glue against real Halide objects and Halide's own runtime: results,
// thread pool, and a Halide bounds error arriving as a message instead of abort().
#include "EmitTestUtil.h"

#include "compiler/runner/LoadedModel.h"

namespace kiln::test {
namespace {

std::unique_ptr<LoadedModel> emitAndOpen(const std::string &name, const std::string &fn) {
  ModelInterface model = {name, {{"x", {2, 3, 4}}}, {{"y", {2, 3, 4}}}};
  fs::path dir = scratchDir() / ("halide-" + name);
  std::string objects = KILN_TEST_HALIDE_OBJECT_DIR, error;
  EXPECT_TRUE(emitLibrary(model, {objects + "/" + fn + ".o", objects + "/hl_halide_runtime.o"}, fn, dir.string(), error))
      << error;
  auto loaded = LoadedModel::open((dir / ("lib" + name + ".so")).string(), error);
  EXPECT_TRUE(loaded) << error;
  return loaded;
}

TEST(HalideRuntime, RunsAParallelPipeline) {
  auto model = emitAndOpen("affine", "hl_affine");
  ASSERT_TRUE(model);
  HostTensor in({2, 3, 4});
  for (int i = 0; i < 24; ++i)
    in.data[i] = static_cast<float>(i);
  std::string error;
  std::vector<HostTensor> out;
  for (int threads : {2, 1, 0}) {
    ASSERT_TRUE(model->setThreads(threads, error)) << error;
    ASSERT_TRUE(model->run({in}, out, error)) << error;
    for (int i = 0; i < 24; ++i)
      ASSERT_EQ(out[0].data[i], 2.0f * i + 1.0f) << "threads " << threads;
  }
}

TEST(HalideRuntime, BoundsErrorBecomesAMessage) {
  auto model = emitAndOpen("shift", "hl_shift");
  ASSERT_TRUE(model);
  std::string error;
  std::vector<HostTensor> out;
  EXPECT_FALSE(model->run({HostTensor({2, 3, 4})}, out, error));
  EXPECT_NE(error.find("shift_run: the compiled model failed (Halide error code"), std::string::npos) << error;
  EXPECT_NE(error.find("Input buffer in_0 is accessed at 4, which is beyond the max (3) in dimension 0"),
            std::string::npos)
      << error;
}

} // namespace
} // namespace kiln::test
