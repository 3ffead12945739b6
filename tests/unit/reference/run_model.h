// Test helper: parses a model from MLIR text, runs it in the reference interpreter and compares
// results with hand-computed values.
#ifndef KILN_TESTS_UNIT_REFERENCE_RUN_MODEL_H
#define KILN_TESTS_UNIT_REFERENCE_RUN_MODEL_H

#include "compiler/reference/Interpreter.h"

#include "kiln/Dialect/NN/NNDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace kiln::test {

inline HostTensor tensor(std::vector<int64_t> shape, std::vector<float> data) {
  HostTensor t;
  t.shape = std::move(shape);
  t.data = std::move(data);
  return t;
}

/// Runs @`function` (@forward unless given) of `text`; on failure returns failure and sets `error`.
inline mlir::FailureOr<std::vector<HostTensor>> run(const std::string &text, const WeightStore &weights,
                                                    const std::vector<HostTensor> &inputs, std::string &error,
                                                    const std::string &function = "forward") {
  mlir::MLIRContext context;
  context.loadDialect<kiln::nn::NNDialect, mlir::func::FuncDialect>();
  auto module = mlir::parseSourceString<mlir::ModuleOp>(text, &context);
  if (!module) {
    error = "cannot parse the test model";
    return mlir::failure();
  }
  auto fn = module->lookupSymbol<mlir::func::FuncOp>(function);
  if (!fn) {
    error = "no @" + function;
    return mlir::failure();
  }
  return interpret(fn, weights, inputs, error);
}

/// Runs a one-output model and returns that output; a failure fails the test.
inline HostTensor runOne(const std::string &text, const WeightStore &weights, const std::vector<HostTensor> &inputs) {
  std::string error;
  auto outputs = run(text, weights, inputs, error);
  EXPECT_TRUE(mlir::succeeded(outputs)) << error;
  if (mlir::failed(outputs) || outputs->size() != 1) {
    ADD_FAILURE() << "expected one output";
    return HostTensor();
  }
  return outputs->front();
}

/// MLIR text of a tensor type of `shape`.
inline std::string tensorType(const std::vector<int64_t> &shape) {
  std::string text = "tensor<";
  for (int64_t d : shape)
    text += std::to_string(d) + "x";
  return text + "f32>";
}

/// Runs one op, `"nn.<op>"(inputs...) {attributes}` in MLIR's generic form, on `inputs` with the
/// result shape `shape`, and returns its result; a failure fails the test.
inline HostTensor runOp(const std::string &op, const std::vector<HostTensor> &inputs, const std::vector<int64_t> &shape,
                        const std::string &attributes = "") {
  std::string arguments, names, types;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::string sep = i ? ", " : "", name = "%a" + std::to_string(i), type = tensorType(inputs[i].shape);
    arguments += sep + name + ": " + type;
    names += sep + name;
    types += sep + type;
  }
  const std::string result = tensorType(shape);
  const std::string text = "func.func @forward(" + arguments + ") -> " + result + " {\n  %y = \"nn." + op + "\"(" +
                           names + ") " + (attributes.empty() ? "" : "{" + attributes + "} ") + ": (" + types +
                           ") -> " + result + "\n  return %y : " + result + "\n}\n";
  return runOne(text, {}, inputs);
}

inline void expectTensor(const HostTensor &actual, const std::vector<int64_t> &shape,
                         const std::vector<float> &expected, float tolerance = 1e-5f) {
  EXPECT_EQ(actual.shape, shape);
  ASSERT_EQ(actual.data.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_NEAR(actual.data[i], expected[i], tolerance) << "at flat index " << i;
}

} // namespace kiln::test

#endif
