// Packages a compiled backend into the three files a user links against: lib<N>.so, lib<N>.a
// and <N>.h, where N is the model name. Expects the backend's object files (for the Halide
// backend: <fn>.o and <fn>_halide_runtime.o) with the entry point
//   int <fn>(void *user_context, halide_buffer_t *in_0, ..., halide_buffer_t *out_0, ...)
// over dense f32 C-order tensors. Generates C glue (N_create, N_run, ...) around it, compiles
// it with the system C compiler ($CC, default `cc`) and links it with Kiln's runtime library.
// Guarantees: all-or-nothing output (a failure leaves nothing new in the output directory) and
// error messages that name the failing step and carry the tool's own diagnostics.
#ifndef KILN_EMIT_LIBRARYEMITTER_H
#define KILN_EMIT_LIBRARYEMITTER_H

#include <cstdint>
#include <string>
#include <vector>

namespace kiln {

/// One input or output of a model: its name in the source network and its static shape.
struct TensorSpec {
  std::string name;
  std::vector<int64_t> shape;
};

/// How the glue calls the backend function (inputs, then outputs, after a user_context that
/// points to the context's kiln_message):
///  - HalideBuffers: int fn(void *user_context, halide_buffer_t *in_0, ..., halide_buffer_t *out_0, ...)
///    (the Halide backend; Halide dimension 0 = last tensor dimension; the glue routes Halide's
///    errors into the context and sets Halide's thread count).
///  - BarePointers:  int fn(void *user_context, float *in_0, ..., float *out_0, ...)
///    (the MLIR backend; dense C-order arrays of the static shapes; runs on the calling thread).
/// Either returns 0 on success. The generated header is the same for both.
enum class BackendAbi { HalideBuffers, BarePointers };

/// The interface of a compiled model. `name` prefixes every generated C symbol, so it must be
/// a C identifier; inputs and outputs are in the order the backend function takes them.
struct ModelInterface {
  std::string name;
  std::vector<TensorSpec> inputs, outputs;
  BackendAbi abi = BackendAbi::HalideBuffers;
};

/// Checks that `model` can be emitted: its name is a C identifier, it has at least one output,
/// ranks are at most KILN_MAX_RANK (8) and dimensions are positive.
bool verifyModelInterface(const ModelInterface &model, std::string &error);

/// The public C header of the model (<N>.h): Kiln's runtime declarations, a worked example,
/// shape constants and the N_* API. Also what `kiln compile --emit=header` prints.
std::string generateHeader(const ModelInterface &model);

/// The C glue (<N>_glue.c) that wraps `backendFunction` in the N_* API.
std::string generateGlue(const ModelInterface &model, const std::string &backendFunction);

/// Writes <outDir>/lib<N>.so, lib<N>.a and <N>.h (creating outDir if needed). The work happens
/// in a temporary directory inside outDir whose results are renamed into place at the end;
/// on failure returns false, sets `error`, and leaves outDir as it was.
/// Environment: CC (C compiler, default "cc"), AR (default "ar"), KILN_RUNTIME_LIB (path of
/// libkiln_runtime.a, default: the one in Kiln's build tree), KILN_HALIDE_INCLUDE_DIR
/// (directory of HalideRuntime.h, default: the one found when Kiln was configured).
bool emitLibrary(const ModelInterface &model, const std::vector<std::string> &backendObjects,
                 const std::string &backendFunction, const std::string &outDir, std::string &error);

} // namespace kiln

#endif
