// Reference flatten and concat: pure data movement, no arithmetic.
#include "compiler/reference/Kernels.h"

#include <algorithm>

namespace kiln::reference {

HostTensor flatten(const HostTensor &input) {
  HostTensor out;
  const int64_t N = input.shape[0];
  out.shape = {N, N == 0 ? 0 : input.size() / N};
  out.data = input.data; // C order: [N, rest] has the same layout
  return out;
}

HostTensor concat(llvm::ArrayRef<const HostTensor *> inputs, int64_t axis) {
  std::vector<int64_t> shape = inputs.front()->shape;
  shape[axis] = 0;
  for (const HostTensor *t : inputs)
    shape[axis] += t->shape[axis];
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d)
    outer *= shape[d];
  for (size_t d = axis + 1; d < shape.size(); ++d)
    inner *= shape[d];
  HostTensor out(shape);
  // For each outer index, each input contributes one contiguous run of shape[axis] * inner values.
  float *dst = out.data.data();
  for (int64_t o = 0; o < outer; ++o)
    for (const HostTensor *t : inputs) {
      const int64_t run = t->shape[axis] * inner;
      dst = std::copy_n(t->data.data() + o * run, run, dst);
    }
  return out;
}

} // namespace kiln::reference
