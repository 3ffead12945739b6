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
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace kiln {

/// How a conv layer computes its outputs.
enum class ConvAlgorithm {
  Auto,     ///< Winograd where it applies and the layer's shape favours it (Schedule.cpp), else direct
  Direct,   ///< the register-tiled direct loop nest
  Winograd, ///< Winograd F(2x2, 3x3): 3x3 stride-1 convs with weights known at compile time
};

/// The knobs of the CPU schedule of one stage (compiler/halide/Schedule.cpp). Every value is a
/// hint: the schedule clamps it to the stage's shape (effectiveSchedule), so any positive values
/// give correct code.
struct HalideStageSchedule {
  int vectorWidth = 16;        ///< f32 lanes per vector (16 = one AVX-512 register).
  int convChannelBlock = 32;   ///< output channels per conv register tile (a multiple of vectorWidth).
  int convPixelBlock = 14;     ///< output pixels along W per conv register tile.
  int convRowBlock = 1;        ///< output rows per conv register tile.
  int convReductionUnroll = 4; ///< input channels unrolled in the conv's inner loop.
  /// Conv loops over channel blocks outermost (one block's weights stay in cache over all rows;
  /// parallel over blocks), else over rows. Unset: channel blocks outermost when the weights are
  /// larger than the L2 cache and than the input (Schedule.cpp).
  std::optional<bool> convChannelsOuter;
  /// Conv only. Winograd reuses the knobs above for its batched products: a register tile of
  /// (channel block x pixel block) tiles of 2x2 outputs; row block = rows of tiles per task.
  ConvAlgorithm convAlgorithm = ConvAlgorithm::Auto;
  int denseBlock = 64;         ///< output features per dense tile.
  bool parallel = true;        ///< parallel over the outer dimensions (rows x batch, or feature tiles).
  int64_t parallelMinElements = 4096; ///< stages smaller than this stay serial.

  bool operator==(const HalideStageSchedule &other) const;
  bool operator!=(const HalideStageSchedule &other) const { return !(*this == other); }
};

/// The names of Halide's autoschedulers (plugins shipped with libhalide14) that can schedule a
/// whole pipeline in place of Kiln's own per-stage schedules: Adams2019, Mullapudi2016, Li2018.
const std::vector<std::string> &halideAutoschedulers();

/// The schedule of a whole model: the knobs above for every stage, except the layers that have a
/// tuned schedule of their own (kiln tune), found by their signature (HalideLayer::signature) --
/// or one of Halide's autoschedulers for the whole pipeline.
struct HalideScheduleOptions : HalideStageSchedule {
  std::map<std::string, HalideStageSchedule> tuned;
  /// Empty: Kiln's schedules. Else a name of halideAutoschedulers(), which schedules everything.
  std::string autoscheduler;
  /// kiln tune's whole-pipeline choices by pipelineSignature(): the autoscheduler that was
  /// fastest, "" where Kiln's schedules with the layer records were, or kDefaultSchedules where
  /// Kiln's default schedules were (the layer records are then not used). Consulted when
  /// `autoscheduler` is empty.
  std::map<std::string, std::string> tunedPipelines;
  int autoschedulerThreads = 0; ///< cores the autoscheduler plans for (0: this machine's)
};

/// A whole-pipeline choice (HalideScheduleOptions::tunedPipelines): Kiln's default schedules.
inline constexpr const char *kDefaultSchedules = "kiln-default";

/// The key of a whole function in kiln tune's records: "pipeline " + a hash of its printed IR
/// (ops, shapes and attributes; not the weights' values) + its number of ops.
std::string pipelineSignature(mlir::func::FuncOp fn);

/// A layer the schedule tiles into registers (a conv or dense stage, with the elementwise ops
/// fused into it): what kiln tune measures and kiln inspect --tuning shows.
struct HalideLayer {
  enum class Kind { Conv, Dense } kind;
  std::string name;      ///< the first op's layer name (NameLoc), else its op name
  /// The op, its operand shapes and attributes, then each fused op the same way ("+relu(...)"):
  /// layers with equal signatures get equal code.
  std::string signature;
  std::vector<mlir::Operation *> ops; ///< the op and its fused epilogue, in program order
  std::vector<int64_t> extents;       ///< output extents in argument order: conv (c, x, y, n), dense (m, n)
  std::vector<int64_t> reduction;     ///< reduction extents: conv (ci, kx, ky), dense (k)
  HalideStageSchedule schedule;       ///< the knobs as applied (effectiveSchedule)
  bool winogradCapable = false;       ///< conv: Winograd applies (3x3, stride 1, constant weights, ...)
  bool tuned = false;                 ///< whether they came from HalideScheduleOptions::tuned

  /// Multiply-adds times 2 (the bias and epilogue not counted).
  int64_t flops() const;
};

/// What the schedule of `layer` does with `requested`: each knob clamped to the layer's shape,
/// knobs that do not apply to its kind left at their defaults, `parallel` false when the layer is
/// below its threshold, the conv algorithm resolved (never Auto; Direct unless winogradCapable).
/// Two requests with the same effective schedule give the same code.
HalideStageSchedule effectiveSchedule(const HalideLayer &layer, const HalideStageSchedule &requested);

/// A lowered model: the pipeline plus what is needed to bind its inputs and outputs.
struct HalideModel {
  Halide::Pipeline pipeline;
  std::vector<Halide::ImageParam> inputs;               ///< in_0, in_1, ... (Halide dims reversed).
  std::vector<std::string> inputNames, outputNames;     ///< nn.name (else nn.param, nn.state) of each.
  std::vector<std::vector<int64_t>> inputShapes, outputShapes; ///< logical (C-order) shapes.
  std::vector<HalideLayer> layers;                      ///< conv and dense stages, in program order.
  std::string autoscheduler; ///< the autoscheduler that scheduled the pipeline; empty: Kiln's schedules
};

/// The name of argument (or, with `result`, result) `index` of `fn` in the library: its nn.name,
/// else its nn.param (parameter) or nn.state (optimizer slot) name, else in_<index> (out_<index>).
std::string boundaryName(mlir::func::FuncOp fn, unsigned index, bool result);

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

/// Compiles each of `pipelines` (a model and its function name) ahead of time for the host
/// (user_context, no runtime) into <directory>/<functionName>.o, and one Halide runtime for all of
/// them into <directory>/halide_runtime.o, in parallel processes (one per core, ForkJobs.h).
/// Returns the objects' paths, the runtime's last.
mlir::FailureOr<std::vector<std::string>>
compileToObjects(const std::vector<std::pair<HalideModel *, std::string>> &pipelines, const std::string &directory,
                 std::string &error);

/// Writes Halide's lowered statement of `model` (text, or HTML when `html`) to `path`.
mlir::LogicalResult emitStmt(HalideModel &model, const std::string &path, bool html, std::string &error);

} // namespace kiln

#endif
