// Test helpers for the training kernels: seeded random tensors and the finite-difference check of
// a backward rule against its forward kernel.
#ifndef KILN_TESTS_UNIT_TRAINING_GRADIENTCHECK_H
#define KILN_TESTS_UNIT_TRAINING_GRADIENTCHECK_H

#include "kiln/Dialect/NN/HostTensor.h"

#include <functional>
#include <random>
#include <vector>

namespace kiln::test {

/// A central-difference step and the relative L2 error it allows. The kernels store float32, so a
/// difference quotient loses about 1e-7 * |f| / step to rounding. A step is exact (but for
/// rounding) on functions linear or quadratic in x, and on piecewise linear ones whose inputs keep
/// further than the step from their kinks; on other smooth functions it costs about step^2 * f'''.
struct FiniteDifference {
  double step, tolerance;
};
constexpr FiniteDifference kLinear{0.5, 1e-5};
constexpr FiniteDifference kPiecewiseLinear{1e-2, 1e-4};
constexpr FiniteDifference kSmooth{1e-2, 1e-3};

/// Uniform values in [lo, hi).
HostTensor randomTensor(std::vector<int64_t> shape, std::mt19937 &rng, double lo = -1.0, double hi = 1.0);

/// Uniform magnitudes in [margin, 1] with random signs: no value within `margin` of 0 (a kink).
HostTensor randomAwayFromZero(std::vector<int64_t> shape, std::mt19937 &rng, double margin);

/// Distinct values `spacing` apart (shuffled, centred on 0): no two within `spacing` (a max's tie).
HostTensor randomDistinct(std::vector<int64_t> shape, std::mt19937 &rng, double spacing);

/// A function of one tensor (the others it needs are captured), or a backward rule: dL/dx from
/// dL/dy = gradOutput.
using TensorFunction = std::function<HostTensor(const HostTensor &)>;

/// The relative L2 error ||analytic - numeric|| / ||numeric|| of a backward rule, where for a
/// random projection r of the output (L(x) = sum(r * forward(x))) analytic = backward(r) and numeric
/// holds the central differences (L(x + h e_i) - L(x - h e_i)) / 2h, h = fd.step, on every element
/// of x or, when x has more than `maxElements`, on that many chosen at random (the other analytic
/// entries are left out of the norms). A backward result of the wrong shape gives infinity.
double gradientError(const TensorFunction &forward, const TensorFunction &backward, const HostTensor &x,
                     std::mt19937 &rng, const FiniteDifference &fd, int64_t maxElements = 96);

/// `t` with every value multiplied by `factor`.
HostTensor scaled(HostTensor t, double factor);

} // namespace kiln::test

#endif
