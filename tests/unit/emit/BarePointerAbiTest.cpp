// Tests of library emission for bare-pointer backends (BackendAbi::BarePointers): the same header
// as the Halide style, glue that needs no Halide runtime, right numbers and error codes.
#include "EmitTestUtil.h"

#include <dlfcn.h>

namespace kiln::test {
namespace {

ModelInterface bareModel() {
  ModelInterface model = affineModel();
  model.name = "bare";
  model.abi = BackendAbi::BarePointers;
  return model;
}

TEST(BarePointerAbi, HeaderIsTheHalideOnePlusLibompToLink) {
  ModelInterface halide = bareModel();
  halide.abi = BackendAbi::HalideBuffers;
  std::string bare = generateHeader(bareModel());
  size_t from = bare.find(" -L", bare.find("libbare.a")), to = bare.find(" -lpthread");
  ASSERT_LT(from, to) << bare;
  EXPECT_NE(bare.substr(from, to - from).find(" -lomp -Wl,-rpath,"), std::string::npos) << bare;
  EXPECT_EQ(bare.erase(from, to - from), generateHeader(halide));
}

TEST(BarePointerAbi, GlueCallsTheBackendWithPointersAndNoHalide) {
  std::string glue = generateGlue(bareModel(), "fake_bare");
  EXPECT_NE(glue.find("extern int fake_bare(void *user_context, const float *, float *);"), std::string::npos) << glue;
  EXPECT_NE(glue.find("result = fake_bare(&ctx->error, inputs[0], outputs[0]);"), std::string::npos) << glue;
  EXPECT_NE(glue.find("omp_set_num_threads(kiln_threads_resolve(ctx->threads));"), std::string::npos) << glue;
  EXPECT_NE(glue.find("omp_set_num_threads(caller_threads);"), std::string::npos) << glue;
  EXPECT_EQ(glue.find("HalideRuntime.h"), std::string::npos) << glue;
  EXPECT_EQ(glue.find("halide_"), std::string::npos) << glue;
}

TEST(BarePointerAbi, SharedLibraryRunsAndReportsBackendErrors) {
  fs::path dir = scratchDir() / "objects";
  fs::create_directories(dir);
  std::string object = (dir / "fake_bare.o").string();
  mustRun({"cc", "-std=c11", "-Wall", "-Werror", "-c", "-fPIC", std::string(KILN_TEST_SOURCE_DIR) + "/fake_bare.c", "-o",
           object});
  fs::path out = scratchDir() / "model-bare";
  std::string error;
  ASSERT_TRUE(emitLibrary(bareModel(), {object}, "fake_bare", out.string(), error)) << error;
  void *lib = dlopen((out / "libbare.so").c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(lib, nullptr) << dlerror();
  using Create = int (*)(void **);
  using Infer = int (*)(void *, const float *, float *);
  using LastError = const char *(*)(const void *);
  using Destroy = void (*)(void *);
  auto create = reinterpret_cast<Create>(dlsym(lib, "bare_create"));
  auto infer = reinterpret_cast<Infer>(dlsym(lib, "bare_infer"));
  auto lastError = reinterpret_cast<LastError>(dlsym(lib, "bare_last_error"));
  auto destroy = reinterpret_cast<Destroy>(dlsym(lib, "bare_destroy"));
  ASSERT_TRUE(create && infer && lastError && destroy);
  EXPECT_EQ(dlsym(lib, "fake_bare"), nullptr) << "the backend function must not be exported";
  void *ctx = nullptr;
  ASSERT_EQ(create(&ctx), 0);
  float in[24], result[24];
  for (int i = 0; i < 24; ++i)
    in[i] = static_cast<float>(i);
  ASSERT_EQ(infer(ctx, in, result), 0) << lastError(ctx);
  for (int i = 0; i < 24; ++i)
    EXPECT_EQ(result[i], 2.0f * i + 1.0f);
  in[0] = -1000.0f;
  EXPECT_NE(infer(ctx, in, result), 0);
  EXPECT_NE(std::string(lastError(ctx)).find("error code -27"), std::string::npos) << lastError(ctx);
  EXPECT_NE(infer(ctx, nullptr, result), 0);
  destroy(ctx);
  dlclose(lib);
}

} // namespace
} // namespace kiln::test
