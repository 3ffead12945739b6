// Tests of training libraries (ModelInterface::training) with the fake trainee backend
// (fake_train.c) in both ABIs: embedded initial parameters, steps that swap the two copies, a
// failed step that changes nothing, parameters by name, the learning rate, checkpoints that
// continue a run exactly and loads that name what is wrong.
#include "EmitTestUtil.h"
#include "FakeTraining.h"

#include "kiln/runtime.h"

#include <cmath>
#include <dlfcn.h>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>

namespace kiln::test {
namespace {

/// The generated API of a trainee library, found with dlsym, with one context.
struct Trainee {
  void *lib = nullptr, *ctx = nullptr;
  kiln_status (*create)(void **);
  void (*destroy)(void *);
  kiln_status (*infer)(void *, const float *, float *);
  kiln_status (*trainStep)(void *, const float *, const float *, float *);
  kiln_status (*setLearningRate)(void *, float);
  float (*learningRate)(const void *);
  int64_t (*stepCount)(const void *);
  kiln_status (*getParam)(void *, const char *, float *, int64_t);
  kiln_status (*setParam)(void *, const char *, const float *, int64_t);
  kiln_status (*save)(void *, const char *);
  kiln_status (*load)(void *, const char *);
  const char *(*lastError)(const void *);
  const kiln_training_info *(*trainingInfo)(void);

  std::string error() const { return lastError(ctx); }
  std::vector<float> param(const char *name, size_t count) {
    std::vector<float> values(count);
    EXPECT_EQ(getParam(ctx, name, values.data(), static_cast<int64_t>(count)), KILN_OK) << error();
    return values;
  }
  /// w then b.
  std::vector<float> params() {
    std::vector<float> all = param("w", 3);
    all.push_back(param("b", 1)[0]);
    return all;
  }
  void restart() {
    destroy(ctx);
    ctx = nullptr;
    ASSERT_EQ(create(&ctx), KILN_OK);
  }
};

/// The trainee library of `abi`, built and opened once per process, with a fresh context.
Trainee &trainee(BackendAbi abi) {
  static std::map<BackendAbi, Trainee> opened;
  Trainee &t = opened[abi];
  if (!t.lib) {
    fs::path dir = scratchDir() / (abi == BackendAbi::HalideBuffers ? "trainee-halide" : "trainee-bare");
    std::string error;
    EXPECT_TRUE(buildTrainee("trainee", abi, false, dir, error)) << error;
    t.lib = dlopen((dir / "libtrainee.so").c_str(), RTLD_NOW | RTLD_LOCAL);
    EXPECT_NE(t.lib, nullptr) << dlerror();
    auto find = [&](auto &slot, const char *name) {
      slot = reinterpret_cast<std::remove_reference_t<decltype(slot)>>(dlsym(t.lib, name));
      EXPECT_NE(reinterpret_cast<void *>(slot), nullptr) << name;
    };
    find(t.create, "trainee_create");
    find(t.destroy, "trainee_destroy");
    find(t.infer, "trainee_infer");
    find(t.trainStep, "trainee_train_step");
    find(t.setLearningRate, "trainee_set_learning_rate");
    find(t.learningRate, "trainee_learning_rate");
    find(t.stepCount, "trainee_step_count");
    find(t.getParam, "trainee_get_param");
    find(t.setParam, "trainee_set_param");
    find(t.save, "trainee_save");
    find(t.load, "trainee_load");
    find(t.lastError, "trainee_last_error");
    find(t.trainingInfo, "trainee_training_info");
    EXPECT_EQ(t.create(&t.ctx), KILN_OK);
  } else {
    t.restart();
  }
  return t;
}

/// Batch `i` of a fixed little data set: inputs x[2][3] and targets[2][3].
void batch(int i, float x[6], float targets[6]) {
  for (int k = 0; k < 6; ++k) {
    x[k] = std::sin(0.7f * static_cast<float>(i * 6 + k));
    targets[k] = 0.3f * x[k] - 0.2f;
  }
}

/// fake_train.c's step, in C++: the values the library must produce.
struct ReferenceTrainee {
  std::vector<float> w = {0.5f, -1.0f, 2.0f}, vw = {0, 0, 0};
  float b = 0.25f, vb = 0, lr = 0.1f;
  int64_t steps = 0;
  float step(const float *x, const float *targets) {
    float gw[3] = {0, 0, 0}, gb = 0, sum = 0, rate = lr / static_cast<float>(++steps);
    for (int n = 0; n < 2; ++n)
      for (int j = 0; j < 3; ++j) {
        float d = x[n * 3 + j] * w[j] + b - targets[n * 3 + j];
        sum += d * d;
        gw[j] += 2.0f * d * x[n * 3 + j] / 6.0f;
        gb += 2.0f * d / 6.0f;
      }
    for (int j = 0; j < 3; ++j) {
      vw[j] = 0.9f * vw[j] + gw[j];
      w[j] -= rate * vw[j];
    }
    vb = 0.9f * vb + gb;
    b -= rate * vb;
    return sum / 6.0f;
  }
};

void expectNear(const std::vector<float> &actual, const std::vector<float> &expected, const std::string &what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  for (size_t i = 0; i < actual.size(); ++i)
    EXPECT_NEAR(actual[i], expected[i], 1e-6f * (1 + std::fabs(expected[i]))) << what << "[" << i << "]";
}

std::string readText(const fs::path &path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// Writes a safetensors file: `tensors` as (name, shape, values), `metadata` as JSON text.
void writeCheckpoint(const fs::path &path,
                     const std::vector<std::tuple<std::string, std::vector<int64_t>, std::vector<float>>> &tensors,
                     const std::string &metadata) {
  std::string header = "{", data;
  for (const auto &[name, shape, values] : tensors) {
    header += "\"" + name + "\":{\"dtype\":\"F32\",\"shape\":[";
    for (size_t d = 0; d < shape.size(); ++d)
      header += (d ? "," : "") + std::to_string(shape[d]);
    header += "],\"data_offsets\":[" + std::to_string(data.size()) + "," +
              std::to_string(data.size() + values.size() * 4) + "]},";
    data.append(reinterpret_cast<const char *>(values.data()), values.size() * 4);
  }
  header += "\"__metadata__\":{" + metadata + "}}";
  std::string length(8, '\0');
  for (int i = 0; i < 8; ++i)
    length[i] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
  std::ofstream(path, std::ios::binary) << length << header << data;
}

class TrainingGlue : public ::testing::TestWithParam<BackendAbi> {};

INSTANTIATE_TEST_SUITE_P(BothAbis, TrainingGlue, ::testing::Values(BackendAbi::HalideBuffers, BackendAbi::BarePointers),
                         [](const auto &info) {
                           return std::string(info.param == BackendAbi::HalideBuffers ? "Halide" : "BarePointers");
                         });

TEST_P(TrainingGlue, StartsFromTheEmbeddedParameters) {
  Trainee &t = trainee(GetParam());
  EXPECT_EQ(t.params(), traineeInitialParams());
  EXPECT_EQ(t.learningRate(t.ctx), 0.1f);
  EXPECT_EQ(t.stepCount(t.ctx), 0);
  const kiln_training_info *info = t.trainingInfo();
  ASSERT_EQ(info->num_params, 2);
  EXPECT_STREQ(info->params[0].name, "w");
  EXPECT_EQ(kiln_tensor_info_element_count(&info->params[0]), 3);
  EXPECT_STREQ(info->params[1].name, "b");
  ASSERT_EQ(info->num_state, 2);
  EXPECT_STREQ(info->state[0].name, "optimizer.w.momentum_buffer");
  EXPECT_STREQ(info->labels.name, "labels");
  EXPECT_EQ(info->labels.rank, 2);
  EXPECT_STREQ(info->optimizer, "momentum");
  EXPECT_EQ(info->initial_learning_rate, 0.1f);
}

TEST_P(TrainingGlue, StepsUpdateParametersAndInferenceUsesThem) {
  Trainee &t = trainee(GetParam());
  ReferenceTrainee reference;
  float x[6], targets[6], loss = -1, y[6];
  for (int i = 0; i < 4; ++i) {
    batch(i, x, targets);
    ASSERT_EQ(t.trainStep(t.ctx, x, targets, &loss), KILN_OK) << t.error();
    EXPECT_NEAR(loss, reference.step(x, targets), 1e-6f) << "step " << i;
    EXPECT_EQ(t.stepCount(t.ctx), i + 1);
    expectNear(t.params(), {reference.w[0], reference.w[1], reference.w[2], reference.b}, "params");
  }
  EXPECT_EQ(t.trainStep(t.ctx, x, targets, nullptr), KILN_OK) << "loss may be NULL";
  reference.step(x, targets);
  ASSERT_EQ(t.infer(t.ctx, x, y), KILN_OK) << t.error();
  for (int k = 0; k < 6; ++k)
    EXPECT_NEAR(y[k], x[k] * reference.w[k % 3] + reference.b, 1e-6f);
}

TEST_P(TrainingGlue, FailedStepChangesNothing) {
  Trainee &t = trainee(GetParam());
  ReferenceTrainee reference;
  float x[6], targets[6], loss = -1;
  batch(0, x, targets);
  ASSERT_EQ(t.trainStep(t.ctx, x, targets, &loss), KILN_OK) << t.error();
  reference.step(x, targets);
  std::vector<float> before = t.params();
  float poisoned[6];
  std::copy(x, x + 6, poisoned);
  poisoned[0] = -1000.0f;
  loss = -1;
  EXPECT_EQ(t.trainStep(t.ctx, poisoned, targets, &loss), KILN_ERROR_BACKEND);
  EXPECT_NE(t.error().find("trainee_train_step: the compiled model failed"), std::string::npos) << t.error();
  EXPECT_NE(t.error().find("code -27"), std::string::npos) << t.error();
  if (GetParam() == BackendAbi::HalideBuffers) {
    EXPECT_NE(t.error().find("poisoned input"), std::string::npos) << t.error();
  }
  EXPECT_EQ(loss, -1) << "a failed step reports no loss";
  EXPECT_EQ(t.params(), before);
  EXPECT_EQ(t.stepCount(t.ctx), 1);
  // The state is untouched too: the next step is the one an uninterrupted run takes.
  batch(1, x, targets);
  ASSERT_EQ(t.trainStep(t.ctx, x, targets, &loss), KILN_OK) << t.error();
  EXPECT_NEAR(loss, reference.step(x, targets), 1e-6f);
  expectNear(t.params(), {reference.w[0], reference.w[1], reference.w[2], reference.b}, "after the failure");

  EXPECT_EQ(t.trainStep(t.ctx, nullptr, targets, &loss), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(t.error().find("input is NULL; pass 6 floats"), std::string::npos) << t.error();
  EXPECT_EQ(t.trainStep(t.ctx, x, nullptr, &loss), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(t.error().find("labels is NULL"), std::string::npos) << t.error();
  EXPECT_EQ(t.trainStep(nullptr, x, targets, &loss), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(t.stepCount(t.ctx), 2);
}

TEST_P(TrainingGlue, ParametersByName) {
  Trainee &t = trainee(GetParam());
  const float w[3] = {1, 2, 3};
  ASSERT_EQ(t.setParam(t.ctx, "w", w, 3), KILN_OK) << t.error();
  EXPECT_EQ(t.param("w", 3), std::vector<float>(w, w + 3));
  float x[6] = {1, 1, 1, 2, 2, 2}, y[6];
  ASSERT_EQ(t.infer(t.ctx, x, y), KILN_OK) << t.error();
  EXPECT_EQ(y[5], 2 * 3 + 0.25f);

  float out[3];
  EXPECT_EQ(t.getParam(t.ctx, "v", out, 3), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(t.error().find("trainee_get_param: the model has no parameter 'v'; trainee_training_info() lists its 2 "
                           "parameters (the first is 'w')"),
            std::string::npos)
      << t.error();
  EXPECT_EQ(t.setParam(t.ctx, "w", w, 2), KILN_ERROR_SHAPE_MISMATCH);
  EXPECT_NE(t.error().find("trainee_set_param: parameter 'w' has 3 elements, count is 2"), std::string::npos)
      << t.error();
  EXPECT_EQ(t.getParam(t.ctx, nullptr, out, 3), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(t.getParam(t.ctx, "w", nullptr, 3), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(t.setParam(nullptr, "w", w, 3), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(t.param("w", 3), std::vector<float>(w, w + 3)) << "failed calls change nothing";
}

TEST_P(TrainingGlue, LearningRate) {
  Trainee &t = trainee(GetParam());
  ASSERT_EQ(t.setLearningRate(t.ctx, 0.05f), KILN_OK);
  EXPECT_EQ(t.learningRate(t.ctx), 0.05f);
  for (float bad : {-1.0f, std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    EXPECT_EQ(t.setLearningRate(t.ctx, bad), KILN_ERROR_INVALID_ARGUMENT) << bad;
    EXPECT_NE(t.error().find("is not a learning rate"), std::string::npos) << t.error();
  }
  EXPECT_EQ(t.learningRate(t.ctx), 0.05f);
  EXPECT_EQ(t.learningRate(nullptr), -1.0f);
  EXPECT_EQ(t.stepCount(nullptr), -1);
  // The step sees the new rate: with rate 0 nothing moves.
  ASSERT_EQ(t.setLearningRate(t.ctx, 0.0f), KILN_OK);
  float x[6], targets[6];
  batch(0, x, targets);
  ASSERT_EQ(t.trainStep(t.ctx, x, targets, nullptr), KILN_OK) << t.error();
  EXPECT_EQ(t.params(), traineeInitialParams());
}

TEST_P(TrainingGlue, SaveLoadContinuesExactly) {
  Trainee &t = trainee(GetParam());
  const fs::path path = scratchDir() / "continue.safetensors";
  float x[6], targets[6], loss;
  std::vector<float> uninterrupted;
  ASSERT_EQ(t.setLearningRate(t.ctx, 0.05f), KILN_OK);
  for (int i = 0; i < 6; ++i) {
    batch(i, x, targets);
    ASSERT_EQ(t.trainStep(t.ctx, x, targets, &loss), KILN_OK) << t.error();
    uninterrupted.push_back(loss);
  }
  std::vector<float> finalParams = t.params();

  t.restart();
  ASSERT_EQ(t.setLearningRate(t.ctx, 0.05f), KILN_OK);
  for (int i = 0; i < 3; ++i) {
    batch(i, x, targets);
    ASSERT_EQ(t.trainStep(t.ctx, x, targets, &loss), KILN_OK) << t.error();
  }
  ASSERT_EQ(t.save(t.ctx, path.c_str()), KILN_OK) << t.error();
  EXPECT_FALSE(fs::exists(path.string() + ".tmp"));
  t.restart();
  ASSERT_EQ(t.load(t.ctx, path.c_str()), KILN_OK) << t.error();
  EXPECT_EQ(t.stepCount(t.ctx), 3);
  EXPECT_EQ(t.learningRate(t.ctx), 0.05f);
  for (int i = 3; i < 6; ++i) {
    batch(i, x, targets);
    ASSERT_EQ(t.trainStep(t.ctx, x, targets, &loss), KILN_OK) << t.error();
    EXPECT_EQ(loss, uninterrupted[i]) << "step " << i;
  }
  EXPECT_EQ(t.params(), finalParams);
}

TEST_P(TrainingGlue, CheckpointUsesPyTorchNamesAndKilnMetadata) {
  Trainee &t = trainee(GetParam());
  const fs::path path = scratchDir() / "names.safetensors";
  float x[6], targets[6];
  batch(0, x, targets);
  ASSERT_EQ(t.trainStep(t.ctx, x, targets, nullptr), KILN_OK) << t.error();
  ASSERT_EQ(t.save(t.ctx, path.c_str()), KILN_OK) << t.error();
  std::string text = readText(path);
  for (const char *needle : {"\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}",
                             "\"b\":{\"dtype\":\"F32\",\"shape\":[1],", "\"optimizer.w.momentum_buffer\":{",
                             "\"optimizer.b.momentum_buffer\":{", "\"kiln.step\":\"1\"", "\"kiln.lr\":\"0.100000001\"",
                             "\"kiln.optimizer\":\"momentum\""})
    EXPECT_NE(text.find(needle), std::string::npos) << needle << " in " << text.substr(0, 400);
  EXPECT_EQ(t.save(t.ctx, (scratchDir() / "no-such-dir" / "x.safetensors").c_str()), KILN_ERROR_IO);
  EXPECT_EQ(t.error().rfind("trainee_save: cannot write checkpoint", 0), 0u) << t.error();
}

TEST_P(TrainingGlue, LoadRejectsOtherCheckpointsAndChangesNothing) {
  Trainee &t = trainee(GetParam());
  const fs::path path = scratchDir() / "other.safetensors";
  float x[6], targets[6];
  batch(0, x, targets);
  ASSERT_EQ(t.trainStep(t.ctx, x, targets, nullptr), KILN_OK) << t.error();
  const std::vector<float> params = t.params();
  const std::vector<float> zeros3(3), zeros1(1);
  struct Case {
    std::vector<std::tuple<std::string, std::vector<int64_t>, std::vector<float>>> tensors;
    std::string metadata, message;
    kiln_status status;
  };
  const std::vector<Case> cases = {
      {{{"w", {4}, {1, 2, 3, 4}}, {"b", {1}, zeros1}, {"optimizer.w.momentum_buffer", {3}, zeros3},
        {"optimizer.b.momentum_buffer", {1}, zeros1}},
       "",
       "trainee_load: checkpoint '" + path.string() + "': tensor 'w' has shape [4], the model expects [3]",
       KILN_ERROR_SHAPE_MISMATCH},
      {{{"w", {3}, zeros3}, {"b", {1}, zeros1}, {"optimizer.w.exp_avg", {3}, zeros3}},
       "\"kiln.optimizer\":\"adam\"",
       "trainee_load: checkpoint '" + path.string() + "' has kiln.optimizer \"adam\", this model needs \"momentum\"",
       KILN_ERROR_SHAPE_MISMATCH},
      {{{"w", {3}, zeros3}, {"b", {1}, zeros1}, {"optimizer.w.momentum_buffer", {3}, zeros3}},
       "",
       "trainee_load: checkpoint '" + path.string() +
           "' lacks tensor 'optimizer.b.momentum_buffer' (shape [1]), which the model needs",
       KILN_ERROR_SHAPE_MISMATCH},
      {{{"w", {3}, zeros3}, {"b", {1}, zeros1}, {"optimizer.w.momentum_buffer", {3}, zeros3},
        {"optimizer.b.momentum_buffer", {1}, zeros1}},
       "\"kiln.step\":\"-3\"",
       "trainee_load: checkpoint '" + path.string() + "' has kiln.step \"-3\", which is not a step count",
       KILN_ERROR_IO},
  };
  for (const Case &c : cases) {
    writeCheckpoint(path, c.tensors, c.metadata);
    EXPECT_EQ(t.load(t.ctx, path.c_str()), c.status) << c.message;
    EXPECT_EQ(t.error(), c.message);
    EXPECT_EQ(t.params(), params) << c.message;
    EXPECT_EQ(t.stepCount(t.ctx), 1);
    EXPECT_EQ(t.learningRate(t.ctx), 0.1f);
  }
  EXPECT_EQ(t.load(t.ctx, (scratchDir() / "missing.safetensors").c_str()), KILN_ERROR_IO);
  EXPECT_NE(t.error().find("trainee_load: cannot open checkpoint"), std::string::npos) << t.error();
  // A checkpoint without Kiln's metadata (a PyTorch state_dict with zero state) starts at step 0.
  writeCheckpoint(path,
                  {{"w", {3}, {7, 8, 9}}, {"b", {1}, {1}}, {"optimizer.w.momentum_buffer", {3}, zeros3},
                   {"optimizer.b.momentum_buffer", {1}, zeros1}},
                  "\"format\":\"pt\"");
  ASSERT_EQ(t.load(t.ctx, path.c_str()), KILN_OK) << t.error();
  EXPECT_EQ(t.params(), (std::vector<float>{7, 8, 9, 1}));
  EXPECT_EQ(t.stepCount(t.ctx), 0);
}

TEST(TrainingLibrary, ExportsOnlyTheApi) {
  trainee(BackendAbi::HalideBuffers);
  fs::path so = scratchDir() / "trainee-halide" / "libtrainee.so";
  std::string symbols = mustRun({"nm", "-D", "--defined-only", "--format=just-symbols", so.string()});
  std::istringstream lines(symbols);
  std::vector<std::string> names;
  for (std::string line; std::getline(lines, line);)
    if (!line.empty())
      names.push_back(line);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{
                       "trainee_create", "trainee_destroy", "trainee_get_param", "trainee_infer", "trainee_last_error",
                       "trainee_learning_rate", "trainee_load", "trainee_model_info", "trainee_run", "trainee_save",
                       "trainee_set_learning_rate", "trainee_set_param", "trainee_set_threads", "trainee_step_count",
                       "trainee_train_step", "trainee_train_step_multi", "trainee_training_info"}))
      << symbols;
}

TEST(TrainingLibrary, CProgramOnStaticArchiveTrainsAndSaves) {
  trainee(BackendAbi::HalideBuffers);
  fs::path dir = scratchDir() / "trainee-halide";
  fs::path src = scratchDir() / "use_trainee.c", exe = scratchDir() / "use_trainee";
  std::ofstream(src) << "#include \"trainee.h\"\n#include <stdio.h>\n"
                        "int main(int argc, char **argv) {\n"
                        "  static float x[TRAINEE_INPUT_SIZE] = {1, 2, 3, 4, 5, 6}, labels[TRAINEE_LABELS_SIZE];\n"
                        "  float loss = 0.0f, w[3];\n"
                        "  trainee_ctx *ctx = NULL;\n"
                        "  kiln_status st = trainee_create(&ctx);\n"
                        "  (void)argc;\n"
                        "  if (st == KILN_OK) st = trainee_train_step(ctx, x, labels, &loss);\n"
                        "  if (st == KILN_OK) st = trainee_save(ctx, argv[1]);\n"
                        "  if (st == KILN_OK) st = trainee_get_param(ctx, \"w\", w, 3);\n"
                        "  if (st != KILN_OK) { printf(\"%s\\n\", trainee_last_error(ctx)); return 1; }\n"
                        "  printf(\"loss %g steps %lld params %d\\n\", loss, (long long)trainee_step_count(ctx),\n"
                        "         trainee_training_info()->num_params);\n"
                        "  trainee_destroy(ctx);\n"
                        "  return 0;\n"
                        "}\n";
  mustRun({"cc", "-std=c11", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-I", dir.string(), src.string(),
           (dir / "libtrainee.a").string(), "-lpthread", "-ldl", "-lm", "-o", exe.string()});
  // x * w + b with w = {0.5, -1, 2}, b = 0.25 against zero targets: mean of squares.
  float expected = 0;
  for (int k = 0; k < 6; ++k) {
    float y = static_cast<float>(k + 1) * traineeInitialParams()[k % 3] + 0.25f;
    expected += y * y;
  }
  char line[64];
  std::snprintf(line, sizeof line, "loss %g steps 1 params 2\n", expected / 6);
  EXPECT_EQ(mustRun({exe.string(), (scratchDir() / "from_c.safetensors").string()}), line);
}

TEST(TrainingLibrary, GlueCompilesWithoutWarnings) {
  for (BackendAbi abi : {BackendAbi::HalideBuffers, BackendAbi::BarePointers}) {
    ModelInterface model = traineeModel("warned", abi, false, "unused.bin");
    fs::path dir = scratchDir() / (abi == BackendAbi::HalideBuffers ? "warn-halide" : "warn-bare");
    fs::create_directories(dir);
    std::ofstream(dir / "warned.h") << generateHeader(model);
    std::ofstream(dir / "warned_glue.c") << generateGlue(model, "fake_train");
    mustRun({"cc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-fsyntax-only", "-I", dir.string(), "-I",
             KILN_TEST_HALIDE_INCLUDE_DIR, (dir / "warned_glue.c").string()});
    std::string glue = generateGlue(model, "fake_train");
    if (abi == BackendAbi::BarePointers) {
      EXPECT_EQ(glue.find("halide_"), std::string::npos);
    }
  }
}

TEST(TrainingLibrary, HeaderDocumentsTraining) {
  std::string h = generateHeader(traineeModel("trainee", BackendAbi::HalideBuffers, false, ""));
  for (const char *needle : {"==== Training", "Example:", "#define TRAINEE_LABELS_SIZE 6", "#define TRAINEE_NUM_PARAMS 2",
                             "kiln_status trainee_train_step(trainee_ctx *ctx, const float *input, const float *labels, "
                             "float *loss);",
                             "kiln_status trainee_save(trainee_ctx *ctx, const char *path);",
                             "const kiln_training_info *trainee_training_info(void);",
                             "the target of each output value", "A new context starts with 0.1."})
    EXPECT_NE(h.find(needle), std::string::npos) << needle;
  std::string classes = generateHeader(traineeModel("classes", BackendAbi::HalideBuffers, true, ""));
  EXPECT_NE(classes.find("the class index (0, 1, ...) of each sample"), std::string::npos);
  EXPECT_EQ(generateHeader(affineModel()).find("affine_train"), std::string::npos) << "inference APIs are unchanged";
}

TEST(TrainingLibrary, RejectsBadTrainingInterfaces) {
  const fs::path params = scratchDir() / "params-wrong-size.bin";
  std::ofstream(params, std::ios::binary) << "12345678";
  std::string error;
  ModelInterface model = traineeModel("bad", BackendAbi::BarePointers, false, params.string());
  const fs::path out = scratchDir() / "bad-training";
  EXPECT_FALSE(emitLibrary(model, {"/dev/null"}, "fake_train", out.string(), error));
  EXPECT_NE(error.find("has 8 bytes, but the 2 parameters need 16 (4 float32 values in parameter order)"),
            std::string::npos)
      << error;
  model.training->initialParams = (scratchDir() / "none.bin").string();
  EXPECT_FALSE(emitLibrary(model, {"/dev/null"}, "fake_train", out.string(), error));
  EXPECT_NE(error.find("cannot be read"), std::string::npos) << error;
  model.training->trainFunction = "fake_train";
  EXPECT_FALSE(emitLibrary(model, {"/dev/null"}, "fake_train", out.string(), error));
  EXPECT_NE(error.find("training backend function name 'fake_train'"), std::string::npos) << error;
  EXPECT_FALSE(fs::exists(out));

  model = traineeModel("bad", BackendAbi::BarePointers, false, "");
  model.training->state[1].name = "w.momentum_buffer";
  EXPECT_FALSE(verifyModelInterface(model, error));
  EXPECT_NE(error.find("optimizer state 1 has the name 'w.momentum_buffer', which is empty or used twice"),
            std::string::npos)
      << error;
  model = traineeModel("bad", BackendAbi::BarePointers, false, "");
  model.training->params.clear();
  EXPECT_FALSE(verifyModelInterface(model, error));
  EXPECT_NE(error.find("no parameters"), std::string::npos) << error;
  model = traineeModel("bad", BackendAbi::BarePointers, false, "");
  model.training->learningRate = -1;
  EXPECT_FALSE(verifyModelInterface(model, error));
  model = traineeModel("bad", BackendAbi::BarePointers, false, "");
  model.training->params[0].shape = {0};
  EXPECT_FALSE(verifyModelInterface(model, error));
  EXPECT_NE(error.find("parameter 0 ('w') has a non-positive dimension"), std::string::npos) << error;
}

} // namespace
} // namespace kiln::test
