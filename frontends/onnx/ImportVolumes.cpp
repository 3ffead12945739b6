// ONNX importer: 3-D convolutions and pools ([N, C, D, H, W]) and dilated pools, composed from
// the 2-D nn ops: the H x W plane goes through nn.conv2d / conv_transpose2d / the 2-D pools with
// depth folded into the batch or the channels, the depth axis through strided nn.slices of the
// padded input (docs/onnx.md says why this decomposition).
#include "frontends/onnx/Importer.h"

#include <limits>

namespace kiln::onnxfe {

/// The pads of nn.pad that add `begin` and `end` cells along `axis` of a rank-`rank` tensor.
static SmallVector<int64_t> padsAlong(size_t rank, int64_t axis, int64_t begin, int64_t end) {
  SmallVector<int64_t> pads(2 * rank, 0);
  pads[axis] = begin;
  pads[rank + axis] = end;
  return pads;
}

/// Conv 3-D as one nn.conv2d: the input is padded along depth, its KD depth taps (strided
/// slices, one per output depth) are concatenated as channels, depth is moved beside the batch
/// ([N * OD, group * KD * C/group, H, W], a group's taps together) and convolved with the filter
/// [F, KD * C/group, KH, KW] (convOperands); the result goes back to [N, F, OD, OH, OW].
FailureOr<Value> Importer::convVolume(int i, const ConvOperands &ops, const Window &window, int64_t group) {
  ArrayRef<int64_t> in = shapeOf(ops.input), w = ops.weightShape;
  const int64_t n = in[0], c = in[1], h = in[3], wd = in[4], filters = w[0], taps = w[2];
  if (w[1] * group != c || filters % group != 0)
    return shapeError(i, {ops.input}, "expected the weight's channels (" + std::to_string(w[1]) + ") x group (" +
                                          std::to_string(group) + ") to equal the input's channels, and its filters (" +
                                          std::to_string(filters) + ") to divide by group");
  const int64_t stride = window.strides[0], dilation = window.dilations[0];
  const int64_t depth = nn::windowOutputSize(in[2], taps, stride, window.padBegin[0], window.padEnd[0], dilation);
  if (depth < 1)
    return shapeError(i, {ops.input}, "expected the padded depth to hold one window of " +
                                          std::to_string(window.extent(0)) + " cells");
  FailureOr<Value> x = padBy(i, ops.input, padsAlong(5, 2, window.padBegin[0], window.padEnd[0]), 0.0f);
  SmallVector<Value> columns; // tap t: input depths od * stride + t * dilation, [N, C, OD, H, W]
  for (int64_t t = 0; t < taps && succeeded(x); ++t) {
    FailureOr<Value> column = sliceBy(i, *x, sliceAlong(shapeOf(*x), 2, t * dilation, stride, depth));
    if (failed(column))
      return failure();
    columns.push_back(*column);
  }
  const int64_t perGroup = c / group;
  FailureOr<Value> y = failed(x) ? x : concatOf(i, columns, 1); // channel t * C + c
  if (succeeded(y))
    y = reshapeTo(i, *y, {n, taps, group, perGroup, depth, h * wd});
  if (succeeded(y))
    y = transposeBy(i, *y, {0, 4, 2, 1, 3, 5}); // [N, OD, group, KD, C/group, H * W]
  if (succeeded(y))
    y = reshapeTo(i, *y, {n * depth, group * taps * perGroup, h, wd});
  if (succeeded(y))
    y = conv2D(i, *y, ops.filter, ops.bias, planeOf(window), group, false);
  if (failed(y))
    return failure();
  const int64_t oh = shapeOf(*y)[2], ow = shapeOf(*y)[3];
  y = reshapeTo(i, *y, {n, depth, filters, oh * ow});
  if (succeeded(y))
    y = transposeBy(i, *y, {0, 2, 1, 3});
  return failed(y) ? y : reshapeTo(i, *y, {n, filters, depth, oh, ow});
}

/// ConvTranspose 3-D as one nn.conv_transpose2d over every input depth ([N * D, C, H, W]) with
/// the filter [C, KD * F/group, KH, KW] (convOperands), giving each depth tap's planes; a tap's
/// planes are spread to depths d * stride (zeros between), shifted to tap * dilation, cropped by
/// the depth padding, and the taps summed; then the bias is added.
FailureOr<Value> Importer::convTransposeVolume(int i, const ConvOperands &ops, const Window &window,
                                               ArrayRef<int64_t> outputPadding, int64_t group) {
  ArrayRef<int64_t> in = shapeOf(ops.input), w = ops.weightShape;
  const int64_t n = in[0], c = in[1], d = in[2], taps = w[2], perGroup = w[1], filters = perGroup * group;
  const int64_t stride = window.strides[0], dilation = window.dilations[0];
  if (w[0] != c || c % group != 0)
    return shapeError(i, {ops.input}, "expected the weight's first dimension (" + std::to_string(w[0]) +
                                          ") to be the input's channels, divisible by group (" +
                                          std::to_string(group) + ")");
  if (outputPadding[0] >= std::max(stride, dilation))
    return shapeError(i, {ops.input}, "expected the depth's output_padding to be smaller than its stride or dilation");
  const int64_t depth =
      (d - 1) * stride + window.extent(0) + outputPadding[0] - window.padBegin[0] - window.padEnd[0];
  if (depth < 1)
    return shapeError(i, {ops.input}, "expected the depth padding to leave an output");
  FailureOr<Value> y = transposeBy(i, ops.input, {0, 2, 1, 3, 4});
  if (succeeded(y))
    y = reshapeTo(i, *y, {n * d, c, in[3], in[4]});
  if (succeeded(y))
    y = convTranspose2D(i, *y, ops.filter, Value(), planeOf(window), lastTwo(outputPadding, 0), group, false);
  if (failed(y))
    return failure();
  const int64_t oh = shapeOf(*y)[2], ow = shapeOf(*y)[3];
  y = reshapeTo(i, *y, {n, d, group, taps, perGroup, oh * ow});
  if (succeeded(y))
    y = transposeBy(i, *y, {0, 2, 4, 3, 1, 5}); // [N, group, F/group, KD, D, OH * OW]
  if (succeeded(y) && stride > 1) {           // depth r of the input to row r * stride
    y = reshapeTo(i, *y, {n, filters, taps, d, 1, oh * ow});
    if (succeeded(y))
      y = padBy(i, *y, padsAlong(6, 4, 0, stride - 1), 0.0f);
  }
  if (succeeded(y))
    y = reshapeTo(i, *y, {n, filters, taps, d * stride, oh * ow});
  if (failed(y))
    return failure();
  Value sum;
  for (int64_t t = 0; t < taps; ++t) {
    // Row r of tap t lands at output depth t * dilation + r - padBegin; rows outside are cut.
    const int64_t offset = t * dilation - window.padBegin[0];
    const int64_t first = std::max<int64_t>(0, -offset), last = std::min(d * stride, depth - offset);
    if (first >= last)
      continue;
    SliceWindow rows = sliceAlong(shapeOf(*y), 2, t, 1, 1);
    rows.starts[3] = first;
    rows.counts[3] = last - first;
    FailureOr<Value> tap = sliceBy(i, *y, rows);
    if (succeeded(tap))
      tap = padBy(i, *tap, padsAlong(5, 3, offset + first, depth - offset - last), 0.0f);
    if (succeeded(tap) && sum)
      tap = binary(i, "Add", sum, *tap);
    if (failed(tap))
      return failure();
    sum = *tap;
  }
  if (!sum)
    return shapeError(i, {ops.input}, "expected a depth tap to reach the output (the depth padding cuts them all)");
  FailureOr<Value> out = reshapeTo(i, sum, {n, filters, depth, oh, ow});
  if (succeeded(out) && ops.bias) {
    FailureOr<Value> bias = reshapeTo(i, ops.bias, {filters, 1, 1, 1});
    out = failed(bias) ? bias : binary(i, "Add", *out, *bias);
  }
  return out;
}

/// A 3-D pool pools the H x W plane with the 2-D op (over [N, C * D, H, W]) when the plane is not
/// dilated, then the depth by poolAlong; a dilated pool takes each axis by poolAlong.
FailureOr<Value> Importer::poolVolume(int i, Value x, const Window &window, PoolKind kind) {
  ArrayRef<int64_t> in = shapeOf(x);
  size_t sliced = window.kernel.size(); // the spatial axes [0, sliced) are pooled by slices
  FailureOr<Value> y = x;
  if (sliced == 3 && window.dilations[1] == 1 && window.dilations[2] == 1) {
    y = reshapeTo(i, x, {in[0], in[1] * in[2], in[3], in[4]});
    if (succeeded(y))
      y = pool2D(i, *y, planeOf(window), kind);
    if (succeeded(y))
      y = reshapeTo(i, *y, {in[0], in[1], in[2], shapeOf(*y)[2], shapeOf(*y)[3]});
    sliced = 1;
  }
  for (size_t a = 0; a < sliced && succeeded(y); ++a)
    y = poolAlong(i, *y, a, window, kind);
  return y;
}

/// Pools spatial axis `a` of x alone: pads it (-inf for a max, 0 for an average), takes the
/// kernel's taps as strided slices and combines them with nn.max or nn.add; an average is scaled
/// by a constant per output position: 1 / its taps inside the input (count_include_pad: inside
/// the input and its padding; the cells past the padding a ceil_mode window reaches never count).
/// Pools are separable: pooling axis by axis gives the window's maximum, and its sum over a
/// divisor that is the product of the axes' counts, as PyTorch's and ONNX's pools define them.
FailureOr<Value> Importer::poolAlong(int i, Value x, int64_t a, const Window &window, PoolKind kind) {
  const int64_t axis = a + 2, rank = shapeOf(x).size(), in = shapeOf(x)[axis];
  const int64_t stride = window.strides[a], dilation = window.dilations[a];
  const int64_t lo = window.padBegin[a], hi = window.padEnd[a];
  const int64_t out = nn::poolOutputSize(in, window.extent(a), stride, lo, hi, kind.ceil);
  if (out < 1)
    return shapeError(i, {x}, "expected the padded input to hold one window along spatial axis " +
                                  std::to_string(a));
  SmallVector<float> scale(out);
  for (int64_t o = 0; o < out; ++o) {
    int64_t inside = 0, insidePadded = 0;
    for (int64_t t = 0; t < window.kernel[a]; ++t) {
      int64_t at = o * stride - lo + t * dilation;
      inside += at >= 0 && at < in;
      insidePadded += at >= -lo && at < in + hi;
    }
    if (inside == 0)
      return shapeError(i, {x}, "expected every window to cover the input; along spatial axis " + std::to_string(a) +
                                    " window " + std::to_string(o) + " covers only padding");
    scale[o] = 1.0f / float(kind.countIncludePad ? insidePadded : inside);
  }
  const int64_t reach = (out - 1) * stride + window.extent(a); // the padded cells the windows read
  const float fill = kind.max ? -std::numeric_limits<float>::infinity() : 0.0f;
  FailureOr<Value> padded = padBy(i, x, padsAlong(rank, axis, lo, std::max<int64_t>(0, reach - in - lo)), fill);
  FailureOr<Value> y = padded;
  for (int64_t t = 0; t < window.kernel[a] && succeeded(y); ++t) {
    FailureOr<Value> tap = sliceBy(i, *padded, sliceAlong(shapeOf(*padded), axis, t * dilation, stride, out));
    y = failed(tap) || t == 0 ? tap : binary(i, kind.max ? "Max" : "Add", *y, *tap);
  }
  if (failed(y) || kind.max || llvm::all_of(scale, [](float s) { return s == 1.0f; }))
    return y;
  SmallVector<int64_t> shape(rank - axis, 1); // [out, 1, ...]: one factor per output position
  shape[0] = out;
  if (llvm::all_equal(scale))
    shape[0] = 1;
  kiln::HostTensor factor(std::vector<int64_t>(shape.begin(), shape.end()));
  factor.data.assign(scale.begin(), scale.begin() + factor.size());
  return binary(i, "Mul", *y, param(nodeName(i) + ".divisor" + std::to_string(a), std::move(factor), nodeLoc(i)));
}

} // namespace kiln::onnxfe
