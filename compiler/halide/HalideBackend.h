// The Halide backend: lowers an nn-dialect forward function to a Halide pipeline (weights embedded
// as constants), runs it with the JIT, or compiles it to a no_runtime object plus one standalone
// runtime object. Every Halide exception is caught and returned as an error string.
//
// AOT contract (relied on by the library glue): the pipeline function is
//   int <functionName>(void *user_context, halide_buffer_t *in_0, ..., halide_buffer_t *out_0, ...)
// inputs in function-argument order, then outputs in result order; all f32, dense C-order tensors
// whose Halide dimension d is tensor dimension rank-1-d (dimension 0 = W), min 0, extents exactly
// the static shape, dense strides. The object checks these and returns an error code otherwise.
#ifndef KILN_HALIDE_HALIDEBACKEND_H
#define KILN_HALIDE_HALIDEBACKEND_H

#include "kiln/Dialect/NN/HostTensor.h"
#include "compiler/weights/WeightStore.h"

#include "Halide.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Support/LLVM.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kiln {

/// The knobs of the default CPU schedule (compiler/halide/Schedule.cpp). Every value is a hint:
/// the schedule clamps it to the layer's shape, so any positive values give correct code.
struct HalideScheduleOptions {
  int vectorWidth = 16;        ///< f32 lanes per vector (16 = one AVX-512 register).
  int convChannelBlock = 32;   ///< output channels per conv register tile (a multiple of vectorWidth).
  int convPixelBlock = 14;     ///< output pixels along W per conv register tile.
  int convReductionUnroll = 4; ///< input channels unrolled in the conv's inner loop.
  int denseBlock = 64;         ///< output features per dense tile.
  bool parallel = true;        ///< parallel over the outer dimensions (rows x batch, or feature tiles).
  int64_t parallelMinElements = 4096; ///< stages smaller than this stay serial.
};

/// A lowered model: the pipeline plus what is needed to bind its inputs and outputs.
struct HalideModel {
  Halide::Pipeline pipeline;
  std::vector<Halide::ImageParam> inputs;               ///< in_0, in_1, ... (Halide dims reversed).
  std::vector<std::string> inputNames, outputNames;     ///< nn.name (else nn.param, nn.state) of each.
  std::vector<std::vector<int64_t>> inputShapes, outputShapes; ///< logical (C-order) shapes.
};

/// Lowers `fn` (any function of an nn module: @forward, @train_step, ...): every argument is an
/// input (including labels, hyper, parameters and optimizer state passed at run time), every result
/// an output. `weights` must hold every nn.param op by name with the declared shape. On failure
/// returns failure and sets `error` (naming the op or parameter).
mlir::FailureOr<HalideModel> lowerToHalide(mlir::func::FuncOp fn, const WeightStore &weights,
                                           const HalideScheduleOptions &options, std::string &error);

/// Runs `model` with the Halide JIT (compiled on first use). `inputs` in argument order with the
/// declared shapes; returns the outputs in result order.
mlir::FailureOr<std::vector<HostTensor>> runJit(HalideModel &model, const std::vector<HostTensor> &inputs,
                                                std::string &error);

/// Paths written by compileToObjects.
struct HalideObjects {
  std::string pipelineObject; ///< <directory>/<functionName>.o (host target, user_context, no_runtime)
  std::string runtimeObject;  ///< <directory>/<functionName>_halide_runtime.o (standalone runtime)
  std::string functionName;
};

/// Compiles `model` ahead of time for the host into the two objects above.
mlir::LogicalResult compileToObjects(HalideModel &model, const std::string &functionName,
                                     const std::string &directory, HalideObjects &out, std::string &error);

/// Writes Halide's lowered statement of `model` (text, or HTML when `html`) to `path`.
mlir::LogicalResult emitStmt(HalideModel &model, const std::string &path, bool html, std::string &error);

} // namespace kiln

#endif
