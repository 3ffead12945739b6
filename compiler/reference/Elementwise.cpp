// Reference elementwise ops: activations (applied through map), the broadcasting binary ops, and
// sum / mean of same-shape inputs.
#include "compiler/reference/Kernels.h"

#include "compiler/reference/Indexing.h"
#include "kiln/Dialect/NN/ShapeRules.h"

#include "llvm/ADT/StringSwitch.h"

#include <cmath>

namespace kiln::reference {

HostTensor map(const HostTensor &input, const std::function<double(double)> &f) {
  HostTensor out(input.shape);
  for (int64_t i = 0; i < input.size(); ++i)
    out.data[i] = static_cast<float>(f(input.data[i]));
  return out;
}

double relu(double x) { return x < 0.0 ? 0.0 : x; } // NaN passes through, as in PyTorch

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

double leakyRelu(double x, double alpha) { return x > 0.0 ? x : alpha * x; }

double clip(double x, double lo, double hi) { return x < lo ? lo : x > hi ? hi : x; }

double hardSigmoid(double x, double alpha, double beta) { return clip(alpha * x + beta, 0.0, 1.0); }

double hardSwish(double x) { return x * clip(x / 6.0 + 0.5, 0.0, 1.0); }

namespace {
constexpr double kPi = 3.14159265358979323846;
double softplus(double x) { return x > 0.0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }
double sign(double x) { return x > 0.0 ? 1.0 : x < 0.0 ? -1.0 : 0.0; }
/// The inner function of gelu_tanh and its derivative.
double geluTanhArgument(double x) { return std::sqrt(2.0 / kPi) * (x + 0.044715 * x * x * x); }
} // namespace

double unaryFunction(llvm::StringRef fn, double x, double alpha, double beta) {
  using F = std::function<double()>;
  return llvm::StringSwitch<F>(fn)
      .Case("exp", [&] { return std::exp(x); })
      .Case("log", [&] { return std::log(x); })
      .Case("sqrt", [&] { return std::sqrt(x); })
      .Case("abs", [&] { return std::fabs(x); })
      .Case("erf", [&] { return std::erf(x); })
      .Case("floor", [&] { return std::floor(x); })
      .Case("ceil", [&] { return std::ceil(x); })
      .Case("neg", [&] { return -x; })
      .Case("reciprocal", [&] { return 1.0 / x; })
      .Case("round", [&] { return std::nearbyint(x); }) // the default rounding: halves to even
      .Case("sign", [&] { return sign(x); })
      .Case("step", [&] { return x > 0.0 ? 1.0 : 0.0; })
      .Case("pow", [&] { return std::pow(x, alpha); })
      .Case("elu", [&] { return x > 0.0 ? x : alpha * std::expm1(x); })
      .Case("selu", [&] { return beta * (x > 0.0 ? x : alpha * std::expm1(x)); })
      .Case("celu", [&] { return std::max(0.0, x) + std::min(0.0, alpha * std::expm1(x / alpha)); })
      .Case("softplus", [&] { return softplus(x); })
      .Case("softsign", [&] { return x / (1.0 + std::fabs(x)); })
      .Case("mish", [&] { return x * std::tanh(softplus(x)); })
      .Case("gelu", [&] { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); })
      .Case("gelu_tanh", [&] { return 0.5 * x * (1.0 + std::tanh(geluTanhArgument(x))); })
      .Case("thresholded_relu", [&] { return x > alpha ? x : 0.0; })
      .Case("silu", [&] { return x * sigmoid(x); })
      .Case("affine", [&] { return alpha * x + beta; })
      .Default([&]() -> double { return std::nan(""); })();
}

double unaryDerivative(llvm::StringRef fn, double x, double alpha, double beta) {
  using F = std::function<double()>;
  return llvm::StringSwitch<F>(fn)
      .Case("exp", [&] { return std::exp(x); })
      .Case("log", [&] { return 1.0 / x; })
      .Case("sqrt", [&] { return 0.5 / std::sqrt(x); })
      .Case("abs", [&] { return sign(x); })
      .Case("erf", [&] { return 2.0 / std::sqrt(kPi) * std::exp(-x * x); })
      .Cases("floor", "ceil", "round", "sign", "step", [&] { return 0.0; })
      .Case("neg", [&] { return -1.0; })
      .Case("reciprocal", [&] { return -1.0 / (x * x); })
      .Case("pow", [&] { return alpha == 0.0 ? 0.0 : alpha * std::pow(x, alpha - 1.0); })
      .Case("elu", [&] { return x > 0.0 ? 1.0 : alpha * std::exp(x); })
      .Case("selu", [&] { return beta * (x > 0.0 ? 1.0 : alpha * std::exp(x)); })
      .Case("celu", [&] { return x > 0.0 ? 1.0 : std::exp(x / alpha); })
      .Case("softplus", [&] { return sigmoid(x); })
      .Case("softsign", [&] { return 1.0 / ((1.0 + std::fabs(x)) * (1.0 + std::fabs(x))); })
      .Case("mish",
            [&] {
              const double t = std::tanh(softplus(x));
              return t + x * (1.0 - t * t) * sigmoid(x);
            })
      .Case("gelu",
            [&] {
              return 0.5 * (1.0 + std::erf(x / std::sqrt(2.0))) + x * std::exp(-0.5 * x * x) / std::sqrt(2.0 * kPi);
            })
      .Case("gelu_tanh",
            [&] {
              const double t = std::tanh(geluTanhArgument(x));
              return 0.5 * (1.0 + t) +
                     0.5 * x * (1.0 - t * t) * std::sqrt(2.0 / kPi) * (1.0 + 3.0 * 0.044715 * x * x);
            })
      .Case("thresholded_relu", [&] { return x > alpha ? 1.0 : 0.0; })
      .Case("affine", [&] { return alpha; })
      .Case("silu",
            [&] {
              const double s = sigmoid(x);
              return s * (1.0 + x * (1.0 - s));
            })
      .Default([&]() -> double { return std::nan(""); })();
}

HostTensor broadcast(const HostTensor &lhs, const HostTensor &rhs, const std::function<double(double, double)> &f) {
  std::string why;
  nn::Shape shape = *nn::inferBroadcastShape(lhs.shape, rhs.shape, why);
  HostTensor out(std::vector<int64_t>(shape.begin(), shape.end()));
  forEachIndex(out.shape, [&](const std::vector<int64_t> &index, int64_t i) {
    out.data[i] = static_cast<float>(f(double(lhs.data[broadcastOffset(lhs.shape, index)]),
                                       double(rhs.data[broadcastOffset(rhs.shape, index)])));
  });
  return out;
}

HostTensor add(const HostTensor &lhs, const HostTensor &rhs) {
  return broadcast(lhs, rhs, [](double a, double b) { return a + b; });
}

HostTensor sumOf(llvm::ArrayRef<const HostTensor *> inputs, bool mean) {
  HostTensor out(inputs.front()->shape);
  for (int64_t i = 0; i < out.size(); ++i) {
    double total = 0.0;
    for (const HostTensor *t : inputs)
      total += t->data[i];
    out.data[i] = static_cast<float>(mean ? total / double(inputs.size()) : total);
  }
  return out;
}

} // namespace kiln::reference
