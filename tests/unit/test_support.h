// Shared by the unit tests that build nn models as text: the run's seed (printed; KILN_TEST_SEED
// replays it) and a generator per test, MLIR type and array text, random tensors and the
// relative L2 error every comparison uses.
#ifndef KILN_TESTS_UNIT_TEST_SUPPORT_H
#define KILN_TESTS_UNIT_TEST_SUPPORT_H

#include "kiln/Dialect/NN/HostTensor.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <random>
#include <string>
#include <vector>

namespace kiln::test {

using Shape = std::vector<int64_t>;

/// The run's seed: KILN_TEST_SEED if set, else the clock. Printed once.
inline uint64_t runSeed() {
  static const uint64_t seed = [] {
    const char *given = std::getenv("KILN_TEST_SEED");
    uint64_t value = given ? std::strtoull(given, nullptr, 10)
                           : static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count() % 1000000007);
    std::cout << "[kiln tests] seed " << value << " (KILN_TEST_SEED=" << value << " reproduces)\n";
    return value;
  }();
  return seed;
}

/// A generator for the current test: the run seed mixed with the test's full name.
inline std::mt19937 testRng() {
  const auto *info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = std::string(info->test_suite_name()) + "." + info->name();
  return std::mt19937(static_cast<uint32_t>(runSeed() ^ std::hash<std::string>()(name)));
}

inline std::string typeOf(const Shape &shape) {
  std::string text = "tensor<";
  for (int64_t d : shape)
    text += std::to_string(d) + "x";
  return text + "f32>";
}

inline std::string ints(const std::vector<int64_t> &values) {
  std::string text = "array<i64: ";
  for (size_t i = 0; i < values.size(); ++i)
    text += (i ? ", " : "") + std::to_string(values[i]);
  return text + ">";
}

/// Uniform random data in [lo, hi].
inline HostTensor randomTensor(std::mt19937 &rng, const Shape &shape, float lo, float hi) {
  HostTensor t(shape);
  std::uniform_real_distribution<float> dist(lo, hi);
  for (float &value : t.data)
    value = dist(rng);
  return t;
}

/// ||actual - expected|| / ||expected|| (absolute when expected is all zeros).
inline double relativeL2(const HostTensor &actual, const HostTensor &expected) {
  double diff = 0, norm = 0;
  for (size_t i = 0; i < expected.data.size(); ++i) {
    double d = static_cast<double>(actual.data[i]) - expected.data[i];
    diff += d * d;
    norm += static_cast<double>(expected.data[i]) * expected.data[i];
  }
  return norm > 0 ? std::sqrt(diff / norm) : std::sqrt(diff);
}

} // namespace kiln::test

#endif
