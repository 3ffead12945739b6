// Model parameters by name (the `name` of each nn.param), with safetensors I/O and the
// deterministic seeded initialisation used when no weights file is given.
#ifndef KILN_WEIGHTS_WEIGHTSTORE_H
#define KILN_WEIGHTS_WEIGHTSTORE_H

#include "compiler/support/HostTensor.h"

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

/// Fills `store` with a value for every nn.param in `module`: taken from `given` when present
/// (its shape must match: otherwise the error names the parameter and both shapes), else drawn
/// by the documented seeded initialisation. Parameters in `given` that the model does not use
/// are an error too (a misspelt layer name is the usual cause).
mlir::LogicalResult bindWeights(mlir::ModuleOp module, const WeightStore *given, uint64_t seed,
                                WeightStore &store, std::string &error);

} // namespace kiln

#endif
