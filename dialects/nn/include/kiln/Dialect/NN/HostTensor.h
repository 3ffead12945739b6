// A dense f32 tensor in host memory, row-major (C order): the data of an nn.param, a model
// input or output. Plain data: no MLIR or Halide types.
#ifndef KILN_SUPPORT_HOSTTENSOR_H
#define KILN_SUPPORT_HOSTTENSOR_H

#include <cstdint>
#include <functional>
#include <numeric>
#include <vector>

namespace kiln {

struct HostTensor {
  std::vector<int64_t> shape;
  std::vector<float> data;

  HostTensor() = default;
  explicit HostTensor(std::vector<int64_t> shape)
      : shape(std::move(shape)), data(static_cast<size_t>(numElements(this->shape)), 0.0f) {}

  static int64_t numElements(const std::vector<int64_t> &shape) {
    return std::accumulate(shape.begin(), shape.end(), int64_t{1}, std::multiplies<int64_t>());
  }
  int64_t size() const { return static_cast<int64_t>(data.size()); }
};

} // namespace kiln

#endif
