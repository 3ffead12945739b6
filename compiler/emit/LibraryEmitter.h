// Packages a compiled backend into the three files a user links against: lib<N>.so, lib<N>.a
// and <N>.h, where N is the model name. Expects the backend's object files (for the Halide
// backend: <fn>.o and halide_runtime.o) with the entry point
//   int <fn>(void *user_context, halide_buffer_t *in_0, ..., halide_buffer_t *out_0, ...)
// over dense f32 C-order tensors (for a training library, see TrainingInterface). Generates C glue (N_create, N_run, ...) around it, compiles
// it with the system C compiler ($CC, default `cc`) and links it with Kiln's runtime library.
// Guarantees: all-or-nothing output (a failure leaves nothing new in the output directory) and
// error messages that name the failing step and carry the tool's own diagnostics.
#ifndef KILN_EMIT_LIBRARYEMITTER_H
#define KILN_EMIT_LIBRARYEMITTER_H

#include <cstdint>
#include <optional>
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

/// A backend function compiled as several (a long function in parts, SplitFunction.h), which the
/// glue calls in order. Each part's arguments (inputs, then outputs) are arguments of the whole
/// function (Argument::index counts its arguments, then its results, in the order the whole one
/// takes them) or temporaries, which the context holds. No parts: the whole function is one.
struct FunctionParts {
  struct Argument {
    bool temporary;
    size_t index;
  };
  struct Part {
    std::string function;
    std::vector<Argument> arguments;
    size_t numInputs; ///< arguments[numInputs...] are written
  };
  std::vector<Part> parts;
  std::vector<TensorSpec> temporaries; ///< their shapes, named "temporary<k>"
};

/// The training part of a model compiled with `--train` (docs/training.md). With it, the
/// library holds parameters in its context and the two backend functions take them as arguments
/// (both in `abi`, the loss and hyper-parameters as rank-1 tensors):
///   int <fn>(uc, inputs..., params..., outputs...)                             (inference)
///   int <trainFunction>(uc, inputs..., labels, hyper, params..., state...,
///                       loss, new_params..., new_state...)                     (one step)
/// where hyper = float[2] {learning rate, step number t (1-based: the step being taken)} and
/// loss = float[1], the mean loss of the batch before the update.
struct TrainingInterface {
  /// Every nn.param (trained ones and batch-norm running statistics), in backend-argument order;
  /// the names are the checkpoint's tensor names (PyTorch state_dict keys).
  std::vector<TensorSpec> params;
  /// The optimizer's slots, in backend-argument order, named "<param>.<slot>" with PyTorch's slot
  /// names (momentum_buffer, square_avg, exp_avg, exp_avg_sq); empty for sgd. Zero at the start.
  std::vector<TensorSpec> state;
  /// The labels argument: class indices as floats, shape [N], for softmax_cross_entropy; the
  /// shape of the (single) output for mse. Also how `kiln train` tells the two apart.
  TensorSpec labels;
  /// The optimizer's name as given to nn-autodiff ("sgd", "momentum", "adam", ...): stored in
  /// checkpoints, which a library with another optimizer refuses to load.
  std::string optimizer;
  /// The learning rate the context starts with (N_set_learning_rate changes it).
  float learningRate = 0.01f;
  /// Path of a binary file holding every parameter's initial float32 values, in `params` order,
  /// each dense in C order, native byte order, nothing else. Embedded into the library.
  std::string initialParams;
  /// The symbol of the training-step backend function, in the same objects as the inference one.
  std::string trainFunction;
  /// `trainFunction` in parts, or none.
  FunctionParts stepParts = {};
};

/// The interface of a compiled model. `name` prefixes every generated C symbol, so it must be
/// a C identifier; inputs and outputs are in the order the backend function takes them.
/// `training` is set for libraries compiled with `--train` (it adds the N_train_step API).
struct ModelInterface {
  std::string name;
  std::vector<TensorSpec> inputs, outputs;
  BackendAbi abi = BackendAbi::HalideBuffers;
  FunctionParts runParts = {}; ///< the inference backend function in parts, or none
  std::optional<TrainingInterface> training = std::nullopt;
};

/// Checks that `model` can be emitted: its name is a C identifier, it has at least one output,
/// ranks are at most KILN_MAX_RANK (8) and dimensions are positive; for training, the same for
/// every parameter, state slot and the labels, distinct names and a positive finite learning rate.
bool verifyModelInterface(const ModelInterface &model, std::string &error);

/// The public C header of the model (<N>.h): Kiln's runtime declarations, a worked example,
/// shape constants and the N_* API. Also what `kiln compile --emit=header` prints.
std::string generateHeader(const ModelInterface &model);

/// The C glue (<N>_glue.c) that wraps `backendFunction` in the N_* API.
std::string generateGlue(const ModelInterface &model, const std::string &backendFunction);

/// Writes <outDir>/lib<N>.so, lib<N>.a and <N>.h (creating outDir if needed). For training,
/// the file `model.training->initialParams` must hold exactly the parameters' bytes; it is
/// embedded with an assembler `.incbin` (no C arrays) compiled by the same C compiler. The work happens
/// in a temporary directory inside outDir whose results are renamed into place at the end;
/// on failure returns false, sets `error`, and leaves outDir as it was.
/// Environment: CC (C compiler, default "cc"), AR (default "ar"), KILN_RUNTIME_LIB (path of
/// libkiln_runtime.a, default: the one in Kiln's build tree), KILN_HALIDE_INCLUDE_DIR
/// (directory of HalideRuntime.h, default: the one found when Kiln was configured).
bool emitLibrary(const ModelInterface &model, const std::vector<std::string> &backendObjects,
                 const std::string &backendFunction, const std::string &outDir, std::string &error);

} // namespace kiln

#endif
