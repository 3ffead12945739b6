// Seeded random test tensors and the central finite-difference check of a backward rule.
#include "GradientCheck.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace kiln::test {

HostTensor randomTensor(std::vector<int64_t> shape, std::mt19937 &rng, double lo, double hi) {
  HostTensor t(std::move(shape));
  std::uniform_real_distribution<double> value(lo, hi);
  for (float &v : t.data)
    v = static_cast<float>(value(rng));
  return t;
}

HostTensor randomAwayFromZero(std::vector<int64_t> shape, std::mt19937 &rng, double margin) {
  HostTensor t = randomTensor(std::move(shape), rng, margin, 1.0);
  std::bernoulli_distribution negative(0.5);
  for (float &v : t.data)
    if (negative(rng))
      v = -v;
  return t;
}

HostTensor randomDistinct(std::vector<int64_t> shape, std::mt19937 &rng, double spacing) {
  HostTensor t(std::move(shape));
  const double centre = 0.5 * double(t.size() - 1);
  for (int64_t i = 0; i < t.size(); ++i)
    t.data[i] = static_cast<float>((double(i) - centre) * spacing);
  std::shuffle(t.data.begin(), t.data.end(), rng);
  return t;
}

namespace {

/// sum(r * y) in double.
double project(const HostTensor &r, const HostTensor &y) {
  double sum = 0.0;
  for (int64_t i = 0; i < y.size(); ++i)
    sum += double(r.data[i]) * double(y.data[i]);
  return sum;
}

/// The indices of every element, or `count` distinct ones at random.
std::vector<int64_t> elementsToCheck(int64_t size, int64_t count, std::mt19937 &rng) {
  std::vector<int64_t> indices(static_cast<size_t>(size));
  std::iota(indices.begin(), indices.end(), 0);
  if (size > count) {
    std::shuffle(indices.begin(), indices.end(), rng);
    indices.resize(static_cast<size_t>(count));
  }
  return indices;
}

} // namespace

double gradientError(const TensorFunction &forward, const TensorFunction &backward, const HostTensor &x,
                     std::mt19937 &rng, const FiniteDifference &fd, int64_t maxElements) {
  const HostTensor r = randomTensor(forward(x).shape, rng);
  const HostTensor analytic = backward(r);
  if (analytic.shape != x.shape)
    return std::numeric_limits<double>::infinity();
  double errorSquared = 0.0, numericSquared = 0.0;
  for (int64_t i : elementsToCheck(x.size(), maxElements, rng)) {
    // Step by what float can represent, so the quotient divides by the real distance.
    HostTensor plus = x, minus = x;
    plus.data[i] = static_cast<float>(x.data[i] + fd.step);
    minus.data[i] = static_cast<float>(x.data[i] - fd.step);
    const double distance = double(plus.data[i]) - double(minus.data[i]);
    const double numeric = (project(r, forward(plus)) - project(r, forward(minus))) / distance;
    errorSquared += std::pow(double(analytic.data[i]) - numeric, 2);
    numericSquared += numeric * numeric;
  }
  if (numericSquared == 0.0)
    return errorSquared == 0.0 ? 0.0 : std::numeric_limits<double>::infinity();
  return std::sqrt(errorSquared / numericSquared);
}

HostTensor scaled(HostTensor t, double factor) {
  for (float &v : t.data)
    v = static_cast<float>(double(v) * factor);
  return t;
}

} // namespace kiln::test
