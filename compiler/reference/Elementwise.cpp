// Reference elementwise ops: activations (applied through map) and add.
#include "compiler/reference/Kernels.h"

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

HostTensor add(const HostTensor &lhs, const HostTensor &rhs) {
  HostTensor out(lhs.shape);
  for (int64_t i = 0; i < lhs.size(); ++i)
    out.data[i] = static_cast<float>(double(lhs.data[i]) + double(rhs.data[i]));
  return out;
}

} // namespace kiln::reference
