// Tests of the in-process runner: dlopen of emitted libraries, runs, errors, threads, timing,
// and the training API of libraries compiled with --train.
#include "EmitTestUtil.h"
#include "FakeTraining.h"

#include "compiler/runner/LoadedModel.h"

namespace kiln::test {
namespace {

std::unique_ptr<LoadedModel> openAffine() {
  std::string error;
  auto model = LoadedModel::open((emitted(affineModel(), "fake_affine") / "libaffine.so").string(), error);
  EXPECT_TRUE(model) << error;
  return model;
}

HostTensor iota(std::vector<int64_t> shape, float start = 0) {
  HostTensor t(std::move(shape));
  for (size_t i = 0; i < t.data.size(); ++i)
    t.data[i] = start + static_cast<float>(i);
  return t;
}

TEST(LoadedModel, RunsASingleInputModel) {
  auto model = openAffine();
  ASSERT_TRUE(model);
  EXPECT_EQ(model->name(), "affine");
  ASSERT_EQ(model->inputs().size(), 1u);
  EXPECT_EQ(model->inputs()[0].name, "x");
  EXPECT_EQ(model->outputs()[0].shape, (std::vector<int64_t>{2, 3, 4}));
  std::vector<HostTensor> out;
  std::string error;
  ASSERT_TRUE(model->run({iota({2, 3, 4})}, out, error)) << error;
  ASSERT_EQ(out.size(), 1u);
  for (int i = 0; i < 24; ++i)
    EXPECT_EQ(out[0].data[i], 2.0f * i + 1.0f);
}

TEST(LoadedModel, RunsAMultiInputModel) {
  std::string error;
  auto model = LoadedModel::open((emitted(pairModel(), "fake_pair") / "libpair.so").string(), error);
  ASSERT_TRUE(model) << error;
  std::vector<HostTensor> out;
  ASSERT_TRUE(model->run({iota({4}, 1), iota({4}, 10)}, out, error)) << error;
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].data, (std::vector<float>{11, 13, 15, 17}));
  EXPECT_EQ(out[1].data, (std::vector<float>{-9, -9, -9, -9}));
}

TEST(LoadedModel, BackendErrorsCarryHalidesMessage) {
  auto model = openAffine();
  ASSERT_TRUE(model);
  HostTensor in = iota({2, 3, 4});
  in.data[0] = -1000;
  std::vector<HostTensor> out;
  std::string error;
  EXPECT_FALSE(model->run({in}, out, error));
  EXPECT_NE(error.find("backend error"), std::string::npos) << error;
  EXPECT_NE(error.find("Halide error code -27"), std::string::npos) << error;
  EXPECT_NE(error.find("poisoned input"), std::string::npos) << error;
  // The context recovers.
  EXPECT_TRUE(model->run({iota({2, 3, 4})}, out, error)) << error;
}

TEST(LoadedModel, ChecksInputsBeforeCalling) {
  auto model = openAffine();
  ASSERT_TRUE(model);
  std::vector<HostTensor> out;
  std::string error;
  EXPECT_FALSE(model->run({iota({4, 3, 2})}, out, error));
  EXPECT_NE(error.find("input 'x'"), std::string::npos) << error;
  EXPECT_NE(error.find("[2, 3, 4]"), std::string::npos) << error;
  EXPECT_FALSE(model->run({}, out, error));
  EXPECT_NE(error.find("takes 1 input"), std::string::npos) << error;
}

TEST(LoadedModel, ThreadsReachTheBackend) {
  auto model = openAffine();
  ASSERT_TRUE(model);
  std::string error;
  EXPECT_FALSE(model->setThreads(-2, error));
  EXPECT_NE(error.find("out of range"), std::string::npos) << error;
  ASSERT_TRUE(model->setThreads(2, error)) << error;
  HostTensor in = iota({2, 3, 4});
  in.data[0] = -2000;
  std::vector<HostTensor> out;
  ASSERT_TRUE(model->run({in}, out, error)) << error;
  EXPECT_EQ(out[0].data[0], 2.0f);
}

TEST(LoadedModel, OpenErrorsNameTheProblem) {
  std::string error;
  EXPECT_FALSE(LoadedModel::open("/nonexistent/libnet.so", error));
  EXPECT_NE(error.find("cannot load model library '/nonexistent/libnet.so'"), std::string::npos) << error;
  EXPECT_FALSE(LoadedModel::open("/tmp/net.so", error));
  EXPECT_NE(error.find("lib<model>.so"), std::string::npos) << error;
  fs::path renamed = scratchDir() / "libother.so";
  fs::copy_file(emitted(affineModel(), "fake_affine") / "libaffine.so", renamed, fs::copy_options::overwrite_existing);
  EXPECT_FALSE(LoadedModel::open(renamed.string(), error));
  EXPECT_NE(error.find("does not define other_model_info"), std::string::npos) << error;
}

TEST(LoadedModel, FindsTheTrainingApi) {
  fs::path dir = scratchDir() / "runner-trainee";
  std::string error;
  ASSERT_TRUE(buildTrainee("trainee", BackendAbi::HalideBuffers, true, dir, error)) << error;
  auto model = LoadedModel::open((dir / "libtrainee.so").string(), error);
  ASSERT_TRUE(model) << error;
  const TrainingInterface *training = model->training();
  ASSERT_TRUE(training);
  ASSERT_EQ(training->params.size(), 2u);
  EXPECT_EQ(training->params[0].name, "w");
  EXPECT_EQ(training->state[1].name, "optimizer.b.momentum_buffer");
  EXPECT_EQ(training->labels.shape, (std::vector<int64_t>{2}));
  EXPECT_EQ(training->optimizer, "momentum");
  EXPECT_EQ(model->learningRate(), 0.1f);

  // Class labels 0 and 2 are one-hot targets for the fake; x = 0 makes y = b = 0.25 everywhere.
  HostTensor x({2, 3}), labels({2});
  labels.data = {0, 2};
  float loss = 0;
  ASSERT_TRUE(model->trainStep({x}, labels, loss, error)) << error;
  EXPECT_FLOAT_EQ(loss, (2 * 0.75f * 0.75f + 4 * 0.25f * 0.25f) / 6);
  EXPECT_EQ(model->stepCount(), 1);
  EXPECT_FALSE(model->trainStep({x}, HostTensor({2, 3}), loss, error));
  EXPECT_EQ(error, "the labels of model 'trainee' have shape [2, 3] but the model expects [2]");
  EXPECT_FALSE(model->trainStep({HostTensor({3})}, labels, loss, error));
  EXPECT_NE(error.find("input 'x' of model 'trainee' has shape [3]"), std::string::npos) << error;
  ASSERT_TRUE(model->setLearningRate(0.5f, error)) << error;
  EXPECT_FALSE(model->setLearningRate(-1, error));
  EXPECT_NE(error.find("-1 is not a learning rate; pass a finite number >= 0 (invalid argument)"), std::string::npos) << error;

  const std::string checkpoint = (dir / "c.safetensors").string();
  ASSERT_TRUE(model->save(checkpoint, error)) << error;
  ASSERT_TRUE(model->trainStep({x}, labels, loss, error)) << error;
  ASSERT_TRUE(model->load(checkpoint, error)) << error;
  EXPECT_EQ(model->stepCount(), 1);
  EXPECT_EQ(model->learningRate(), 0.5f);
  EXPECT_FALSE(model->load((dir / "missing").string(), error));
  EXPECT_NE(error.find("trainee_load: cannot open checkpoint"), std::string::npos) << error;
}

TEST(LoadedModel, InferenceLibrariesCannotTrain) {
  auto model = openAffine();
  ASSERT_TRUE(model);
  EXPECT_EQ(model->training(), nullptr);
  std::string error;
  float loss;
  EXPECT_FALSE(model->trainStep({iota({2, 3, 4})}, HostTensor({1}), loss, error));
  EXPECT_NE(error.find("was compiled without --train"), std::string::npos) << error;
  EXPECT_FALSE(model->save("x.safetensors", error));
  EXPECT_EQ(model->stepCount(), -1);
}

TEST(Timing, CountsRunsAndStopsAtFailure) {
  int calls = 0;
  Timing t = timeRuns([&] { return ++calls < 4; }, 10);
  EXPECT_EQ(calls, 4);
  EXPECT_EQ(t.runs, 3);
  EXPECT_LE(t.minMs, t.medianMs);
  EXPECT_LE(t.medianMs, t.maxMs);
  t = timeRuns([] { return true; }, 0);
  EXPECT_EQ(t.runs, 1);
}

} // namespace
} // namespace kiln::test
