// Reference nn.reduce (every kind, accumulated in double) and its gradient nn.reduce_grad.
#include "compiler/reference/Indexing.h"
#include "compiler/reference/Kernels.h"
#include "compiler/reference/TrainingKernels.h"

#include <cmath>
#include <limits>

namespace kiln::reference {
namespace {

/// Where each input element lands in the reduced tensor: the output shape, each input element's
/// output offset, and the number of elements reduced into each output element.
struct ReductionMap {
  std::vector<int64_t> outShape;
  std::vector<int64_t> target; ///< per input element
  int64_t count = 1;
};

ReductionMap mapReduction(const std::vector<int64_t> &shape, llvm::ArrayRef<int64_t> axes) {
  ReductionMap map;
  map.outShape = shape;
  for (int64_t a : axes) {
    map.count *= shape[a];
    map.outShape[a] = 1;
  }
  const std::vector<int64_t> outStrides = stridesOf(map.outShape);
  map.target.resize(HostTensor::numElements(shape));
  forEachIndex(shape, [&](const std::vector<int64_t> &index, int64_t i) {
    int64_t to = 0;
    for (size_t d = 0; d < index.size(); ++d)
      to += (map.outShape[d] == 1 ? 0 : index[d]) * outStrides[d];
    map.target[i] = to;
  });
  return map;
}

} // namespace

HostTensor reduce(const HostTensor &input, llvm::StringRef kind, llvm::ArrayRef<int64_t> axes) {
  const ReductionMap map = mapReduction(input.shape, axes);
  const int64_t outCount = HostTensor::numElements(map.outShape);
  const double inf = std::numeric_limits<double>::infinity();
  HostTensor out(map.outShape);
  if (kind == "arg_max" || kind == "arg_min") {
    // One axis: the position along it is the element's index divided by the axis stride.
    const int64_t stride = stridesOf(input.shape)[axes[0]], extent = input.shape[axes[0]];
    std::vector<double> best(outCount, kind == "arg_max" ? -inf : inf);
    for (int64_t i = 0; i < input.size(); ++i) {
      const double x = input.data[i];
      const int64_t o = map.target[i];
      if (kind == "arg_max" ? x > best[o] : x < best[o]) {
        best[o] = x;
        out.data[o] = static_cast<float>(i / stride % extent);
      }
    }
    return out;
  }
  std::vector<double> acc(outCount, kind == "max" ? -inf : kind == "min" ? inf : kind == "prod" ? 1.0 : 0.0);
  std::vector<double> shift(outCount, 0.0); // log_sum_exp: the maximum, subtracted before exp
  if (kind == "log_sum_exp") {
    std::fill(shift.begin(), shift.end(), -inf);
    for (int64_t i = 0; i < input.size(); ++i)
      shift[map.target[i]] = std::max(shift[map.target[i]], double(input.data[i]));
  }
  for (int64_t i = 0; i < input.size(); ++i) {
    const double x = input.data[i];
    double &a = acc[map.target[i]];
    if (kind == "max")
      a = std::max(a, x);
    else if (kind == "min")
      a = std::min(a, x);
    else if (kind == "prod")
      a *= x;
    else if (kind == "sum_square" || kind == "l2")
      a += x * x;
    else if (kind == "l1")
      a += std::fabs(x);
    else if (kind == "log_sum_exp")
      a += std::exp(x - shift[map.target[i]]);
    else
      a += x; // sum, mean, log_sum
  }
  for (int64_t o = 0; o < outCount; ++o) {
    double a = acc[o];
    if (kind == "mean")
      a /= double(map.count);
    else if (kind == "l2")
      a = std::sqrt(a);
    else if (kind == "log_sum")
      a = std::log(a);
    else if (kind == "log_sum_exp")
      a = shift[o] + std::log(a);
    out.data[o] = static_cast<float>(a);
  }
  return out;
}

HostTensor reduceGrad(const HostTensor &input, const HostTensor &output, const HostTensor &gradOutput,
                      llvm::StringRef kind, llvm::ArrayRef<int64_t> axes) {
  const ReductionMap map = mapReduction(input.shape, axes);
  HostTensor out(input.shape);
  // max / min: the gradient is shared by the elements equal to the extreme.
  std::vector<int64_t> ties(HostTensor::numElements(map.outShape), 0);
  for (int64_t i = 0; i < input.size(); ++i)
    ties[map.target[i]] += input.data[i] == output.data[map.target[i]];
  for (int64_t i = 0; i < input.size(); ++i) {
    const int64_t o = map.target[i];
    const double x = input.data[i], y = output.data[o], dy = gradOutput.data[o];
    double dx = 0.0;
    if (kind == "sum")
      dx = dy;
    else if (kind == "mean")
      dx = dy / double(map.count);
    else if (kind == "sum_square")
      dx = 2.0 * x * dy;
    else if (kind == "l1")
      dx = (x > 0.0 ? 1.0 : x < 0.0 ? -1.0 : 0.0) * dy;
    else if (kind == "l2")
      dx = y == 0.0 ? 0.0 : x / y * dy;
    else if (kind == "log_sum")
      dx = dy / std::exp(y);
    else if (kind == "log_sum_exp")
      dx = std::exp(x - y) * dy;
    else if (kind == "prod")
      dx = y / x * dy;
    else if (kind == "max" || kind == "min")
      dx = x == y ? dy / double(ties[o]) : 0.0;
    out.data[i] = static_cast<float>(dx); // arg_max, arg_min: 0
  }
  return out;
}

} // namespace kiln::reference
