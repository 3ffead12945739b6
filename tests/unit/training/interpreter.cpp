// Tests that the interpreter runs functions other than @forward with labels, hyper, parameter and
// state arguments and several results, dispatches every training op to its kernel with the op's
// attributes, and rejects labels that are not class indices and arguments of the wrong shape.
#include "GradientCheck.h"
#include "run_model.h"

#include "compiler/reference/Kernels.h"
#include "compiler/reference/TrainingKernels.h"

#include <gtest/gtest.h>

using namespace kiln;
using namespace kiln::reference;
using namespace kiln::test;

namespace {

const char *kTrainStep = R"mlir(
func.func @train_step(%x: tensor<2x3xf32> {nn.name = "x"}, %labels: tensor<2xf32> {nn.name = "labels"},
                      %hyper: tensor<2xf32> {nn.name = "hyper"}, %w: tensor<4x3xf32> {nn.param = "fc.weight"},
                      %v: tensor<4x3xf32> {nn.state = "fc.weight.momentum_buffer"})
    -> (tensor<1xf32> {nn.name = "loss"}, tensor<4x3xf32> {nn.param = "fc.weight"},
        tensor<4x3xf32> {nn.state = "fc.weight.momentum_buffer"}) {
  %z = nn.dense %x, %w : (tensor<2x3xf32>, tensor<4x3xf32>) -> tensor<2x4xf32>
  %loss = nn.softmax_cross_entropy %z, %labels : (tensor<2x4xf32>, tensor<2xf32>) -> tensor<1xf32>
  %dz = nn.softmax_cross_entropy_grad %z, %labels : (tensor<2x4xf32>, tensor<2xf32>) -> tensor<2x4xf32>
  %dw = nn.dense_grad_weight %x, %dz : (tensor<2x3xf32>, tensor<2x4xf32>) -> tensor<4x3xf32>
  %w1 = nn.optimizer_update %w, %dw, %hyper, %v {optimizer = "momentum", which = 0 : i64, momentum = 9.0e-01 : f32}
        : (tensor<4x3xf32>, tensor<4x3xf32>, tensor<2xf32>, tensor<4x3xf32>) -> tensor<4x3xf32>
  %v1 = nn.optimizer_update %w, %dw, %hyper, %v {optimizer = "momentum", which = 1 : i64, momentum = 9.0e-01 : f32}
        : (tensor<4x3xf32>, tensor<4x3xf32>, tensor<2xf32>, tensor<4x3xf32>) -> tensor<4x3xf32>
  return %loss, %w1, %v1 : tensor<1xf32>, tensor<4x3xf32>, tensor<4x3xf32>
}
)mlir";

TEST(Interpreter, RunsATrainStepWithSeveralArgumentsAndResults) {
  std::mt19937 rng(41);
  const HostTensor x = randomTensor({2, 3}, rng), labels = tensor({2}, {3.0f, 0.0f}), hyper = tensor({2}, {0.1f, 2.0f});
  const HostTensor w = randomTensor({4, 3}, rng), v = randomTensor({4, 3}, rng);
  std::string error;
  auto outputs = run(kTrainStep, {}, {x, labels, hyper, w, v}, error, "train_step");
  ASSERT_TRUE(mlir::succeeded(outputs)) << error;
  ASSERT_EQ(outputs->size(), 3u);

  const HostTensor z = dense(x, w, nullptr);
  const HostTensor dw = denseGradWeight(x, softmaxCrossEntropyGrad(z, labels));
  OptimizerSettings momentum{"momentum", 0, 0.9f};
  const HostTensor w1 = optimizerUpdate(w, dw, hyper, {&v}, momentum);
  momentum.which = 1;
  const HostTensor v1 = optimizerUpdate(w, dw, hyper, {&v}, momentum);
  EXPECT_EQ((*outputs)[0].data, softmaxCrossEntropy(z, labels).data);
  EXPECT_EQ((*outputs)[1].data, w1.data);
  EXPECT_EQ((*outputs)[2].data, v1.data);
}

TEST(Interpreter, RejectsALabelThatIsNotAClassIndex) {
  std::mt19937 rng(42);
  std::string error;
  auto outputs = run(kTrainStep, {},
                     {randomTensor({2, 3}, rng), tensor({2}, {4.0f, 0.0f}), tensor({2}, {0.1f, 1.0f}),
                      randomTensor({4, 3}, rng), randomTensor({4, 3}, rng)},
                     error, "train_step");
  EXPECT_TRUE(mlir::failed(outputs));
  EXPECT_NE(error.find("label 4"), std::string::npos) << error;
  EXPECT_NE(error.find("[0, 4)"), std::string::npos) << error;
}

TEST(Interpreter, NamesAStateArgumentOfTheWrongShape) {
  std::mt19937 rng(44);
  std::string error;
  auto outputs = run(kTrainStep, {},
                     {randomTensor({2, 3}, rng), tensor({2}, {1.0f, 0.0f}), tensor({2}, {0.1f, 1.0f}),
                      randomTensor({4, 3}, rng), randomTensor({3, 4}, rng)},
                     error, "train_step");
  EXPECT_TRUE(mlir::failed(outputs));
  EXPECT_NE(error.find("'fc.weight.momentum_buffer'"), std::string::npos) << error;
}

// Every other training op once, with non-default attributes, each result returned.
const char *kEveryOp = R"mlir(
func.func @every_op(%x: tensor<1x2x5x5xf32>, %x2: tensor<1x2x5x5xf32>, %dy: tensor<1x3x2x2xf32>,
                    %dp: tensor<1x2x3x3xf32>, %g: tensor<1x2x1x1xf32>, %s: tensor<2xf32>, %b: tensor<2xf32>,
                    %hyper: tensor<2xf32>, %d: tensor<2x4xf32>, %wd: tensor<4x3xf32>, %m: tensor<2xf32>,
                    %v: tensor<2xf32>)
    -> (tensor<3x2x3x3xf32>, tensor<1x2x5x5xf32>, tensor<1x2x5x5xf32>, tensor<1x2x5x5xf32>, tensor<1x2x5x5xf32>,
        tensor<1xf32>, tensor<1x2x5x5xf32>, tensor<1x2x5x5xf32>, tensor<1x2x5x5xf32>, tensor<1x2x5x5xf32>,
        tensor<2xf32>, tensor<2xf32>, tensor<1x2x5x3xf32>, tensor<2x3xf32>, tensor<3xf32>, tensor<2xf32>,
        tensor<2xf32>, tensor<2xf32>) {
  %0 = nn.conv2d_grad_filter %x, %dy {strides = array<i64: 2, 2>, padding = array<i64: 1, 0, 0, 1>,
         dilations = array<i64: 1, 1>, groups = 1 : i64}
       : (tensor<1x2x5x5xf32>, tensor<1x3x2x2xf32>) -> tensor<3x2x3x3xf32>
  %1 = nn.max_pool2d_grad %x, %dp {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>,
         padding = array<i64: 0, 0, 0, 0>, ceil_mode = true}
       : (tensor<1x2x5x5xf32>, tensor<1x2x3x3xf32>) -> tensor<1x2x5x5xf32>
  %2 = nn.avg_pool2d_grad %dp {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>,
         padding = array<i64: 0, 0, 0, 0>, count_include_pad = true, ceil_mode = true}
       : (tensor<1x2x3x3xf32>) -> tensor<1x2x5x5xf32>
  %3 = nn.global_avg_pool_grad %g : (tensor<1x2x1x1xf32>) -> tensor<1x2x5x5xf32>
  %4 = nn.activation_grad %x, %x2 {activation = "leaky_relu", alpha = 2.0e-01 : f32}
       : (tensor<1x2x5x5xf32>, tensor<1x2x5x5xf32>) -> tensor<1x2x5x5xf32>
  %5 = nn.mse_loss %x, %x2 : (tensor<1x2x5x5xf32>, tensor<1x2x5x5xf32>) -> tensor<1xf32>
  %6 = nn.mse_loss_grad %x, %x2 : (tensor<1x2x5x5xf32>, tensor<1x2x5x5xf32>) -> tensor<1x2x5x5xf32>
  %7 = nn.dropout_train %x, %hyper {rate = 5.0e-01 : f32, seed = 3 : i64}
       : (tensor<1x2x5x5xf32>, tensor<2xf32>) -> tensor<1x2x5x5xf32>
  %8 = nn.batch_norm_train %x, %s, %b {epsilon = 1.0e-03 : f32}
       : (tensor<1x2x5x5xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x5x5xf32>
  %9 = nn.batch_norm_grad_input %x, %s, %x2 {epsilon = 1.0e-03 : f32}
       : (tensor<1x2x5x5xf32>, tensor<2xf32>, tensor<1x2x5x5xf32>) -> tensor<1x2x5x5xf32>
  %10 = nn.batch_norm_grad_scale %x, %x2 {epsilon = 1.0e-03 : f32}
        : (tensor<1x2x5x5xf32>, tensor<1x2x5x5xf32>) -> tensor<2xf32>
  %11 = nn.running_stat_update %s, %x {momentum = 2.0e-01 : f32, statistic = "var"}
        : (tensor<2xf32>, tensor<1x2x5x5xf32>) -> tensor<2xf32>
  %12 = nn.slice %x {starts = array<i64: 0, 0, 0, 1>, steps = array<i64: 1, 1, 1, 1>} : (tensor<1x2x5x5xf32>) -> tensor<1x2x5x3xf32>
  %13 = nn.dense_grad_input %d, %wd : (tensor<2x4xf32>, tensor<4x3xf32>) -> tensor<2x3xf32>
  %14 = nn.bias_grad %dy : (tensor<1x3x2x2xf32>) -> tensor<3xf32>
  %15 = nn.optimizer_update %s, %b, %hyper, %m, %v {optimizer = "adam", which = 0 : i64, beta1 = 8.0e-01 : f32,
          beta2 = 9.0e-01 : f32, epsilon = 1.0e-03 : f32, weight_decay = 1.0e-01 : f32}
        : (tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %16 = nn.optimizer_update %s, %b, %hyper, %m, %v {optimizer = "adam", which = 1 : i64, beta1 = 8.0e-01 : f32,
          beta2 = 9.0e-01 : f32, epsilon = 1.0e-03 : f32, weight_decay = 1.0e-01 : f32}
        : (tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %17 = nn.optimizer_update %s, %b, %hyper, %m, %v {optimizer = "adam", which = 2 : i64, beta1 = 8.0e-01 : f32,
          beta2 = 9.0e-01 : f32, epsilon = 1.0e-03 : f32, weight_decay = 1.0e-01 : f32}
        : (tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  return %0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17
    : tensor<3x2x3x3xf32>, tensor<1x2x5x5xf32>, tensor<1x2x5x5xf32>, tensor<1x2x5x5xf32>, tensor<1x2x5x5xf32>,
      tensor<1xf32>, tensor<1x2x5x5xf32>, tensor<1x2x5x5xf32>, tensor<1x2x5x5xf32>, tensor<1x2x5x5xf32>,
      tensor<2xf32>, tensor<2xf32>, tensor<1x2x5x3xf32>, tensor<2x3xf32>, tensor<3xf32>, tensor<2xf32>,
      tensor<2xf32>, tensor<2xf32>
}
)mlir";

TEST(Interpreter, DispatchesEveryTrainingOpWithItsAttributes) {
  std::mt19937 rng(43);
  const HostTensor x = randomTensor({1, 2, 5, 5}, rng), x2 = randomTensor({1, 2, 5, 5}, rng);
  const HostTensor dy = randomTensor({1, 3, 2, 2}, rng), dp = randomTensor({1, 2, 3, 3}, rng);
  const HostTensor g = randomTensor({1, 2, 1, 1}, rng), s = randomTensor({2}, rng, 0.5, 1.5);
  const HostTensor b = randomTensor({2}, rng), hyper = tensor({2}, {0.01f, 3.0f});
  const HostTensor d = randomTensor({2, 4}, rng), wd = randomTensor({4, 3}, rng);
  const HostTensor m = randomTensor({2}, rng), v = randomTensor({2}, rng, 0.1, 1.0);
  std::string error;
  auto outputs = run(kEveryOp, {}, {x, x2, dy, dp, g, s, b, hyper, d, wd, m, v}, error, "every_op");
  ASSERT_TRUE(mlir::succeeded(outputs)) << error;

  OptimizerSettings adam{"adam", 0};
  adam.beta1 = 0.8f;
  adam.beta2 = 0.9f;
  adam.epsilon = 1e-3f;
  adam.weightDecay = 0.1f;
  auto adamYields = [&](int64_t which) {
    adam.which = which;
    return optimizerUpdate(s, b, hyper, {&m, &v}, adam);
  };
  const std::vector<HostTensor> expected = {
      conv2dGradFilter(x, dy, {3, 3}, {2, 2}, {1, 0, 0, 1}, {1, 1}, 1),
      maxPool2dGrad(x, dp, {2, 2}, {2, 2}, {0, 0, 0, 0}),
      avgPool2dGrad(dp, x.shape, {2, 2}, {2, 2}, {0, 0, 0, 0}, true),
      globalAvgPoolGrad(g, x.shape),
      activationGrad(x, x2, "leaky_relu", 0.2f),
      mseLoss(x, x2),
      mseLossGrad(x, x2),
      dropoutTrain(x, hyper, 0.5f, 3),
      batchNormTrain(x, s, b, double(1e-3f)),
      batchNormGradInput(x, s, x2, double(1e-3f)),
      batchNormGradScale(x, x2, double(1e-3f)),
      runningStatUpdate(s, x, double(0.2f), "var"),
      slice(x, {0, 0, 0, 1}, {1, 1, 1, 1}, {1, 2, 5, 3}),
      denseGradInput(d, wd),
      biasGrad(dy),
      adamYields(0),
      adamYields(1),
      adamYields(2),
  };
  ASSERT_EQ(outputs->size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ((*outputs)[i].shape, expected[i].shape) << "result " << i;
    EXPECT_EQ((*outputs)[i].data, expected[i].data) << "result " << i;
  }
}

} // namespace
