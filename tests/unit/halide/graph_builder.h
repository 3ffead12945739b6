// Test helper: builds nn-dialect models as MLIR text (result types from ShapeRules.h) with random
// weights and inputs, runs them with the Halide JIT and the reference interpreter, and compares.
// Random data comes from testRng() (test_support.h: one printed run seed, KILN_TEST_SEED
// reproduces a failure, mixed with the test's name).
#ifndef KILN_TESTS_UNIT_HALIDE_GRAPH_BUILDER_H
#define KILN_TESTS_UNIT_HALIDE_GRAPH_BUILDER_H

#include "../test_support.h"

#include "compiler/halide/HalideBackend.h"
#include "compiler/reference/Interpreter.h"

#include "kiln/Dialect/NN/NNDialect.h"
#include "kiln/Dialect/NN/ShapeRules.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace kiln::test {

/// Builds one function (@forward unless `functionName` says otherwise); every builder call appends
/// one op and returns its value.
class Graph {
public:
  struct V {
    std::string name;
    Shape shape;
  };

  explicit Graph(std::mt19937 rng) : rng(rng) {}

  V input(Shape shape) { return input(random(shape, -1.0f, 1.0f)); }
  /// An argument holding `data`; `attrs` (e.g. `{nn.param = "w"}`) replaces its default attributes
  /// `{nn.name = "x<i>"}`.
  V input(HostTensor data, const std::string &attrs = "") {
    V v{"%arg" + std::to_string(inputs.size()), data.shape};
    args.push_back(v);
    argAttrs.push_back(attrs.empty() ? "{nn.name = \"x" + std::to_string(inputs.size()) + "\"}" : attrs);
    inputs.push_back(std::move(data));
    return v;
  }
  /// Appends an op written out in full after `%v = `, whose result has `shape`.
  V op(Shape shape, const std::string &text) { return emit(shape, text); }
  /// A parameter with uniform random data in [lo, hi].
  V param(Shape shape, float lo = -1.0f, float hi = 1.0f) {
    std::string name = "p" + std::to_string(weights.size());
    weights[name] = random(shape, lo, hi);
    return emit(shape, "nn.param \"" + name + "\" : " + typeOf(shape));
  }
  V conv(V x, int64_t filters, std::vector<int64_t> kernel, std::vector<int64_t> strides,
         std::vector<int64_t> padding, std::vector<int64_t> dilations = {1, 1}, int64_t groups = 1,
         bool bias = true) {
    Shape wShape = {filters, x.shape[1] / groups, kernel[0], kernel[1]};
    float bound = 1.0f / std::sqrt(static_cast<float>(wShape[1] * kernel[0] * kernel[1]));
    V w = param(wShape, -bound, bound);
    std::optional<V> b;
    if (bias)
      b = param({filters});
    std::string why;
    auto shape = nn::inferConv2DShape(x.shape, wShape, b ? std::optional<llvm::ArrayRef<int64_t>>(b->shape) : std::nullopt,
                                      strides, padding, dilations, groups, why);
    EXPECT_TRUE(mlir::succeeded(shape)) << why;
    Shape out(shape->begin(), shape->end());
    std::string operands = x.name + ", " + w.name + (b ? ", " + b->name : "");
    std::string types = typeOf(x.shape) + ", " + typeOf(wShape) + (b ? ", " + typeOf(b->shape) : "");
    return emit(out, "nn.conv2d " + operands + " {strides = " + ints(strides) + ", padding = " + ints(padding) +
                         ", dilations = " + ints(dilations) + ", groups = " + std::to_string(groups) +
                         " : i64} : (" + types + ") -> " + typeOf(out));
  }
  V pool(const std::string &kind, V x, std::vector<int64_t> kernel, std::vector<int64_t> strides,
         std::vector<int64_t> padding, std::optional<bool> countIncludePad = std::nullopt, bool ceilMode = false) {
    std::string why;
    auto shape = nn::inferPool2DShape(x.shape, kernel, strides, padding, why, ceilMode);
    EXPECT_TRUE(mlir::succeeded(shape)) << why;
    Shape out(shape->begin(), shape->end());
    std::string attrs = "kernel = " + ints(kernel) + ", strides = " + ints(strides) + ", padding = " + ints(padding);
    if (countIncludePad)
      attrs += std::string(", count_include_pad = ") + (*countIncludePad ? "true" : "false");
    if (ceilMode)
      attrs += ", ceil_mode = true";
    return emit(out, "nn." + kind + " " + x.name + " {" + attrs + "} : (" + typeOf(x.shape) + ") -> " + typeOf(out));
  }
  V globalAvgPool(V x) {
    Shape out = {x.shape[0], x.shape[1], 1, 1};
    return emit(out, "nn.global_avg_pool " + x.name + " : (" + typeOf(x.shape) + ") -> " + typeOf(out));
  }
  V batchNorm(V x) {
    Shape c = {x.shape[1]};
    V g = param(c), b = param(c), m = param(c), v = param(c, 0.25f, 2.0f);
    std::string t = typeOf(c);
    return emit(x.shape, "nn.batch_norm " + x.name + ", " + g.name + ", " + b.name + ", " + m.name + ", " + v.name +
                             " {epsilon = 1.0e-05 : f32} : (" + typeOf(x.shape) + ", " + t + ", " + t + ", " + t +
                             ", " + t + ") -> " + typeOf(x.shape));
  }
  /// relu, tanh, sigmoid; leaky_relu and dropout get their attribute.
  V unary(const std::string &kind, V x) {
    std::string attrs = kind == "leaky_relu" ? " {alpha = 0.1 : f32}" : kind == "dropout" ? " {rate = 0.5 : f32}" : "";
    return emit(x.shape, "nn." + kind + " " + x.name + attrs + " : " + typeOf(x.shape));
  }
  V dense(V x, int64_t features, bool bias = true) {
    V w = param({features, x.shape[1]}, -0.3f, 0.3f);
    std::optional<V> b;
    if (bias)
      b = param({features});
    Shape out = {x.shape[0], features};
    std::string operands = x.name + ", " + w.name + (b ? ", " + b->name : "");
    std::string types = typeOf(x.shape) + ", " + typeOf(w.shape) + (b ? ", " + typeOf(b->shape) : "");
    return emit(out, "nn.dense " + operands + " : (" + types + ") -> " + typeOf(out));
  }
  V flatten(V x) {
    Shape out = {x.shape[0], 1};
    for (size_t d = 1; d < x.shape.size(); ++d)
      out[1] *= x.shape[d];
    return emit(out, "nn.flatten " + x.name + " : (" + typeOf(x.shape) + ") -> " + typeOf(out));
  }
  V softmax(V x, int64_t axis) {
    return emit(x.shape, "nn.softmax " + x.name + " {axis = " + std::to_string(axis) + " : i64} : " + typeOf(x.shape));
  }
  V add(V a, V b) { return emit(a.shape, "nn.add " + a.name + ", " + b.name + " : " + typeOf(a.shape)); }
  V concat(std::vector<V> parts, int64_t axis) {
    Shape out = parts[0].shape;
    out[axis] = 0;
    std::string names, types;
    for (size_t i = 0; i < parts.size(); ++i) {
      out[axis] += parts[i].shape[axis];
      names += (i ? ", " : "") + parts[i].name;
      types += (i ? ", " : "") + typeOf(parts[i].shape);
    }
    return emit(out, "nn.concat " + names + " {axis = " + std::to_string(axis) + " : i64} : (" + types + ") -> " +
                         typeOf(out));
  }

  /// conv_transpose2d with a filter [C, filters/groups, KH, KW].
  V convTranspose(V x, int64_t filters, std::vector<int64_t> kernel, std::vector<int64_t> strides,
                  std::vector<int64_t> padding, std::vector<int64_t> outputPadding,
                  std::vector<int64_t> dilations = {1, 1}, int64_t groups = 1, bool bias = true) {
    Shape wShape = {x.shape[1], filters / groups, kernel[0], kernel[1]};
    float bound = 1.0f / std::sqrt(static_cast<float>(x.shape[1] / groups * kernel[0] * kernel[1]));
    V w = param(wShape, -bound, bound);
    std::optional<V> b;
    if (bias)
      b = param({filters});
    std::string why;
    auto shape = nn::inferConvTranspose2DShape(x.shape, wShape,
                                               b ? std::optional<llvm::ArrayRef<int64_t>>(b->shape) : std::nullopt,
                                               strides, padding, outputPadding, dilations, groups, why);
    EXPECT_TRUE(mlir::succeeded(shape)) << why;
    Shape out(shape->begin(), shape->end());
    std::string operands = x.name + ", " + w.name + (b ? ", " + b->name : "");
    std::string types = typeOf(x.shape) + ", " + typeOf(wShape) + (b ? ", " + typeOf(b->shape) : "");
    return emit(out, "nn.conv_transpose2d " + operands + " {strides = " + ints(strides) + ", padding = " +
                         ints(padding) + ", output_padding = " + ints(outputPadding) + ", dilations = " +
                         ints(dilations) + ", groups = " + std::to_string(groups) + " : i64} : (" + types + ") -> " +
                         typeOf(out));
  }
  V globalMaxPool(V x) {
    Shape out = {x.shape[0], x.shape[1], 1, 1};
    return emit(out, "nn.global_max_pool " + x.name + " : (" + typeOf(x.shape) + ") -> " + typeOf(out));
  }
  V resize(V x, const std::string &mode, int64_t oh, int64_t ow, bool alignCorners = false) {
    Shape out = {x.shape[0], x.shape[1], oh, ow};
    std::string coordinates = mode == "nearest" ? "asymmetric" : alignCorners ? "align_corners" : "half_pixel";
    return emit(out, "nn.resize " + x.name + " {mode = \"" + mode + "\", size = " + ints({oh, ow}) +
                         ", coordinate_mode = \"" + coordinates + "\"} : (" + typeOf(x.shape) + ") -> " + typeOf(out));
  }
  V lrn(V x, int64_t size, float alpha = 1e-2f, float beta = 0.75f, float bias = 1.0f) {
    return emit(x.shape, "nn.lrn " + x.name + " {size = " + std::to_string(size) + " : i64, alpha = " +
                             std::to_string(alpha) + " : f32, beta = " + std::to_string(beta) + " : f32, bias = " +
                             std::to_string(bias) + " : f32} : (" + typeOf(x.shape) + ") -> " + typeOf(x.shape));
  }
  /// add, sub, mul, div, max, min with numpy broadcasting.
  V binary(const std::string &kind, V a, V b) {
    std::string why;
    auto shape = nn::inferBroadcastShape(a.shape, b.shape, why);
    EXPECT_TRUE(mlir::succeeded(shape)) << why;
    Shape out(shape->begin(), shape->end());
    return emit(out, "nn." + kind + " " + a.name + ", " + b.name + " : (" + typeOf(a.shape) + ", " + typeOf(b.shape) +
                         ") -> " + typeOf(out));
  }
  /// sum or mean.
  V variadic(const std::string &kind, std::vector<V> parts) {
    std::string names, types;
    for (size_t i = 0; i < parts.size(); ++i) {
      names += (i ? ", " : "") + parts[i].name;
      types += (i ? ", " : "") + typeOf(parts[i].shape);
    }
    return emit(parts[0].shape, "nn." + kind + " " + names + " : (" + types + ") -> " + typeOf(parts[0].shape));
  }
  /// An elementwise op with attributes written out, e.g. unaryWith("clip", x, "{min = 0.0 : f32, max = 6.0 : f32}").
  V unaryWith(const std::string &kind, V x, const std::string &attrs) {
    return emit(x.shape, "nn." + kind + " " + x.name + " " + attrs + " : " + typeOf(x.shape));
  }
  V pad(V x, std::vector<int64_t> pads, float value) {
    std::string why;
    auto shape = nn::inferPadShape(x.shape, pads, why);
    EXPECT_TRUE(mlir::succeeded(shape)) << why;
    Shape out(shape->begin(), shape->end());
    return emit(out, "nn.pad " + x.name + " {pads = " + ints(pads) + ", value = " + std::to_string(value) +
                         " : f32} : (" + typeOf(x.shape) + ") -> " + typeOf(out));
  }
  V reshape(V x, Shape shape) {
    return emit(shape, "nn.reshape " + x.name + " {shape = " + ints(shape) + "} : (" + typeOf(x.shape) + ") -> " +
                           typeOf(shape));
  }

  /// The module text returning `outputs`.
  std::string text(const std::vector<V> &outputs) const {
    std::string header = "func.func @" + functionName + "(";
    for (size_t i = 0; i < args.size(); ++i)
      header += (i ? ", " : "") + args[i].name + ": " + typeOf(args[i].shape) + " " + argAttrs[i];
    header += ") -> (";
    std::string ret = "  func.return ", retTypes;
    for (size_t i = 0; i < outputs.size(); ++i) {
      std::string attrs = i < resultAttrs.size() ? resultAttrs[i] : "{nn.name = \"y" + std::to_string(i) + "\"}";
      header += (i ? ", " : "") + typeOf(outputs[i].shape) + " " + attrs;
      ret += (i ? ", " : "") + outputs[i].name;
      retTypes += (i ? ", " : "") + typeOf(outputs[i].shape);
    }
    return "module {\n" + header + ") {\n" + body + ret + " : " + retTypes + "\n}\n}\n";
  }

  /// Uniform random data in [lo, hi].
  HostTensor random(const Shape &shape, float lo, float hi) { return randomTensor(rng, shape, lo, hi); }

  std::mt19937 rng;
  WeightStore weights;
  std::vector<HostTensor> inputs;
  std::string functionName = "forward";
  std::vector<std::string> resultAttrs; ///< replaces `{nn.name = "y<i>"}` of the first results

private:
  V emit(Shape shape, const std::string &op) {
    V v{"%v" + std::to_string(counter++), shape};
    body += "  " + v.name + " = " + op + "\n";
    return v;
  }
  std::vector<V> args;
  std::vector<std::string> argAttrs;
  std::string body;
  int counter = 0;
};

/// A parsed model (owns its context).
struct Parsed {
  std::unique_ptr<mlir::MLIRContext> context;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  mlir::func::FuncOp fn;
};

inline Parsed parse(const std::string &text, const std::string &function = "forward") {
  Parsed p;
  p.context = std::make_unique<mlir::MLIRContext>();
  p.context->loadDialect<kiln::nn::NNDialect, mlir::func::FuncDialect>();
  p.module = mlir::parseSourceString<mlir::ModuleOp>(text, p.context.get());
  if (p.module)
    p.fn = p.module->lookupSymbol<mlir::func::FuncOp>(function);
  return p;
}

/// Runs `fn` on `inputs` with the Halide JIT (under `options`) and the reference; expects every
/// output within `tolerance` relative L2 error. Returns the Halide outputs.
inline std::vector<HostTensor> expectFunctionMatchesReference(mlir::func::FuncOp fn, const WeightStore &weights,
                                                              const std::vector<HostTensor> &inputs,
                                                              const HalideScheduleOptions &options = {},
                                                              double tolerance = 1e-5) {
  std::string error;
  auto expected = interpret(fn, weights, inputs, error);
  EXPECT_TRUE(mlir::succeeded(expected)) << "reference: " << error;
  auto model = lowerToHalide(fn, weights, options, error);
  EXPECT_TRUE(mlir::succeeded(model)) << "lowering: " << error;
  if (mlir::failed(expected) || mlir::failed(model))
    return {};
  auto actual = runJit(*model, inputs, error);
  EXPECT_TRUE(mlir::succeeded(actual)) << "JIT: " << error;
  if (mlir::failed(actual))
    return {};
  EXPECT_EQ(actual->size(), expected->size());
  for (size_t i = 0; i < std::min(actual->size(), expected->size()); ++i) {
    EXPECT_EQ((*actual)[i].shape, (*expected)[i].shape) << "output " << i;
    if ((*actual)[i].shape == (*expected)[i].shape)
      EXPECT_LE(relativeL2((*actual)[i], (*expected)[i]), tolerance) << "output " << i;
  }
  return *actual;
}

/// Runs `outputs` of `g` with the Halide JIT (under `options`) and the reference; expects every
/// output within `tolerance` relative L2 error. Returns the Halide outputs.
inline std::vector<HostTensor> expectMatchesReference(const Graph &g, const std::vector<Graph::V> &outputs,
                                                      const HalideScheduleOptions &options = {},
                                                      double tolerance = 1e-5) {
  std::string text = g.text(outputs);
  SCOPED_TRACE("seed " + std::to_string(runSeed()) + ", model:\n" + text);
  Parsed p = parse(text, g.functionName);
  EXPECT_TRUE(p.module && p.fn) << "cannot parse the test model";
  if (!p.fn)
    return {};
  return expectFunctionMatchesReference(p.fn, g.weights, g.inputs, options, tolerance);
}

/// Expects `outputs` of `g` to match the reference under the default schedule and under `other`
/// (small tiles, narrow vectors, serial), and the two schedules to agree within `tolerance`.
inline void expectScheduleIndependent(const Graph &g, const std::vector<Graph::V> &outputs,
                                      const HalideScheduleOptions &other, double tolerance) {
  auto reference = expectMatchesReference(g, outputs);
  auto changed = expectMatchesReference(g, outputs, other);
  ASSERT_EQ(reference.size(), changed.size());
  for (size_t i = 0; i < reference.size(); ++i)
    EXPECT_LE(relativeL2(changed[i], reference[i]), tolerance) << "output " << i;
}

} // namespace kiln::test

#endif
