// ForwardModel's text and nn-autodiff's @train_step gradients against central differences of its
// loss (see the header).
#include "TrainStepGradients.h"

#include "compiler/passes/Passes.h"
#include "compiler/reference/Interpreter.h"

#include "kiln/Dialect/NN/NNDialect.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

#include <gtest/gtest.h>

#include <cmath>

namespace kiln::test {

HostTensor randomAvoiding(std::vector<int64_t> shape, std::mt19937 &rng, double lo, double hi,
                          const std::vector<double> &kinks, double margin) {
  HostTensor t(std::move(shape));
  std::uniform_real_distribution<double> value(lo, hi);
  auto nearKink = [&](double v) {
    return std::any_of(kinks.begin(), kinks.end(), [&](double k) { return std::fabs(v - k) < margin; });
  };
  for (float &v : t.data) {
    do
      v = static_cast<float>(value(rng));
    while (nearKink(v));
  }
  return t;
}

namespace {
std::string tensorType(const std::vector<int64_t> &shape) {
  std::string text = "tensor<";
  for (int64_t d : shape)
    text += std::to_string(d) + "x";
  return text + "f32>";
}
} // namespace

std::string ForwardModel::param(const std::string &name, HostTensor value) {
  shapes["%" + name] = value.shape;
  arguments.push_back({name, std::move(value), true});
  return "%" + name;
}

std::string ForwardModel::input(const std::string &name, HostTensor value) {
  shapes["%" + name] = value.shape;
  arguments.push_back({name, std::move(value), false});
  return "%" + name;
}

std::string ForwardModel::op(const std::string &name, const std::vector<std::string> &operands,
                             std::vector<int64_t> result, const std::string &attributes) {
  const std::string value = "%v" + std::to_string(shapes.size());
  std::string names, types;
  for (const std::string &operand : operands) {
    names += (names.empty() ? "" : ", ") + operand;
    types += (types.empty() ? "" : ", ") + tensorType(shapes.at(operand));
  }
  const std::string braced = attributes.empty() ? "" : "{" + attributes + "} ";
  body += "  " + value + " = \"nn." + name + "\"(" + names + ") " + braced + ": (" + types + ") -> " +
          tensorType(result) + "\n";
  shapes[value] = std::move(result);
  return value;
}

std::string ForwardModel::text(const std::string &output) const {
  std::string signature;
  for (const Argument &a : arguments)
    signature += (signature.empty() ? "" : ", ") + ("%" + a.name) + ": " + tensorType(a.value.shape) + " {" +
                 (a.trained ? "nn.param" : "nn.name") + " = \"" + a.name + "\"}";
  const std::string type = tensorType(shapes.at(output));
  return "func.func @forward(" + signature + ") -> " + type + " {\n" + body + "  return " + output + " : " + type +
         "\n}\n";
}

HostTensor ForwardModel::evaluate(const std::string &value) const {
  mlir::MLIRContext context;
  context.loadDialect<nn::NNDialect, mlir::func::FuncDialect>();
  auto module = mlir::parseSourceString<mlir::ModuleOp>(text(value), &context);
  std::vector<HostTensor> values;
  for (const Argument &a : arguments)
    values.push_back(a.value);
  std::string error = "cannot parse the test model:\n" + text(value);
  auto outputs = module ? interpret(module->lookupSymbol<mlir::func::FuncOp>("forward"), {}, values, error)
                        : mlir::FailureOr<std::vector<HostTensor>>(mlir::failure());
  EXPECT_TRUE(mlir::succeeded(outputs)) << error;
  return mlir::succeeded(outputs) ? outputs->front() : HostTensor(shapes.at(value));
}

bool ForwardModel::staysClearOf(const std::string &value, const std::vector<double> &kinks, double margin) const {
  const HostTensor t = evaluate(value);
  return std::none_of(t.data.begin(), t.data.end(), [&](float v) {
    return std::any_of(kinks.begin(), kinks.end(), [&](double k) { return std::fabs(v - k) < margin; });
  });
}

void ForwardModel::expectGradients(const std::string &output, std::mt19937 &rng, const FiniteDifference &fd,
                                   bool targetNearOutput) const {
  mlir::MLIRContext context;
  context.loadDialect<nn::NNDialect, mlir::func::FuncDialect>();
  const std::string source = text(output);
  auto module = mlir::parseSourceString<mlir::ModuleOp>(source, &context);
  ASSERT_TRUE(module) << "cannot parse the test model:\n" << source;
  mlir::PassManager pm(&context);
  AutodiffOptions options;
  options.loss = "mse";
  pm.addPass(createAutodiffPass(options));
  ASSERT_TRUE(mlir::succeeded(pm.run(*module))) << "nn-autodiff failed on:\n" << source;
  auto step = module->lookupSymbol<mlir::func::FuncOp>("train_step");

  // @train_step's arguments: the inputs, the mse target, hyper = [lr, step 1], the parameters. The
  // large learning rate (a power of 2) keeps (p - p') / lr as precise as the gradient itself.
  const float learningRate = 65536.0f;
  std::vector<HostTensor> values;
  std::vector<const Argument *> params;
  for (const Argument &a : arguments)
    if (a.trained)
      params.push_back(&a);
    else
      values.push_back(a.value);
  HostTensor target = randomTensor(shapes.at(output), rng);
  if (targetNearOutput) {
    const HostTensor y = evaluate(output);
    for (int64_t i = 0; i < target.size(); ++i)
      target.data[i] += y.data[i];
  }
  values.push_back(target);
  HostTensor hyper({2});
  hyper.data = {learningRate, 1.0f};
  values.push_back(hyper);
  const size_t firstParam = values.size();
  for (const Argument *p : params)
    values.push_back(p->value);

  auto runStep = [&](const std::vector<HostTensor> &stepValues) {
    std::string error;
    auto results = interpret(step, {}, stepValues, error);
    EXPECT_TRUE(mlir::succeeded(results)) << error;
    return mlir::succeeded(results) ? *results : std::vector<HostTensor>(params.size() + 1, HostTensor({1}));
  };
  const std::vector<HostTensor> updated = runStep(values);
  for (size_t k = 0; k < params.size(); ++k) {
    const HostTensor &p = params[k]->value;
    HostTensor gradient = p;
    for (int64_t i = 0; i < p.size(); ++i)
      gradient.data[i] = (p.data[i] - updated[1 + k].data[i]) / learningRate;
    auto loss = [&](const HostTensor &value) {
      std::vector<HostTensor> perturbed = values;
      perturbed[firstParam + k] = value;
      return runStep(perturbed).front();
    };
    auto lossGradient = [&](const HostTensor &r) { return scaled(gradient, r.data[0]); };
    const double relativeError = gradientError(loss, lossGradient, p, rng, fd);
    EXPECT_LE(relativeError, fd.tolerance) << "gradient of '" << params[k]->name << "' in\n" << source;
  }
}

} // namespace kiln::test
