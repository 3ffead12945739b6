// Reference flatten, concat, reshape, pad, transpose, slice and broadcast (pure data movement)
// and resize (nearest / bilinear / bicubic sampling of the H x W plane, as ONNX Resize).
#include "compiler/reference/Indexing.h"
#include "compiler/reference/Kernels.h"

#include <algorithm>
#include <cmath>
#include <tuple>

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
/// ONNX's coordinate_transformation_mode: the input coordinate of output position d (the resized
/// length is in * scale, before rounding).
double sourceOf(llvm::StringRef mode, int64_t d, int64_t in, double scale) {
  const double resized = in * scale;
  if (mode == "align_corners")
    return resized <= 1.0 ? 0.0 : d * double(in - 1) / (resized - 1.0);
  if (mode == "asymmetric")
    return d / scale;
  if (mode == "tf_half_pixel_for_nn")
    return (d + 0.5) / scale;
  if (mode == "pytorch_half_pixel")
    return resized <= 1.0 ? 0.0 : (d + 0.5) / scale - 0.5;
  return (d + 0.5) / scale - 0.5;
}

/// The interpolation weight of the input position at signed distance t from the sample.
double interpolationWeight(llvm::StringRef mode, double t, double a) {
  t = std::fabs(t);
  if (mode == "bilinear")
    return std::max(0.0, 1.0 - t);
  if (t <= 1.0)
    return (a + 2.0) * t * t * t - (a + 3.0) * t * t + 1.0;
  return t < 2.0 ? a * t * t * t - 5.0 * a * t * t + 8.0 * a * t - 4.0 * a : 0.0;
}

/// The input cells (row, column) output cell (oh, ow) of an H x W plane reads, with their weights.
std::vector<std::tuple<int64_t, int64_t, double>> cellsRead(const ResizeAttributes &attrs, int64_t H, int64_t W,
                                                            int64_t oh, int64_t ow) {
  const double scaleH = attrs.scales.empty() ? double(attrs.size[0]) / H : attrs.scales[0];
  const double scaleW = attrs.scales.empty() ? double(attrs.size[1]) / W : attrs.scales[1];
  const double y = sourceOf(attrs.coordinateMode, oh, H, scaleH);
  const double x = sourceOf(attrs.coordinateMode, ow, W, scaleW);
  auto edge = [](int64_t v, int64_t in) { return std::min<int64_t>(std::max<int64_t>(v, 0), in - 1); };
  if (attrs.mode == "nearest") {
    auto rounded = [&](double v, int64_t in) {
      double r = attrs.nearestMode == "ceil"                ? std::ceil(v)
                 : attrs.nearestMode == "round_prefer_ceil" ? std::floor(v + 0.5)
                 : attrs.nearestMode == "round_prefer_floor" ? std::ceil(v - 0.5)
                                                            : std::floor(v);
      return edge(static_cast<int64_t>(r), in);
    };
    return {{rounded(y, H), rounded(x, W), 1.0}};
  }
  // Every input cell within the kernel's reach of (y, x), edges repeated, weights 2-D.
  const int64_t reach = attrs.mode == "bilinear" ? 1 : 2;
  std::vector<std::tuple<int64_t, int64_t, double>> cells;
  double total = 0.0;
  for (int64_t r = int64_t(std::floor(y)) - reach + 1; r <= int64_t(std::floor(y)) + reach; ++r)
    for (int64_t c = int64_t(std::floor(x)) - reach + 1; c <= int64_t(std::floor(x)) + reach; ++c) {
      if (attrs.excludeOutside && (r < 0 || r >= H || c < 0 || c >= W))
        continue;
      const double w = interpolationWeight(attrs.mode, y - r, attrs.cubicCoeffA) *
                       interpolationWeight(attrs.mode, x - c, attrs.cubicCoeffA);
      cells.push_back({edge(r, H), edge(c, W), w});
      total += w;
    }
  if (attrs.excludeOutside && total != 0.0)
    for (auto &cell : cells)
      std::get<2>(cell) /= total;
  return cells;
}

/// Walks every (output cell, input cell it reads, weight) of a resize between an input of
/// `inputShape` and attrs.size, planes (n, c) innermost.
template <typename F>
void forEachRead(const ResizeAttributes &attrs, llvm::ArrayRef<int64_t> inputShape, F f) {
  const int64_t H = inputShape[2], W = inputShape[3], OH = attrs.size[0], OW = attrs.size[1];
  for (int64_t oh = 0; oh < OH; ++oh)
    for (int64_t ow = 0; ow < OW; ++ow)
      for (auto [r, c, w] : cellsRead(attrs, H, W, oh, ow))
        for (int64_t nc = 0; nc < inputShape[0] * inputShape[1]; ++nc)
          f((nc * OH + oh) * OW + ow, (nc * H + r) * W + c, w);
}

/// float32 of accumulated sums.
HostTensor toTensor(std::vector<int64_t> shape, const std::vector<double> &sums) {
  HostTensor out(std::move(shape));
  for (size_t i = 0; i < sums.size(); ++i)
    out.data[i] = static_cast<float>(sums[i]);
  return out;
}
} // namespace

HostTensor resize(const HostTensor &input, const ResizeAttributes &attrs) {
  std::vector<int64_t> shape{input.shape[0], input.shape[1], attrs.size[0], attrs.size[1]};
  std::vector<double> sums(HostTensor::numElements(shape), 0.0);
  forEachRead(attrs, input.shape, [&](int64_t out, int64_t in, double w) { sums[out] += w * input.data[in]; });
  return toTensor(shape, sums);
}

HostTensor resizeGrad(const HostTensor &gradOutput, const ResizeAttributes &attrs, llvm::ArrayRef<int64_t> inputShape) {
  std::vector<int64_t> shape(inputShape.begin(), inputShape.end());
  std::vector<double> sums(HostTensor::numElements(shape), 0.0);
  forEachRead(attrs, inputShape, [&](int64_t out, int64_t in, double w) { sums[in] += w * gradOutput.data[out]; });
  return toTensor(shape, sums);
}

} // namespace kiln::reference
