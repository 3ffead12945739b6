// Reference elementwise ops: activations (applied through map), the broadcasting binary ops, and
// sum / mean of same-shape inputs.
#include "compiler/reference/Kernels.h"

#include "kiln/Dialect/NN/ShapeRules.h"

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

HostTensor broadcast(const HostTensor &lhs, const HostTensor &rhs, const std::function<double(double, double)> &f) {
  std::string why;
  nn::Shape shape = *nn::inferBroadcastShape(lhs.shape, rhs.shape, why);
  HostTensor out(std::vector<int64_t>(shape.begin(), shape.end()));
  const int64_t rank = static_cast<int64_t>(shape.size());
  // C-order strides of an operand aligned to the output's last dimensions; 0 where it broadcasts.
  auto stridesOf = [&](const std::vector<int64_t> &s) {
    std::vector<int64_t> strides(rank, 0);
    int64_t stride = 1;
    for (int64_t i = 0; i < static_cast<int64_t>(s.size()); ++i) {
      const int64_t d = static_cast<int64_t>(s.size()) - 1 - i;
      strides[rank - 1 - i] = s[d] == 1 ? 0 : stride;
      stride *= s[d];
    }
    return strides;
  };
  const std::vector<int64_t> ls = stridesOf(lhs.shape), rs = stridesOf(rhs.shape);
  std::vector<int64_t> index(rank, 0);
  for (int64_t i = 0; i < out.size(); ++i) {
    int64_t li = 0, ri = 0;
    for (int64_t d = 0; d < rank; ++d) {
      li += index[d] * ls[d];
      ri += index[d] * rs[d];
    }
    out.data[i] = static_cast<float>(f(double(lhs.data[li]), double(rhs.data[ri])));
    for (int64_t d = rank - 1; d >= 0 && ++index[d] == shape[d]; --d)
      index[d] = 0;
  }
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
