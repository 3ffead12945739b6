// ONNX's shape rules for Slice, Reshape, Squeeze/Unsqueeze and axis lists, as plain functions:
// the importers (computed tensors) and the shape folding (constants) share them.
#include "frontends/onnx/Importer.h"

#include <limits>

namespace kiln::onnxfe {

static std::string listText(ArrayRef<int64_t> values) {
  std::string text;
  for (int64_t v : values)
    text += (text.empty() ? "" : ", ") + std::to_string(v);
  return "[" + text + "]";
}

FailureOr<SmallVector<int64_t>> normalizeAxes(ArrayRef<int64_t> axes, int64_t rank, std::string &error) {
  SmallVector<int64_t> out;
  for (int64_t a : axes) {
    int64_t axis = a < 0 ? a + rank : a;
    if (a < -rank || a >= rank || llvm::is_contained(out, axis)) {
      error = "axes " + listText(axes) + " are out of range or repeated for rank " + std::to_string(rank);
      return failure();
    }
    out.push_back(axis);
  }
  llvm::sort(out);
  return out;
}

SliceWindow sliceAlong(ArrayRef<int64_t> shape, int64_t axis, int64_t start, int64_t step, int64_t count) {
  SliceWindow w{SmallVector<int64_t>(shape.size(), 0), SmallVector<int64_t>(shape.size(), 1),
                SmallVector<int64_t>(shape.begin(), shape.end())};
  if (axis >= 0) {
    w.starts[axis] = start;
    w.steps[axis] = step;
    w.counts[axis] = count;
  }
  return w;
}

FailureOr<SliceWindow> resolveSlice(ArrayRef<int64_t> shape, ArrayRef<int64_t> starts, ArrayRef<int64_t> ends,
                                    std::optional<ArrayRef<int64_t>> axes, std::optional<ArrayRef<int64_t>> steps,
                                    std::string &error) {
  const int64_t rank = shape.size();
  SliceWindow w = sliceAlong(shape, -1, 0, 1, 0);
  size_t n = starts.size();
  if (ends.size() != n || (axes && axes->size() != n) || (steps && steps->size() != n)) {
    error = "starts, ends, axes and steps must have one entry each per sliced axis";
    return failure();
  }
  SmallVector<bool> seen(rank, false);
  for (size_t k = 0; k < n; ++k) {
    int64_t a = axes ? (*axes)[k] : int64_t(k);
    int64_t axis = a < 0 ? a + rank : a;
    if (axis < 0 || axis >= rank || seen[axis]) {
      error = "axis " + std::to_string(a) + " is out of range or repeated for rank " + std::to_string(rank);
      return failure();
    }
    seen[axis] = true;
    int64_t d = shape[axis];
    int64_t step = steps ? std::max((*steps)[k], -std::numeric_limits<int64_t>::max()) : 1;
    if (step == 0) {
      error = "a step of 0 on axis " + std::to_string(a);
      return failure();
    }
    int64_t s = starts[k] < 0 ? starts[k] + d : starts[k];
    int64_t e = ends[k] < 0 ? ends[k] + d : ends[k];
    int64_t count;
    if (step > 0) {
      s = std::clamp<int64_t>(s, 0, d);
      e = std::clamp<int64_t>(e, 0, d);
      count = e > s ? (e - s - 1) / step + 1 : 0;
    } else {
      s = std::clamp<int64_t>(s, 0, std::max<int64_t>(d - 1, 0));
      e = std::clamp<int64_t>(e, -1, d - 1);
      count = s > e && d > 0 ? (s - e - 1) / -step + 1 : 0;
    }
    w.starts[axis] = count ? s : 0;
    w.steps[axis] = step;
    w.counts[axis] = count;
  }
  return w;
}

FailureOr<SmallVector<int64_t>> resolveReshape(ArrayRef<int64_t> in, ArrayRef<int64_t> target, bool allowZero,
                                               std::string &error) {
  int64_t total = 1;
  for (int64_t d : in)
    total *= d;
  SmallVector<int64_t> resolved;
  int64_t known = 1, inferred = -1;
  auto bad = [&]() {
    error = "the shape " + listText(target) + " cannot reshape " + listText(in);
    return failure();
  };
  for (auto [d, given] : llvm::enumerate(target)) {
    int64_t v = given;
    if (v == 0 && !allowZero && d < in.size())
      v = in[d];
    if (v == -1 && inferred < 0)
      inferred = d;
    else if (v < 0 || (v > 0 && known > std::numeric_limits<int64_t>::max() / v))
      return bad();
    else
      known *= v;
    resolved.push_back(v);
  }
  if (inferred >= 0) {
    if (known == 0 || total % known != 0)
      return bad();
    resolved[inferred] = total / known;
  } else if (known != total) {
    return bad();
  }
  return resolved;
}

FailureOr<SmallVector<int64_t>> squeezedShape(ArrayRef<int64_t> in, std::optional<ArrayRef<int64_t>> axes,
                                              bool unsqueeze, std::string &error) {
  if (unsqueeze && !axes) {
    error = "needs 'axes'";
    return failure();
  }
  int64_t rank = in.size() + (unsqueeze ? axes->size() : 0);
  SmallVector<int64_t> listed;
  if (axes) {
    auto normalized = normalizeAxes(*axes, rank, error);
    if (failed(normalized))
      return failure();
    listed = *normalized;
  }
  SmallVector<int64_t> out;
  if (unsqueeze) {
    for (int64_t d = 0, k = 0; d < rank; ++d)
      out.push_back(llvm::is_contained(listed, d) ? 1 : in[k++]);
    return out;
  }
  for (int64_t d = 0; d < rank; ++d) {
    bool squeeze = axes ? llvm::is_contained(listed, d) : in[d] == 1;
    if (squeeze && in[d] != 1) {
      error = "cannot squeeze axis " + std::to_string(d) + " of size " + std::to_string(in[d]) + " (" +
              listText(in) + ")";
      return failure();
    }
    if (!squeeze)
      out.push_back(in[d]);
  }
  return out;
}

} // namespace kiln::onnxfe
