// Tests that nn-fold-batch-norm preserves results: random conv2d/dense + batch_norm (+ relu)
// models (odd sizes, groups, batch 2, var in [0.5, 2]) run through the reference interpreter
// before and after folding agree to relative L2 <= 1e-5; that pairs which must not fold stay; and
// that a missing parameter is an error naming it. Random data: one run seed (printed; set
// KILN_TEST_SEED to replay) mixed with the test's name.
#include "compiler/passes/Passes.h"
#include "compiler/reference/Interpreter.h"

#include "kiln/Dialect/NN/NNDialect.h"
#include "kiln/Dialect/NN/NNOps.h"
#include "kiln/Dialect/NN/ShapeRules.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace kiln {
namespace {

using Shape = std::vector<int64_t>;

std::mt19937 testRng() {
  static const uint64_t seed = [] {
    const char *given = std::getenv("KILN_TEST_SEED");
    uint64_t value = given ? std::strtoull(given, nullptr, 10)
                           : uint64_t(std::chrono::steady_clock::now().time_since_epoch().count() % 1000000007);
    std::cout << "[pass tests] seed " << value << " (KILN_TEST_SEED=" << value << " reproduces)\n";
    return value;
  }();
  const auto *info = ::testing::UnitTest::GetInstance()->current_test_info();
  return std::mt19937(uint32_t(seed ^ std::hash<std::string>()(std::string(info->test_suite_name()) + info->name())));
}

std::string typeOf(const Shape &shape) {
  std::string text = "tensor<";
  for (int64_t d : shape)
    text += std::to_string(d) + "x";
  return text + "f32>";
}

std::string ints(const Shape &values) {
  std::string text = "array<i64: ";
  for (size_t i = 0; i < values.size(); ++i)
    text += (i ? ", " : "") + std::to_string(values[i]);
  return text + ">";
}

/// Builds a one-input @forward as MLIR text with random parameter data, op by op.
struct Model {
  struct V {
    std::string name;
    Shape shape;
  };

  explicit Model(std::mt19937 rng, Shape inputShape) : rng(rng), x{"%x", inputShape} {
    input = random(inputShape, -1, 1);
  }

  V param(const std::string &name, Shape shape, float lo, float hi) {
    weights[name] = random(shape, lo, hi);
    return emit(shape, "nn.param \"" + name + "\" : " + typeOf(shape));
  }
  V conv(const std::string &layer, V in, int64_t filters, int64_t kernel, int64_t stride, Shape padding,
         int64_t dilation, int64_t groups, bool bias) {
    Shape wShape = {filters, in.shape[1] / groups, kernel, kernel};
    V w = param(layer + ".weight", wShape, -0.5f, 0.5f);
    std::optional<V> b;
    if (bias)
      b = param(layer + ".bias", {filters}, -1, 1);
    std::string why;
    auto shape = nn::inferConv2DShape(in.shape, wShape, std::nullopt, {stride, stride}, padding, {dilation, dilation},
                                      groups, why);
    EXPECT_TRUE(mlir::succeeded(shape)) << why;
    Shape out(shape->begin(), shape->end());
    return emit(out, "nn.conv2d " + in.name + ", " + w.name + (b ? ", " + b->name : "") +
                         " {strides = " + ints({stride, stride}) + ", padding = " + ints(padding) +
                         ", dilations = " + ints({dilation, dilation}) + ", groups = " + std::to_string(groups) +
                         " : i64} : (" + typeOf(in.shape) + ", " + typeOf(wShape) + (b ? ", " + typeOf(b->shape) : "") +
                         ") -> " + typeOf(out));
  }
  V dense(const std::string &layer, V in, int64_t units, bool bias) {
    V w = param(layer + ".weight", {units, in.shape[1]}, -0.5f, 0.5f);
    std::optional<V> b;
    if (bias)
      b = param(layer + ".bias", {units}, -1, 1);
    Shape out = {in.shape[0], units};
    return emit(out, "nn.dense " + in.name + ", " + w.name + (b ? ", " + b->name : "") + " : (" + typeOf(in.shape) +
                         ", " + typeOf(w.shape) + (b ? ", " + typeOf(b->shape) : "") + ") -> " + typeOf(out));
  }
  /// Random statistics: scale and shift in [-1.5, 1.5], mean in [-1, 1], variance in [0.5, 2].
  V batchNorm(const std::string &layer, V in) {
    Shape c = {in.shape[1]};
    V g = param(layer + ".weight", c, -1.5f, 1.5f), b = param(layer + ".bias", c, -1.5f, 1.5f);
    V m = param(layer + ".running_mean", c, -1, 1), v = param(layer + ".running_var", c, 0.5f, 2.0f);
    std::string t = typeOf(c);
    return emit(in.shape, "nn.batch_norm " + in.name + ", " + g.name + ", " + b.name + ", " + m.name + ", " + v.name +
                              " {epsilon = 1.0e-05 : f32} : (" + typeOf(in.shape) + ", " + t + ", " + t + ", " + t +
                              ", " + t + ") -> " + typeOf(in.shape));
  }
  V unary(const std::string &op, V in) { return emit(in.shape, op + " " + in.name + " : " + typeOf(in.shape)); }
  V add(V a, V b) { return emit(a.shape, "nn.add " + a.name + ", " + b.name + " : " + typeOf(a.shape)); }

  std::string text(const std::vector<V> &outputs) const {
    std::string results, names, types;
    for (size_t i = 0; i < outputs.size(); ++i) {
      results += (i ? ", " : "") + typeOf(outputs[i].shape);
      names += (i ? ", " : "") + outputs[i].name;
    }
    return "func.func @forward(%x: " + typeOf(x.shape) + ") -> (" + results + ") {\n" + body + "  func.return " +
           names + " : " + results + "\n}\n";
  }

  std::mt19937 rng;
  V x;
  HostTensor input;
  WeightStore weights;

private:
  V emit(Shape shape, const std::string &op) {
    V v{"%v" + std::to_string(counter++), shape};
    body += "  " + v.name + " = " + op + "\n";
    return v;
  }
  HostTensor random(const Shape &shape, float lo, float hi) {
    HostTensor t(shape);
    std::uniform_real_distribution<float> dist(lo, hi);
    for (float &value : t.data)
      value = dist(rng);
    return t;
  }

  std::string body;
  int counter = 0;
};

double relativeL2(const HostTensor &actual, const HostTensor &expected) {
  double diff = 0, norm = 0;
  for (size_t i = 0; i < expected.data.size(); ++i) {
    double d = double(actual.data[i]) - expected.data[i];
    diff += d * d;
    norm += double(expected.data[i]) * expected.data[i];
  }
  return norm > 0 ? std::sqrt(diff / norm) : std::sqrt(diff);
}

int64_t countBatchNorms(mlir::ModuleOp module) {
  int64_t n = 0;
  module.walk([&](nn::BatchNormOp) { ++n; });
  return n;
}

/// Interprets `outputs` of `m`, folds, interprets again and compares; expects `remaining`
/// batch_norms after folding.
void expectFoldPreservesResults(Model &m, const std::vector<Model::V> &outputs, int64_t remaining) {
  std::string text = m.text(outputs);
  SCOPED_TRACE("model:\n" + text);
  mlir::MLIRContext context;
  context.loadDialect<nn::NNDialect, mlir::func::FuncDialect>();
  auto module = mlir::parseSourceString<mlir::ModuleOp>(text, &context);
  ASSERT_TRUE(module) << "cannot parse the test model";
  auto fn = [&] { return module->lookupSymbol<mlir::func::FuncOp>("forward"); };
  std::string error;
  auto before = interpret(fn(), m.weights, {m.input}, error);
  ASSERT_TRUE(mlir::succeeded(before)) << "reference before folding: " << error;

  WeightStore weights = m.weights;
  mlir::PassManager pm(&context);
  pm.addPass(createFoldBatchNormPass(&weights));
  ASSERT_TRUE(mlir::succeeded(pm.run(*module)));
  ASSERT_TRUE(mlir::succeeded(mlir::verify(*module)));
  EXPECT_EQ(countBatchNorms(*module), remaining);

  auto after = interpret(fn(), weights, {m.input}, error);
  ASSERT_TRUE(mlir::succeeded(after)) << "reference after folding: " << error;
  ASSERT_EQ(after->size(), before->size());
  for (size_t i = 0; i < before->size(); ++i) {
    ASSERT_EQ((*after)[i].shape, (*before)[i].shape);
    EXPECT_LE(relativeL2((*after)[i], (*before)[i]), 1e-5) << "output " << i;
  }
}

TEST(FoldBatchNorm, RandomConvModelsKeepTheirResults) {
  std::mt19937 rng = testRng();
  auto pick = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); };
  for (int trial = 0; trial < 12; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    const int64_t channels = 3 * pick(1, 3);                                // 3, 6 or 9
    const int64_t groups = std::vector<int64_t>{1, 3, channels}[trial % 3]; // plain, grouped, depthwise
    const int64_t filters = groups * pick(1, 3);
    Model m(rng, {2, channels, 2 * pick(3, 6) + 1, 2 * pick(3, 6) + 1}); // batch 2, odd H and W
    const int64_t kernel = 2 * pick(0, 1) + 1, pad = pick(0, kernel / 2);
    auto c = m.conv("c", m.x, filters, kernel, pick(1, 2), {pad, pad, pick(0, kernel / 2), pad}, pick(1, 2), groups,
                    trial % 2 == 0);
    auto y = m.batchNorm("bn", c);
    if (trial % 4 != 3)
      y = m.unary("nn.relu", y);
    expectFoldPreservesResults(m, {y}, 0);
    rng.seed(rng()); // the next trial draws from a fresh stream
  }
}

TEST(FoldBatchNorm, DenseWithAndWithoutBias) {
  for (bool bias : {true, false}) {
    Model m(testRng(), {2, 13});
    auto y = m.unary("nn.relu", m.batchNorm("bn", m.dense("fc", m.x, 7, bias)));
    expectFoldPreservesResults(m, {y}, 0);
  }
}

TEST(FoldBatchNorm, ChainOfTwoBatchNormsAndADeeperModel) {
  Model m(testRng(), {2, 5, 11, 9});
  auto a = m.batchNorm("bn2", m.batchNorm("bn1", m.conv("c1", m.x, 7, 3, 1, {1, 1, 1, 1}, 1, 1, true)));
  auto b =
      m.unary("nn.relu", m.batchNorm("bn3", m.conv("c2", m.unary("nn.relu", a), 7, 3, 2, {0, 1, 1, 0}, 1, 7, false)));
  expectFoldPreservesResults(m, {b}, 0);
}

TEST(FoldBatchNorm, ConvWithAnotherUserIsNotFolded) {
  Model m(testRng(), {2, 4, 7, 7});
  auto c = m.conv("c", m.x, 4, 3, 1, {1, 1, 1, 1}, 1, 1, true);
  auto y = m.add(m.batchNorm("bn", c), c); // a residual-style second use of the conv
  expectFoldPreservesResults(m, {y}, 1);
}

TEST(FoldBatchNorm, MissingParameterIsAnErrorNamingIt) {
  Model m(testRng(), {2, 3, 5, 5});
  auto y = m.batchNorm("bn", m.conv("c", m.x, 4, 3, 1, {0, 0, 0, 0}, 1, 1, true));
  mlir::MLIRContext context;
  context.loadDialect<nn::NNDialect, mlir::func::FuncDialect>();
  auto module = mlir::parseSourceString<mlir::ModuleOp>(m.text({y}), &context);
  ASSERT_TRUE(module);
  std::string message;
  mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &diag) {
    message += diag.str();
    return mlir::success();
  });
  WeightStore weights = m.weights;
  weights.erase("bn.running_var");
  mlir::PassManager pm(&context);
  pm.addPass(createFoldBatchNormPass(&weights));
  EXPECT_TRUE(mlir::failed(pm.run(*module)));
  EXPECT_NE(message.find("'bn.running_var' has no data"), std::string::npos) << message;
}

} // namespace
} // namespace kiln
