// Reference flatten, concat, reshape, pad, transpose, slice and broadcast (pure data movement)
// and resize (nearest / bilinear sampling of the H x W plane).
#include "compiler/reference/Indexing.h"
#include "compiler/reference/Kernels.h"

#include <algorithm>
#include <cmath>

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

HostTensor reshape(const HostTensor &input, llvm::ArrayRef<int64_t> shape) {
  HostTensor out;
  out.shape.assign(shape.begin(), shape.end());
  out.data = input.data; // C order is unchanged
  return out;
}

HostTensor pad(const HostTensor &input, llvm::ArrayRef<int64_t> pads, float value) {
  const size_t rank = input.shape.size();
  std::vector<int64_t> shape = input.shape;
  for (size_t d = 0; d < rank; ++d)
    shape[d] += pads[d] + pads[d + rank];
  HostTensor out(shape);
  std::fill(out.data.begin(), out.data.end(), value);
  // Copy each input element to its shifted position.
  std::vector<int64_t> index(rank, 0);
  for (int64_t i = 0; i < input.size(); ++i) {
    int64_t at = 0;
    for (size_t d = 0; d < rank; ++d)
      at = at * shape[d] + index[d] + pads[d];
    out.data[at] = input.data[i];
    for (int64_t d = static_cast<int64_t>(rank) - 1; d >= 0 && ++index[d] == input.shape[d]; --d)
      index[d] = 0;
  }
  return out;
}

HostTensor transpose(const HostTensor &input, llvm::ArrayRef<int64_t> perm) {
  std::vector<int64_t> shape;
  for (int64_t p : perm)
    shape.push_back(input.shape[p]);
  HostTensor out(shape);
  const std::vector<int64_t> inputStrides = stridesOf(input.shape);
  forEachIndex(shape, [&](const std::vector<int64_t> &index, int64_t i) {
    int64_t from = 0;
    for (size_t d = 0; d < index.size(); ++d)
      from += index[d] * inputStrides[perm[d]];
    out.data[i] = input.data[from];
  });
  return out;
}

HostTensor slice(const HostTensor &input, llvm::ArrayRef<int64_t> starts, llvm::ArrayRef<int64_t> steps,
                 llvm::ArrayRef<int64_t> shape) {
  HostTensor out(std::vector<int64_t>(shape.begin(), shape.end()));
  const std::vector<int64_t> inputStrides = stridesOf(input.shape);
  forEachIndex(out.shape, [&](const std::vector<int64_t> &index, int64_t i) {
    int64_t from = 0;
    for (size_t d = 0; d < index.size(); ++d)
      from += (starts[d] + index[d] * steps[d]) * inputStrides[d];
    out.data[i] = input.data[from];
  });
  return out;
}

HostTensor broadcastTo(const HostTensor &input, llvm::ArrayRef<int64_t> shape) {
  HostTensor out(std::vector<int64_t>(shape.begin(), shape.end()));
  forEachIndex(out.shape, [&](const std::vector<int64_t> &index, int64_t i) {
    out.data[i] = input.data[broadcastOffset(input.shape, index)];
  });
  return out;
}

namespace {
/// The two source rows (or columns) of a bilinear sample and the weight of the second.
struct Taps {
  int64_t first, second;
  double weight;
};

Taps bilinearTaps(int64_t dst, int64_t in, int64_t out, bool alignCorners) {
  double src = alignCorners ? (out > 1 ? double(dst) * double(in - 1) / double(out - 1) : 0.0)
                            : std::max(0.0, (double(dst) + 0.5) * double(in) / double(out) - 0.5);
  const int64_t first = std::min(static_cast<int64_t>(std::floor(src)), in - 1);
  return {first, std::min(first + 1, in - 1), src - double(first)};
}
} // namespace

HostTensor resize(const HostTensor &input, llvm::StringRef mode, llvm::ArrayRef<int64_t> size, bool alignCorners) {
  const int64_t N = input.shape[0], C = input.shape[1], H = input.shape[2], W = input.shape[3];
  const int64_t OH = size[0], OW = size[1];
  HostTensor out({N, C, OH, OW});
  for (int64_t nc = 0; nc < N * C; ++nc) {
    const float *plane = &input.data[nc * H * W];
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        double value;
        if (mode == "nearest") {
          // ONNX asymmetric + floor: source = floor(dst * in / out).
          const int64_t ih = std::min(H - 1, oh * H / OH), iw = std::min(W - 1, ow * W / OW);
          value = plane[ih * W + iw];
        } else {
          const Taps y = bilinearTaps(oh, H, OH, alignCorners), x = bilinearTaps(ow, W, OW, alignCorners);
          auto at = [&](int64_t r, int64_t c) { return double(plane[r * W + c]); };
          const double top = at(y.first, x.first) * (1 - x.weight) + at(y.first, x.second) * x.weight;
          const double bottom = at(y.second, x.first) * (1 - x.weight) + at(y.second, x.second) * x.weight;
          value = top * (1 - y.weight) + bottom * y.weight;
        }
        out.data[(nc * OH + oh) * OW + ow] = static_cast<float>(value);
      }
  }
  return out;
}

} // namespace kiln::reference
