// NumPy .npy files (format versions 1, 2 and 3) for model inputs, outputs and labels.
// Expects little-endian, C-order arrays; reads float32 ('<f4') into a HostTensor and
// int32/int64 ('<i4', '<i8') into int64 values. Every failure returns false with a message
// that names the file, says what is wrong and how to produce a readable file. Writes go to a
// temporary file in the same directory that is renamed into place, so a reader never sees a
// half-written file.
#ifndef KILN_SUPPORT_NPY_H
#define KILN_SUPPORT_NPY_H

#include "kiln/Dialect/NN/HostTensor.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kiln {

/// Reads a float32 array. Other dtypes, Fortran order, a truncated file or a malformed header
/// are errors (no conversion is done: save with `a.astype(np.float32)`).
bool readNpy(const std::string &path, HostTensor &tensor, std::string &error);

/// Reads an int32 or int64 array (e.g. class labels) into int64 values.
bool readNpyInt64(const std::string &path, std::vector<int64_t> &shape, std::vector<int64_t> &data,
                  std::string &error);

/// Writes `tensor` as a version 1 '<f4' C-order file. `tensor.data` must have as many elements
/// as `tensor.shape` says.
bool writeNpy(const std::string &path, const HostTensor &tensor, std::string &error);

} // namespace kiln

#endif
