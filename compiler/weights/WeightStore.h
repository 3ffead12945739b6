// Model parameters by name (the `name` of each nn.param), with safetensors I/O and the
// deterministic seeded initialisation used when no weights file is given.
#ifndef KILN_WEIGHTS_WEIGHTSTORE_H
#define KILN_WEIGHTS_WEIGHTSTORE_H

#include "kiln/Dialect/NN/HostTensor.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LLVM.h"

#include <cstdint>
#include <map>
#include <string>

namespace kiln {

using WeightStore = std::map<std::string, HostTensor>;

/// Reads every F32 tensor of a safetensors file. On failure returns failure and sets `error`
/// to a message naming the file and what is wrong (truncated header, bad JSON, unsupported dtype,
/// offsets out of range, ...).
mlir::LogicalResult readSafetensors(const std::string &path, WeightStore &store, std::string &error);

/// Writes `store` as a safetensors file (F32, names sorted), via a temporary file renamed into place.
mlir::LogicalResult writeSafetensors(const std::string &path, const WeightStore &store, std::string &error);

/// Seeded initialisation, identical on every platform (no std:: distributions, no FMA-sensitive
/// arithmetic). Each parameter has its own stream, so adding or renaming one layer never changes
/// another layer's values:
///   state  = seed XOR FNV-1a-64(name);  x = splitmix64(state) per element, in C order
///   u      = (x >> 40) * 2^-24              (24 random bits, exactly representable, in [0, 1))
///   value  = float((2u - 1) * bound)        (uniform in [-bound, bound])
/// The bound comes from the op that consumes the parameter:
///   conv2d / dense weight:  bound = sqrt(6 / fan_in)  (He-uniform), fan_in = C/groups*KH*KW or K
///   conv2d / dense bias:    bound = 1 / sqrt(fan_in)   (PyTorch's default), fan_in of that layer
///   batch_norm:             scale 1, shift 0, running_mean 0, running_var 1 (constants)
///   any other or no use:    bound = 1
/// docs/weights.md describes the same scheme for users.
struct InitRule {
  bool uniform = true; ///< uniform in [-bound, bound], else every element is `value`
  double bound = 1.0;
  float value = 0.0f;

  static InitRule uniformIn(double bound) { return {true, bound, 0.0f}; }
  static InitRule constant(float value) { return {false, 0.0, value}; }
};

/// The rule for the parameter produced by `paramOp` (an nn.param), chosen from its consumer.
InitRule initRuleFor(mlir::Operation *paramOp);

/// Draws the initial value of parameter `name` of `shape` under `rule`.
HostTensor initParameter(llvm::StringRef name, llvm::ArrayRef<int64_t> shape, const InitRule &rule,
                         uint64_t seed);

/// Fills `store` with a value for every nn.param in `module`: taken from `given` when present
/// (its shape must match: otherwise the error names the parameter and both shapes), else drawn
/// by the documented seeded initialisation. Parameters in `given` that the model does not use
/// are an error too (a misspelt layer name is the usual cause).
mlir::LogicalResult bindWeights(mlir::ModuleOp module, const WeightStore *given, uint64_t seed,
                                WeightStore &store, std::string &error);

} // namespace kiln

#endif
