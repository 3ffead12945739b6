// Tests the interpreter's checks (input count and shapes, missing or mis-shaped parameters,
// unsupported ops, invalid IR) and one small end-to-end network on seeded weights.
#include "run_model.h"

#include <numeric>

using namespace kiln;
using kiln::test::tensor;

namespace {

const char *kDense = R"mlir(
func.func @forward(%x: tensor<1x3xf32> {nn.name = "x"}) -> (tensor<1x2xf32> {nn.name = "out"}) {
  %w = nn.param "fc.weight" : tensor<2x3xf32>
  %y = nn.dense %x, %w : (tensor<1x3xf32>, tensor<2x3xf32>) -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}
)mlir";

WeightStore denseWeights() { return {{"fc.weight", tensor({2, 3}, {1, 1, 1, 1, 1, 1})}}; }

/// Expects running `model` to fail with an error containing every fragment.
void expectError(const std::string &model, const WeightStore &weights, const std::vector<HostTensor> &inputs,
                 std::initializer_list<const char *> fragments) {
  std::string error;
  EXPECT_TRUE(mlir::failed(test::run(model, weights, inputs, error)));
  for (const char *fragment : fragments)
    EXPECT_NE(error.find(fragment), std::string::npos) << "expected '" << fragment << "' in: " << error;
}

TEST(Interpreter, WrongInputCount) {
  expectError(kDense, denseWeights(), {}, {"takes 1 inputs, got 0"});
}

TEST(Interpreter, WrongInputShapeNamesInputAndBothShapes) {
  expectError(kDense, denseWeights(), {tensor({1, 4}, {1, 2, 3, 4})}, {"'x'", "[1x3]", "[1x4]"});
}

TEST(Interpreter, InputDataDoesNotFillShape) {
  expectError(kDense, denseWeights(), {tensor({1, 3}, {1, 2})}, {"'x'", "holds 2 values"});
}

TEST(Interpreter, MissingParameter) {
  expectError(kDense, {}, {tensor({1, 3}, {1, 2, 3})}, {"'fc.weight'", "not in the weights"});
}

TEST(Interpreter, ParameterShapeMismatch) {
  WeightStore w{{"fc.weight", tensor({3, 2}, {1, 1, 1, 1, 1, 1})}};
  expectError(kDense, w, {tensor({1, 3}, {1, 2, 3})}, {"'fc.weight'", "[2x3]", "[3x2]"});
}

TEST(Interpreter, UnsupportedOp) {
  const char *model = R"mlir(
func.func private @helper(tensor<1x3xf32>) -> tensor<1x3xf32>
func.func @forward(%x: tensor<1x3xf32>) -> tensor<1x3xf32> {
  %y = func.call @helper(%x) : (tensor<1x3xf32>) -> tensor<1x3xf32>
  return %y : tensor<1x3xf32>
}
)mlir";
  expectError(model, {}, {tensor({1, 3}, {1, 2, 3})}, {"unsupported op 'func.call'"});
}

TEST(Interpreter, SmallNetworkOnSeededWeights) {
  const char *model = R"mlir(
func.func @forward(%x: tensor<1x1x7x7xf32> {nn.name = "x"}) -> (tensor<1x3xf32> {nn.name = "out"}) {
  %w = nn.param "c1.weight" : tensor<2x1x3x3xf32>
  %b = nn.param "c1.bias" : tensor<2xf32>
  %c = nn.conv2d %x, %w, %b {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>,
         dilations = array<i64: 1, 1>, groups = 1 : i64}
       : (tensor<1x1x7x7xf32>, tensor<2x1x3x3xf32>, tensor<2xf32>) -> tensor<1x2x7x7xf32>
  %r = nn.relu %c : tensor<1x2x7x7xf32>
  %p = nn.max_pool2d %r {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>,
         padding = array<i64: 0, 0, 0, 0>} : (tensor<1x2x7x7xf32>) -> tensor<1x2x3x3xf32>
  %f = nn.flatten %p : (tensor<1x2x3x3xf32>) -> tensor<1x18xf32>
  %fw = nn.param "fc.weight" : tensor<3x18xf32>
  %fb = nn.param "fc.bias" : tensor<3xf32>
  %y = nn.dense %f, %fw, %fb : (tensor<1x18xf32>, tensor<3x18xf32>, tensor<3xf32>) -> tensor<1x3xf32>
  %s = nn.softmax %y {axis = 1 : i64} : tensor<1x3xf32>
  return %s : tensor<1x3xf32>
}
)mlir";
  mlir::MLIRContext context;
  context.loadDialect<kiln::nn::NNDialect, mlir::func::FuncDialect>();
  auto module = mlir::parseSourceString<mlir::ModuleOp>(model, &context);
  ASSERT_TRUE(module);
  WeightStore weights;
  std::string error;
  ASSERT_TRUE(mlir::succeeded(bindWeights(*module, nullptr, 1, weights, error))) << error;
  HostTensor x({1, 1, 7, 7});
  std::iota(x.data.begin(), x.data.end(), -24.0f);
  auto out = interpret(module->lookupSymbol<mlir::func::FuncOp>("forward"), weights, {x}, error);
  ASSERT_TRUE(mlir::succeeded(out)) << error;
  ASSERT_EQ(out->size(), 1u);
  const HostTensor &y = out->front();
  EXPECT_EQ(y.shape, (std::vector<int64_t>{1, 3}));
  EXPECT_NEAR(y.data[0] + y.data[1] + y.data[2], 1.0f, 1e-6f);
}

} // namespace
