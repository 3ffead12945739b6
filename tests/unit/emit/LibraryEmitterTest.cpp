// Tests of library emission with fake backend objects: the three files, a C application on the
// static archive, exported symbols, two models in one program, errors, all-or-nothing output.
#include "EmitTestUtil.h"

#include <fstream>
#include <sstream>

namespace kiln::test {
namespace {

std::string readText(const fs::path &path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> dirEntries(const fs::path &dir) {
  std::vector<std::string> names;
  for (const auto &entry : fs::directory_iterator(dir))
    names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(LibraryEmitter, WritesTheThreeFilesAndNothingElse) {
  fs::path dir = emitted(affineModel(), "fake_affine");
  EXPECT_EQ(dirEntries(dir), (std::vector<std::string>{"affine.h", "libaffine.a", "libaffine.so"}));
}

TEST(LibraryEmitter, HeaderDocumentsTheApi) {
  std::string h = generateHeader(affineModel());
  for (const char *needle : {"#ifndef KILN_MODEL_AFFINE_H", "#ifndef KILN_RUNTIME_H", "Example:",
                             "kiln_status affine_create(affine_ctx **ctx);",
                             "kiln_status affine_infer(affine_ctx *ctx, const float *input, float *output);",
                             "kiln_status affine_run(affine_ctx *ctx, const float *const *inputs, float *const *outputs);",
                             "#define AFFINE_INPUT_0_SHAPE {2, 3, 4}", "#define AFFINE_OUTPUT_SIZE AFFINE_OUTPUT_0_SIZE",
                             "const kiln_model_info *affine_model_info(void);"})
    EXPECT_NE(h.find(needle), std::string::npos) << needle;
  std::string multi = generateHeader(pairModel());
  EXPECT_EQ(multi.find("pair_infer"), std::string::npos) << "pair has two inputs: no _infer";
  EXPECT_NE(multi.find("#define PAIR_INPUT_1_SIZE 4"), std::string::npos);
}

TEST(LibraryEmitter, HeadersCompileAsStrictCAndCxxAndTogether) {
  fs::path a = emitted(affineModel(), "fake_affine"), p = emitted(pairModel(), "fake_pair");
  fs::path src = scratchDir() / "both_headers.c";
  std::ofstream(src) << "#include \"affine.h\"\n#include \"pair.h\"\nint main(void) { return 0; }\n";
  mustRun({"cc", "-std=c11", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-fsyntax-only", "-I", a.string(), "-I",
           p.string(), src.string()});
  mustRun({"c++", "-x", "c++", "-std=c++17", "-Wall", "-Wextra", "-Werror", "-fsyntax-only", "-I", a.string(), "-I",
           p.string(), src.string()});
}

TEST(LibraryEmitter, CProgramOnStaticArchiveGetsRightNumbersAndErrors) {
  fs::path dir = emitted(affineModel(), "fake_affine");
  std::string exe = (scratchDir() / "use_affine").string();
  mustRun({"cc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-I", dir.string(),
           std::string(KILN_TEST_SOURCE_DIR) + "/use_affine.c", (dir / "libaffine.a").string(), "-lpthread", "-ldl",
           "-lm", "-o", exe});
  EXPECT_EQ(mustRun({exe}), "ok\n");
}

TEST(LibraryEmitter, CProgramOnSharedLibrary) {
  fs::path dir = emitted(affineModel(), "fake_affine");
  std::string exe = (scratchDir() / "use_affine_so").string();
  mustRun({"cc", "-std=c11", "-I", dir.string(), std::string(KILN_TEST_SOURCE_DIR) + "/use_affine.c",
           "-L" + dir.string(), "-laffine", "-Wl,-rpath," + dir.string(), "-o", exe});
  EXPECT_EQ(mustRun({exe}), "ok\n");
}

TEST(LibraryEmitter, TwoModelArchivesLinkIntoOneProgram) {
  fs::path a = emitted(affineModel(), "fake_affine"), p = emitted(pairModel(), "fake_pair");
  std::string exe = (scratchDir() / "use_both").string();
  mustRun({"cc", "-std=c11", "-Wall", "-Werror", "-I", a.string(), "-I", p.string(),
           std::string(KILN_TEST_SOURCE_DIR) + "/use_both.c", (a / "libaffine.a").string(), (p / "libpair.a").string(),
           "-lpthread", "-ldl", "-lm", "-o", exe});
  std::string out = mustRun({exe});
  EXPECT_EQ(out.rfind("ok ", 0), 0u) << out;
  EXPECT_NE(out.find("poisoned input"), std::string::npos) << out;
}

TEST(LibraryEmitter, SharedLibraryExportsOnlyModelSymbols) {
  fs::path dir = emitted(affineModel(), "fake_affine");
  std::string symbols = mustRun({"nm", "-D", "--defined-only", "--format=just-symbols", (dir / "libaffine.so").string()});
  std::istringstream lines(symbols);
  std::vector<std::string> names;
  for (std::string line; std::getline(lines, line);)
    if (!line.empty())
      names.push_back(line);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"affine_create", "affine_destroy", "affine_infer", "affine_last_error",
                                             "affine_model_info", "affine_run", "affine_set_threads"}))
      << symbols;
}

TEST(LibraryEmitter, BackendFunctionWithModelPrefixStaysHidden) {
  // Model "fake" with backend function "fake_pair": the prefix matches but only the API is exported.
  ModelInterface model = pairModel();
  model.name = "fake";
  fs::path dir = scratchDir() / "prefixed";
  std::string error;
  ASSERT_TRUE(emitLibrary(model, fakeBackend("fake_pair"), "fake_pair", dir.string(), error)) << error;
  std::string symbols = mustRun({"nm", "-D", "--defined-only", "--format=just-symbols", (dir / "libfake.so").string()});
  EXPECT_EQ(symbols.find("fake_pair"), std::string::npos) << symbols;
  EXPECT_NE(symbols.find("fake_run"), std::string::npos) << symbols;
  EXPECT_EQ(symbols.find("fake_infer"), std::string::npos) << "two inputs: no _infer";
}

TEST(LibraryEmitter, FailedLinkLeavesNothingBehind) {
  fs::path out = scratchDir() / "fresh" / "nested";
  std::string error;
  ModelInterface model = affineModel();
  model.name = "broken";
  EXPECT_FALSE(emitLibrary(model, fakeBackend("fake_unresolved"), "fake_unresolved", out.string(), error));
  EXPECT_NE(error.find("linking libbroken.so failed"), std::string::npos) << error;
  EXPECT_NE(error.find("kiln_test_symbol_that_does_not_exist"), std::string::npos) << error;
  EXPECT_FALSE(fs::exists(scratchDir() / "fresh")) << "created directories must be removed again";

  // An existing directory keeps exactly what it had.
  fs::path existing = scratchDir() / "existing";
  fs::create_directories(existing);
  std::ofstream(existing / "broken.h") << "old header";
  EXPECT_FALSE(emitLibrary(model, fakeBackend("fake_unresolved"), "fake_unresolved", existing.string(), error));
  EXPECT_EQ(dirEntries(existing), std::vector<std::string>{"broken.h"});
  EXPECT_EQ(readText(existing / "broken.h"), "old header");
}

TEST(LibraryEmitter, ReplacesAnEarlierBuild) {
  fs::path dir = scratchDir() / "rebuild";
  std::string error;
  ASSERT_TRUE(emitLibrary(affineModel(), fakeBackend("fake_affine"), "fake_affine", dir.string(), error)) << error;
  ASSERT_TRUE(emitLibrary(affineModel(), fakeBackend("fake_affine"), "fake_affine", dir.string(), error)) << error;
  EXPECT_EQ(dirEntries(dir), (std::vector<std::string>{"affine.h", "libaffine.a", "libaffine.so"}));
}

TEST(LibraryEmitter, CompilerErrorsAreReported) {
  std::string error;
  ::setenv("CC", "kiln-no-such-compiler", 1);
  bool ok = emitLibrary(affineModel(), fakeBackend("fake_affine"), "fake_affine", (scratchDir() / "nocc").string(), error);
  ::unsetenv("CC");
  EXPECT_FALSE(ok);
  EXPECT_NE(error.find("cannot run 'kiln-no-such-compiler'"), std::string::npos) << error;
  EXPECT_FALSE(fs::exists(scratchDir() / "nocc"));
}

TEST(LibraryEmitter, RejectsBadInterfaces) {
  std::string error;
  auto objects = fakeBackend("fake_affine");
  std::string out = (scratchDir() / "rejected").string();
  ModelInterface model = affineModel();
  model.name = "3d-net";
  EXPECT_FALSE(emitLibrary(model, objects, "fake_affine", out, error));
  EXPECT_NE(error.find("not a C identifier"), std::string::npos) << error;
  model.name = "kiln_net";
  EXPECT_FALSE(verifyModelInterface(model, error));
  model = affineModel();
  model.inputs[0].shape = std::vector<int64_t>(9, 1);
  EXPECT_FALSE(emitLibrary(model, objects, "fake_affine", out, error));
  EXPECT_NE(error.find("rank 9"), std::string::npos) << error;
  model = affineModel();
  model.outputs[0].shape = {2, 0};
  EXPECT_FALSE(verifyModelInterface(model, error));
  EXPECT_NE(error.find("output 0 ('y')"), std::string::npos) << error;
  model = affineModel(); // parts reading an argument or a temporary that does not exist
  model.runParts.parts = {{"fake_affine_part0", {{false, 0}, {true, 0}}, 1}};
  EXPECT_FALSE(verifyModelInterface(model, error));
  EXPECT_NE(error.find("reads temporary 0, which does not exist"), std::string::npos) << error;
  model.runParts.temporaries = {{"temporary0", {2, 3, 4}}};
  EXPECT_TRUE(verifyModelInterface(model, error)) << error;
  model.runParts.parts[0].arguments[0].index = 2; // the affine model's call takes x and y
  EXPECT_FALSE(verifyModelInterface(model, error));
  EXPECT_NE(error.find("reads argument 2"), std::string::npos) << error;
  model = affineModel();
  EXPECT_FALSE(emitLibrary(model, objects, "affine_run", out, error));
  EXPECT_NE(error.find("other than the model's API"), std::string::npos) << error;
  EXPECT_FALSE(emitLibrary(model, {"/nonexistent/x.o"}, "fake_affine", out, error));
  EXPECT_NE(error.find("/nonexistent/x.o"), std::string::npos) << error;
  EXPECT_FALSE(fs::exists(out));
}

TEST(LibraryEmitter, OddTensorNamesAreQuoted) {
  ModelInterface model = {"odd", {{"in\"put*/1", {1}}}, {{"out\\0", {1}}}};
  std::string glue = generateGlue(model, "fn");
  EXPECT_NE(glue.find("\"in\\\"put*/1\""), std::string::npos);
  std::string header = generateHeader(model);
  EXPECT_EQ(header.find("put*/1"), std::string::npos) << "a name must not close a comment";
}

} // namespace
} // namespace kiln::test
