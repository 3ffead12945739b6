// Shared by the pass tests: a builder of one-input @forward models as MLIR text with random
// parameter data, the check that a pass keeps the model's results (reference interpreter before
// and after, relative L2), and a pass run with a parameter missing. Random data: testRng()
// (test_support.h).
#ifndef KILN_TESTS_UNIT_PASSES_PASS_MODEL_H
#define KILN_TESTS_UNIT_PASSES_PASS_MODEL_H

#include "../test_support.h"

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
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace kiln::test {

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
  V flatten(V in) {
    Shape out = {in.shape[0], 1};
    for (size_t d = 1; d < in.shape.size(); ++d)
      out[1] *= in.shape[d];
    return emit(out, "nn.flatten " + in.name + " : (" + typeOf(in.shape) + ") -> " + typeOf(out));
  }

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
  HostTensor random(const Shape &shape, float lo, float hi) { return randomTensor(rng, shape, lo, hi); }

  std::string body;
  int counter = 0;
};

/// Interprets `outputs` of `m`, runs the pass `makePass` makes (given a copy of the weights it may
/// add to), verifies, interprets again and compares (relative L2 <= 1e-5); `check` then sees
/// the rewritten module.
inline void expectPassPreservesResults(Model &m, const std::vector<Model::V> &outputs,
                                       const std::function<std::unique_ptr<mlir::Pass>(WeightStore *)> &makePass,
                                       const std::function<void(mlir::ModuleOp)> &check = {}) {
  std::string text = m.text(outputs);
  SCOPED_TRACE("model:\n" + text);
  mlir::MLIRContext context;
  context.loadDialect<nn::NNDialect, mlir::func::FuncDialect>();
  auto module = mlir::parseSourceString<mlir::ModuleOp>(text, &context);
  ASSERT_TRUE(module) << "cannot parse the test model";
  auto fn = [&] { return module->lookupSymbol<mlir::func::FuncOp>("forward"); };
  std::string error;
  auto before = interpret(fn(), m.weights, {m.input}, error);
  ASSERT_TRUE(mlir::succeeded(before)) << "reference before the pass: " << error;

  WeightStore weights = m.weights;
  mlir::PassManager pm(&context);
  pm.addPass(makePass(&weights));
  ASSERT_TRUE(mlir::succeeded(pm.run(*module)));
  ASSERT_TRUE(mlir::succeeded(mlir::verify(*module)));
  if (check)
    check(*module);

  auto after = interpret(fn(), weights, {m.input}, error);
  ASSERT_TRUE(mlir::succeeded(after)) << "reference after the pass: " << error;
  ASSERT_EQ(after->size(), before->size());
  for (size_t i = 0; i < before->size(); ++i) {
    ASSERT_EQ((*after)[i].shape, (*before)[i].shape);
    EXPECT_LE(relativeL2((*after)[i], (*before)[i]), 1e-5) << "output " << i;
  }
}

/// Runs the pass `makePass` makes on `outputs` of `m` with the parameter `missing` left out of
/// the weights; expects it to fail and returns its diagnostics.
inline std::string passErrorsWithout(Model &m, const std::vector<Model::V> &outputs, const std::string &missing,
                                     const std::function<std::unique_ptr<mlir::Pass>(WeightStore *)> &makePass) {
  mlir::MLIRContext context;
  context.loadDialect<nn::NNDialect, mlir::func::FuncDialect>();
  auto module = mlir::parseSourceString<mlir::ModuleOp>(m.text(outputs), &context);
  EXPECT_TRUE(module) << "cannot parse the test model";
  if (!module)
    return "";
  std::string message;
  mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &diag) {
    message += diag.str();
    return mlir::success();
  });
  WeightStore weights = m.weights;
  weights.erase(missing);
  mlir::PassManager pm(&context);
  pm.addPass(makePass(&weights));
  EXPECT_TRUE(mlir::failed(pm.run(*module)));
  return message;
}

} // namespace kiln::test

#endif
