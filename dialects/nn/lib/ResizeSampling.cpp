// nn.resize's sampling along one axis (ResizeSampling.h): coordinate transform, rounding or
// interpolation weights, edge handling.
#include "kiln/Dialect/NN/ResizeSampling.h"

#include "llvm/ADT/ArrayRef.h"

#include <algorithm>
#include <cmath>

namespace kiln::nn {

llvm::ArrayRef<llvm::StringRef> resizeCoordinateModes() {
  static const llvm::StringRef names[] = {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
                                          "tf_half_pixel_for_nn"};
  return names;
}

llvm::ArrayRef<llvm::StringRef> resizeNearestModes() {
  static const llvm::StringRef names[] = {"floor", "ceil", "round_prefer_floor", "round_prefer_ceil"};
  return names;
}

namespace {

/// The source coordinate of output position d; `resized` is the output length before rounding
/// (in * scale).
double sourceCoordinate(llvm::StringRef mode, int64_t d, int64_t in, double resized, double scale) {
  if (mode == "align_corners")
    return resized > 1.0 ? double(d) * double(in - 1) / (resized - 1.0) : 0.0;
  if (mode == "asymmetric")
    return double(d) / scale;
  if (mode == "tf_half_pixel_for_nn")
    return (double(d) + 0.5) / scale;
  if (mode == "pytorch_half_pixel" && resized <= 1.0)
    return 0.0;
  return (double(d) + 0.5) / scale - 0.5; // half_pixel, pytorch_half_pixel
}

int64_t roundNearest(llvm::StringRef mode, double x) {
  if (mode == "ceil")
    return static_cast<int64_t>(std::ceil(x));
  if (mode == "round_prefer_ceil")
    return static_cast<int64_t>(std::floor(x + 0.5));
  if (mode == "round_prefer_floor")
    return static_cast<int64_t>(std::ceil(x - 0.5));
  return static_cast<int64_t>(std::floor(x));
}

/// Keys' cubic convolution kernel with coefficient a, at distance t.
double cubicWeight(double t, double a) {
  t = std::fabs(t);
  if (t <= 1.0)
    return ((a + 2.0) * t - (a + 3.0)) * t * t + 1.0;
  if (t < 2.0)
    return ((a * t - 5.0 * a) * t + 8.0 * a) * t - 4.0 * a;
  return 0.0;
}

} // namespace

AxisTaps resizeTaps(const ResizeSampling &sampling, int64_t in, int64_t out, std::optional<double> scale) {
  AxisTaps taps;
  taps.taps = sampling.mode == "nearest" ? 1 : sampling.mode == "bilinear" ? 2 : 4;
  const double s = scale ? *scale : double(out) / double(in);
  for (int64_t d = 0; d < out; ++d) {
    const double x = sourceCoordinate(sampling.coordinateMode, d, in, double(in) * s, s);
    if (taps.taps == 1) {
      taps.index.push_back(std::clamp<int64_t>(roundNearest(sampling.nearestMode, x), 0, in - 1));
      taps.weight.push_back(1.0);
      continue;
    }
    const int64_t first = static_cast<int64_t>(std::floor(x)) - (taps.taps == 4 ? 1 : 0);
    const double t = x - std::floor(x);
    double total = 0.0;
    std::vector<double> weights;
    for (int k = 0; k < taps.taps; ++k) {
      const int64_t at = first + k;
      double w = taps.taps == 2 ? (k == 0 ? 1.0 - t : t) : cubicWeight(t + 1.0 - k, sampling.cubicCoeffA);
      if (sampling.excludeOutside && (at < 0 || at >= in))
        w = 0.0;
      weights.push_back(w);
      total += w;
      taps.index.push_back(std::clamp<int64_t>(at, 0, in - 1));
    }
    for (double w : weights)
      taps.weight.push_back(sampling.excludeOutside && total != 0.0 ? w / total : w);
  }
  return taps;
}

AxisTaps transposeTaps(const AxisTaps &forward, int64_t in) {
  std::vector<std::vector<std::pair<int64_t, double>>> readers(in);
  const int64_t out = static_cast<int64_t>(forward.index.size()) / forward.taps;
  for (int64_t d = 0; d < out; ++d)
    for (int k = 0; k < forward.taps; ++k)
      readers[forward.index[d * forward.taps + k]].push_back({d, forward.weight[d * forward.taps + k]});
  AxisTaps taps;
  for (const auto &list : readers)
    taps.taps = std::max(taps.taps, static_cast<int>(list.size()));
  for (const auto &list : readers)
    for (int k = 0; k < taps.taps; ++k) {
      taps.index.push_back(k < static_cast<int>(list.size()) ? list[k].first : 0);
      taps.weight.push_back(k < static_cast<int>(list.size()) ? list[k].second : 0.0);
    }
  return taps;
}

} // namespace kiln::nn
