// Index arithmetic shared by the reference kernels that walk tensors of any rank: C-order
// strides and a C-order walk over every multi-index of a shape.
#ifndef KILN_REFERENCE_INDEXING_H
#define KILN_REFERENCE_INDEXING_H

#include <cstddef>
#include <cstdint>
#include <vector>

namespace kiln::reference {

/// C-order strides of `shape` (the last dimension has stride 1).
inline std::vector<int64_t> stridesOf(const std::vector<int64_t> &shape) {
  std::vector<int64_t> strides(shape.size(), 1);
  for (int64_t d = static_cast<int64_t>(shape.size()) - 2; d >= 0; --d)
    strides[d] = strides[d + 1] * shape[d + 1];
  return strides;
}

/// Calls f(index, flat) for every multi-index of `shape` in C order (flat counts from 0).
template <typename F>
void forEachIndex(const std::vector<int64_t> &shape, F f) {
  int64_t count = 1;
  for (int64_t d : shape)
    count *= d;
  std::vector<int64_t> index(shape.size(), 0);
  for (int64_t flat = 0; flat < count; ++flat) {
    f(static_cast<const std::vector<int64_t> &>(index), flat);
    for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0 && ++index[d] == shape[d]; --d)
      index[d] = 0;
  }
}

/// The flat offset in a tensor of `shape` (aligned with `index` at the last dimension, size-1
/// dimensions broadcast) of the element `index` of a larger shape reads.
inline int64_t broadcastOffset(const std::vector<int64_t> &shape, const std::vector<int64_t> &index) {
  const size_t skip = index.size() - shape.size();
  int64_t offset = 0;
  for (size_t d = 0; d < shape.size(); ++d)
    offset = offset * shape[d] + (shape[d] == 1 ? 0 : index[d + skip]);
  return offset;
}

} // namespace kiln::reference

#endif
