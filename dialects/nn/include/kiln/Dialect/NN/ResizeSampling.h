// What nn.resize reads along one axis: for each output position, the input positions it blends
// and their weights (nearest: 1 tap, bilinear: 2, bicubic: 4), computed from the op's attributes
// as its description defines. The backends build their gathers from these tables; the reference
// interpreter computes the same sampling on its own.
#ifndef KILN_DIALECT_NN_RESIZESAMPLING_H
#define KILN_DIALECT_NN_RESIZESAMPLING_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <optional>
#include <vector>

namespace kiln::nn {

/// The sampling attributes of nn.resize (see NNOps.td).
struct ResizeSampling {
  llvm::StringRef mode, coordinateMode, nearestMode;
  double cubicCoeffA = -0.75;
  bool excludeOutside = false;
};

/// Output position d of `out` reads input positions index[d * taps + k] (inside [0, in)) with
/// weights weight[d * taps + k], k < taps.
struct AxisTaps {
  int taps = 1;
  std::vector<int64_t> index;
  std::vector<double> weight;

  /// Whether every weight is 1 (nearest sampling: a plain gather).
  bool unitWeights() const {
    for (double w : weight)
      if (w != 1.0)
        return false;
    return true;
  }
};

/// The taps along an axis of `in` input and `out` output positions; `scale` is the axis's
/// scale when the model gave one (else out / in).
AxisTaps resizeTaps(const ResizeSampling &sampling, int64_t in, int64_t out, std::optional<double> scale);

/// The taps of the gradient: for each of the `in` input positions, the output positions of
/// `forward` that read it and their weights (a position reading it twice appears twice). Every
/// position gets as many taps as the most-read one; the extra ones have weight 0.
AxisTaps transposeTaps(const AxisTaps &forward, int64_t in);

/// The names nn.resize accepts for coordinate_mode and nearest_mode.
llvm::ArrayRef<llvm::StringRef> resizeCoordinateModes();
llvm::ArrayRef<llvm::StringRef> resizeNearestModes();

} // namespace kiln::nn

#endif
