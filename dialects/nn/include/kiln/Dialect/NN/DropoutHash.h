// The keep decision of nn.dropout_train, shared by the reference interpreter and (written again
// with Halide expressions of the same unsigned 32-bit arithmetic) the Halide backend.
#ifndef KILN_DIALECT_NN_DROPOUTHASH_H
#define KILN_DIALECT_NN_DROPOUTHASH_H

#include <cstdint>

namespace kiln::nn {

/// A 32-bit mix of (step, seed, flat C-order element index); all arithmetic wraps mod 2^32.
constexpr uint32_t dropoutHash(uint32_t step, uint32_t seed, uint32_t index) {
  uint32_t h = (index * 0x9E3779B1u) ^ (seed * 0x85EBCA77u) ^ (step * 0xC2B2AE3Du);
  h ^= h >> 16;
  h *= 0x7FEB352Du;
  h ^= h >> 15;
  h *= 0x846CA68Bu;
  h ^= h >> 16;
  return h;
}

/// The threshold below which an element is dropped: rate * 2^32 (rate in [0, 1)).
constexpr uint32_t dropoutThreshold(float rate) { return static_cast<uint32_t>(double(rate) * 4294967296.0); }

/// Whether element `index` survives: dropoutHash(...) >= dropoutThreshold(rate).
constexpr bool dropoutKeeps(uint32_t step, uint32_t seed, uint32_t index, float rate) {
  return dropoutHash(step, seed, index) >= dropoutThreshold(rate);
}

} // namespace kiln::nn

#endif
