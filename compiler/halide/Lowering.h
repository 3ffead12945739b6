// Internal state of the nn -> Halide lowering, shared by the per-category files (Linear.cpp,
// Pooling.cpp, Elementwise.cpp, DataMovement.cpp) and the schedule (Schedule.cpp).
//
// Layout: a tensor of rank 4 (NCHW) is a Func indexed (c, w, h, n) -- channels innermost -- and a
// tensor of any other rank is indexed by its dimensions reversed (last dimension first). Tensors of
// one rank therefore share one argument order, so elementwise ops apply Funcs to the same Vars.
// Algorithms only; Schedule.cpp decides what is materialised and how loops are tiled.
#ifndef KILN_HALIDE_LOWERING_H
#define KILN_HALIDE_LOWERING_H

#include "compiler/halide/HalideBackend.h"

#include "Halide.h"
#include "llvm/ADT/DenseMap.h"
#include "mlir/IR/Value.h"

#include <string>
#include <vector>

namespace kiln::halide {

/// Which logical (C-order) dimension each Func argument indexes: arg i <-> dimension perm[i].
std::vector<int> storagePerm(int rank);
/// Fresh Vars in argument order: (c, x, y, n) for rank 4, else i0, i1, ... (i0 = last dimension).
std::vector<Halide::Var> storageVars(int rank);
/// The logical indices (C order) that the argument Vars `vars` stand for.
std::vector<Halide::Expr> logicalOf(const std::vector<Halide::Var> &vars);
/// Argument-order extents of a logical shape.
std::vector<int64_t> storageExtents(const std::vector<int64_t> &shape);

/// A tensor value during lowering.
struct TensorRef {
  Halide::Func func;           ///< indexed in argument order (see storagePerm)
  std::vector<int64_t> shape;  ///< logical shape, C order
  int stage = -1;              ///< index of the Stage whose current output this is, or -1 (inline)

  int rank() const { return static_cast<int>(shape.size()); }
  /// The element at logical (C-order) indices.
  Halide::Expr at(const std::vector<Halide::Expr> &logical) const;
};

/// What kind of loop nest a materialised Func gets.
enum class StageKind {
  Conv,      ///< output = epilogue(accumulator); accumulator register-tiled inside output tiles
  Dense,     ///< same with a [M, N] accumulator
  Pointwise, ///< anything else computed at root: copies, pools (inline reductions), softmax parts
};

/// A Func computed at root, plus the pieces its schedule needs.
struct Stage {
  StageKind kind = StageKind::Pointwise;
  Halide::Func output;          ///< computed at root; fused elementwise consumers replace it
  std::vector<int64_t> extents; ///< extents of output's arguments (argument order)
  Halide::Func accumulator;     ///< Conv/Dense: pure init + one update over `rdom`
  Halide::RDom rdom;            ///< Conv: (ci, kx, ky); Dense: (k)
};

/// Everything the op lowerings read and write.
struct LoweringState {
  const WeightStore &weights;
  std::vector<Stage> stages;
  llvm::DenseMap<mlir::Value, TensorRef> values;
  llvm::DenseMap<mlir::Value, int> uses; ///< consumers of each value (dropout looked through)
  int counter = 0;

  explicit LoweringState(const WeightStore &weights) : weights(weights) {}

  std::string freshName(const std::string &base) { return base + "_" + std::to_string(counter++); }
  /// The tensor for an operand (an nn.param becomes a constant Buffer). Fails with `error` set.
  mlir::FailureOr<TensorRef> tensor(mlir::Value value, std::string &error);
  /// The data of an nn.param operand, checked against its declared shape.
  mlir::FailureOr<const HostTensor *> constant(mlir::Value value, std::string &error);
  /// Adds a stage whose output is `func` (shape = logical shape) and returns its tensor.
  TensorRef addStage(StageKind kind, Halide::Func func, const std::vector<int64_t> &shape);
  /// The stage `operand` may be fused into (its current output, used only once), or -1.
  int fusableStage(mlir::Value operand);
  /// Binds an op's result, fusing `func` into `stage` when >= 0, else making it a Pointwise stage.
  void bindElementwise(mlir::Value result, Halide::Func func, const std::vector<int64_t> &shape, int stage);
};

/// Builds a Halide Buffer (arguments in storage order) holding a C-order tensor.
Halide::Buffer<float> toStorageBuffer(const HostTensor &tensor);

/// Op lowerings, one per op, grouped by file. Each binds the op's result in `state.values`.
mlir::LogicalResult lowerConv2D(mlir::Operation *op, LoweringState &state, std::string &error);
mlir::LogicalResult lowerConvTranspose2D(mlir::Operation *op, LoweringState &state, std::string &error);
mlir::LogicalResult lowerDense(mlir::Operation *op, LoweringState &state, std::string &error);
mlir::LogicalResult lowerMaxPool2D(mlir::Operation *op, LoweringState &state, std::string &error);
mlir::LogicalResult lowerAvgPool2D(mlir::Operation *op, LoweringState &state, std::string &error);
/// global_avg_pool and global_max_pool.
mlir::LogicalResult lowerGlobalPool(mlir::Operation *op, LoweringState &state, std::string &error);
mlir::LogicalResult lowerBatchNorm(mlir::Operation *op, LoweringState &state, std::string &error);
mlir::LogicalResult lowerLRN(mlir::Operation *op, LoweringState &state, std::string &error);
/// relu, tanh, sigmoid, leaky_relu, clip, hard_sigmoid, hard_swish.
mlir::LogicalResult lowerActivation(mlir::Operation *op, LoweringState &state, std::string &error);
/// add, sub, mul, div, max, min (numpy broadcasting).
mlir::LogicalResult lowerBinary(mlir::Operation *op, LoweringState &state, std::string &error);
/// sum and mean of same-shape inputs.
mlir::LogicalResult lowerSumMean(mlir::Operation *op, LoweringState &state, std::string &error);
/// softmax and log_softmax.
mlir::LogicalResult lowerSoftmax(mlir::Operation *op, LoweringState &state, std::string &error);
mlir::LogicalResult lowerFlatten(mlir::Operation *op, LoweringState &state, std::string &error);
mlir::LogicalResult lowerConcat(mlir::Operation *op, LoweringState &state, std::string &error);
mlir::LogicalResult lowerReshape(mlir::Operation *op, LoweringState &state, std::string &error);
mlir::LogicalResult lowerPad(mlir::Operation *op, LoweringState &state, std::string &error);
mlir::LogicalResult lowerResize(mlir::Operation *op, LoweringState &state, std::string &error);

/// Applies the default CPU schedule to every stage (Schedule.cpp).
void scheduleStages(std::vector<Stage> &stages, const HalideScheduleOptions &options);

} // namespace kiln::halide

#endif
