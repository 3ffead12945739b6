// Internal state of the nn -> Halide lowering, shared by the per-category files (Linear.cpp,
// Pooling.cpp, Elementwise.cpp, DataMovement.cpp and the training ops' LinearGrad.cpp,
// PoolingGrad.cpp, Losses.cpp, TrainingForms.cpp, Optimizers.cpp, with the shared sums of
// Reductions.cpp) and the schedule (Schedule.cpp).
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

#include <optional>
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
  /// The argument of `func` contiguous in memory: 0 (the storage layout), or 1 for a rank-4
  /// function argument, which is read in place (C order: W innermost).
  int memoryInner = 0;

  int rank() const { return static_cast<int>(shape.size()); }
  /// The element at logical (C-order) indices.
  Halide::Expr at(const std::vector<Halide::Expr> &logical) const;
};

/// What kind of loop nest a materialised Func gets.
enum class StageKind {
  Conv,         ///< output = epilogue(accumulator); accumulator register-tiled inside output tiles
  WinogradConv, ///< output = epilogue(output transform of `product`); Winograd.cpp
  FilterGrad,   ///< conv2d_grad_filter: output (ci, kx, ky, f), accumulator register-tiled likewise
  Dense,        ///< same with a [M, N] accumulator
  RowReduction, ///< output(n): a pure init and one update over `rdom` along a row's contiguous k
  Copy,         ///< output(v) = source(sourceArgs): data moved (reshape, transpose, slice, the
                ///< results in C order), transposed in register blocks when the two innermost
                ///< dimensions differ
  Reduction,    ///< output = post(accumulator); accumulator: a pure init and one update over `rdom`
                ///< (nn.reduce kinds, Reductions.cpp)
  Repack,       ///< a run-time weight rearranged with argument 0 (features) innermost
  Inline,       ///< a pointwise result that only an output reads: computed by the output itself
  Pointwise,    ///< anything else computed at root: copies, pools (inline reductions), softmax parts
};

/// What the lowering of a conv or dense op fixes from its layer's schedule: the conv algorithm and
/// the weights' layout, output channels (features) in contiguous blocks of `weightBlock`.
struct LayerLowering {
  ConvAlgorithm algorithm = ConvAlgorithm::Direct;
  int weightBlock = 0;

  bool operator==(const LayerLowering &other) const {
    return algorithm == other.algorithm && weightBlock == other.weightBlock;
  }
  bool operator!=(const LayerLowering &other) const { return !(*this == other); }
};

/// Schedule.cpp: the lowering a layer of effective schedule `e` needs (`dense`: a dense layer,
/// else a conv).
LayerLowering loweringFor(const HalideStageSchedule &e, bool dense);

/// A Func computed at root, plus the pieces its schedule needs.
struct Stage {
  StageKind kind = StageKind::Pointwise;
  Halide::Func output;          ///< computed at root; fused elementwise consumers replace it
  std::vector<int64_t> extents; ///< extents of output's arguments (argument order)
  Halide::Func accumulator;     ///< Conv/FilterGrad/Dense: pure init + one update over `rdom`
                                ///< WinogradConv: the batched products (co, a, b, tx, ty, n) over `rdom`
  Halide::RDom rdom;            ///< Conv: (ci, kx, ky); FilterGrad: (ow, oh, n); Dense, RowReduction: (k);
                                ///< WinogradConv: (ci)
  Halide::Func transformedInput; ///< WinogradConv: V(ci, a, b, tx, ty, n), the input tiles transformed
  Halide::Func product;          ///< WinogradConv: the accumulator stored per row of tiles (read 9x)
  bool winogradCapable = false;  ///< Conv/WinogradConv: Winograd applies to this conv (winogradCapable)
  Halide::Func source;          ///< Copy: the tensor read
  Halide::Func copy;            ///< Copy: the copy itself (output until a consumer is fused into it)
  std::vector<Halide::Expr> sourceArgs; ///< Copy: the arguments `source` is read at (Exprs of output's)
  /// Copy: the argument of `source` contiguous in memory (TensorRef::memoryInner); Reduction: the
  /// argument of the output whose input elements are contiguous in memory.
  int sourceInner = 0;
  bool fused = false; ///< an elementwise op was fused into the output (bindElementwise)
  std::string name;             ///< Conv/Dense: the layer name of the op (HalideLayer::name)
  std::string signature;        ///< Conv/Dense: HalideLayer::signature, grown as ops are fused
  std::vector<mlir::Operation *> ops; ///< Conv/Dense: the op, then each fused op
  /// Conv/WinogradConv/Dense of an nn op whose lowering follows its layer's schedule: how it did.
  std::optional<LayerLowering> lowering;
};

/// Per-channel batch statistics of one tensor (Funcs indexed by channel).
struct ChannelStatistics {
  Halide::Func mean, variance; ///< variance is the biased one (divided by the count)
};

/// Row statistics of a logits tensor [N, K] (Funcs indexed by row).
struct RowStatistics {
  Halide::Func max, sumExp; ///< max over the row; sum of exp(logit - max)
};

/// Everything the op lowerings read and write.
struct LoweringState {
  const WeightStore &weights;
  const HalideScheduleOptions &options;
  /// Lowerings decided from the layers' tuned schedules (keyed by the conv or dense op); other
  /// layers are lowered for the options' effective schedule of their own shape (lowering()).
  const llvm::DenseMap<mlir::Operation *, LayerLowering> &chosenLowerings;
  std::vector<Stage> stages;
  llvm::DenseMap<mlir::Value, TensorRef> values;
  llvm::DenseMap<mlir::Value, int> uses; ///< consumers of each value (dropout looked through)
  /// Root stages shared by several ops reading the same value (each computed once).
  llvm::DenseMap<mlir::Value, Halide::Func> convInputs; ///< zero-padded input copies (Linear.cpp)
  llvm::DenseMap<mlir::Value, Halide::Func> channelSums;
  llvm::DenseMap<mlir::Value, ChannelStatistics> batchStatistics;
  llvm::DenseMap<mlir::Value, RowStatistics> softmaxStatistics;
  int counter = 0;
  /// Every weight of the pipeline (as stored and repacked) in one embedded buffer, each at an
  /// offset aligned to a cache line: Halide's lowering passes cost (buffers x vector loops), so one
  /// buffer per weight made compile time quadratic in the number of layers.
  Halide::Buffer<float> constantPool;
  int64_t constantPoolUsed = 0;

  /// `constantCapacity`: floats the pool may hold; constants beyond it get buffers of their own.
  LoweringState(const WeightStore &weights, const HalideScheduleOptions &options,
                const llvm::DenseMap<mlir::Operation *, LayerLowering> &chosenLowerings, int64_t constantCapacity)
      : weights(weights), options(options), chosenLowerings(chosenLowerings),
        constantPool(static_cast<int>(constantCapacity), "constants") {}

  std::string freshName(const std::string &base) { return base + "_" + std::to_string(counter++); }
  /// The tensor for an operand (an nn.param reads the constant pool). Fails with `error` set.
  mlir::FailureOr<TensorRef> tensor(mlir::Value value, std::string &error);
  /// Whether `value` is an nn.param (weights known at compile time), not run-time data.
  bool isConstant(mlir::Value value);
  /// The data of an nn.param operand, checked against its declared shape.
  mlir::FailureOr<const HostTensor *> constant(mlir::Value value, std::string &error);
  /// How conv or dense `op` is lowered: as chosen for its layer, else for `e`, the options'
  /// effective schedule of its shape.
  LayerLowering lowering(mlir::Operation *op, const HalideStageSchedule &e, bool dense) const;
  /// A Func over the dimensions of `data` that reads a copy of it from the constant pool. With a
  /// `block` that divides dimension 0's extent (and is smaller), the copy holds dimension 0 in
  /// blocks of `block`, each contiguous over the other dimensions: a conv's register tile of
  /// `block` output channels then streams its weights from one place. (Constants beyond the
  /// pool's capacity keep a flat buffer of their own.)
  Halide::Func embed(const std::string &name, const Halide::Buffer<float> &data, int block = 0);
  /// Crops the pool to what was used, so only that is embedded in the compiled pipeline.
  void finishConstants();
  /// Adds a stage whose output is `func` (shape = logical shape) and returns its tensor.
  TensorRef addStage(StageKind kind, Halide::Func func, const std::vector<int64_t> &shape);
  /// The stage `operand` may be fused into (its current output, used only once), or -1.
  int fusableStage(mlir::Value operand);
  /// Binds an op's result, fusing `func` into `stage` when >= 0, else making it a Pointwise stage.
  void bindElementwise(mlir::Value result, Halide::Func func, const std::vector<int64_t> &shape, int stage);
};

/// DataMovement.cpp: a Copy stage: defines `out(vars)` as `input` (the tensor of `operand`) at
/// logical (C-order) indices `logical` (Exprs of `vars`); `extents`: out's argument extents. When
/// `input` is itself a Copy stage read only here (a reshape - transpose - reshape channel shuffle, a
/// transpose before a result), the two compose: one pass reads its source, the other is Inline.
Stage copyStage(LoweringState &state, mlir::Value operand, Halide::Func out, const std::vector<Halide::Var> &vars,
                const TensorRef &input, const std::vector<Halide::Expr> &logical, const std::vector<int64_t> &extents);

/// Elementwise.cpp: `operand` read at the output's logical indices under numpy broadcasting
/// (aligned at the last dimension; size-1 dimensions read index 0).
Halide::Expr broadcastRead(const TensorRef &operand, const std::vector<Halide::Expr> &outLogical);

/// Builds a Halide Buffer (arguments in storage order) holding a C-order tensor.
Halide::Buffer<float> toStorageBuffer(const HostTensor &tensor);

/// The static shape of a tensor value.
std::vector<int64_t> shapeOf(mlir::Value value);

/// Reductions.cpp: sums computed as root stages (partial sums first when there is much to add).
/// Per-channel (dimension 1) sum of `value(args)` over every other dimension of `shape`; the
/// result is indexed by channel.
Halide::Func channelSum(LoweringState &state, const std::string &name, const Halide::Func &value,
                        const std::vector<int64_t> &shape);
/// channelSum of a lowered tensor, cached per value.
Halide::Func channelSumOf(LoweringState &state, mlir::Value value, const TensorRef &tensor);
/// The number of elements per channel (dimension 1) of `shape`.
float perChannelCount(const std::vector<int64_t> &shape);
/// Per-channel mean and biased variance of a lowered tensor, cached per value.
ChannelStatistics batchStatisticsOf(LoweringState &state, mlir::Value value, const TensorRef &tensor);
/// Sum of `value(args)` over all of `shape`, as a Func of no arguments.
Halide::Func totalSum(LoweringState &state, const std::string &name, const Halide::Func &value,
                      const std::vector<int64_t> &shape);

/// Linear.cpp: a root copy of `input` (the tensor of `value`) that is zero outside it, indexed in
/// unpadded coordinates; one per value serves every convolution reading it. `extents` is the region
/// the first reader needs (a schedule hint: bounds inference decides).
Halide::Func zeroPaddedCopy(LoweringState &state, mlir::Value value, const TensorRef &input,
                            const std::vector<int64_t> &extents);
/// Linear.cpp: the bias read at output channel `c`, or 0 when `value` is null.
mlir::FailureOr<Halide::Expr> biasAt(mlir::Value value, Halide::Expr c, LoweringState &state, std::string &error);

/// Winograd.cpp: whether Winograd F(2x2, 3x3) can compute conv2d `op`: a 3x3 kernel, stride 1,
/// dilation 1, one group, constant weights, at least 8 input and output channels, an output of at
/// least 2x2.
bool winogradCapable(mlir::Operation *op, LoweringState &state);
/// Winograd.cpp: conv2d `op` as Winograd F(2x2, 3x3) (a WinogradConv stage). The weights are
/// transformed on the host and stored as `lowering` says.
mlir::LogicalResult lowerWinogradConv(mlir::Operation *op, LoweringState &state, const LayerLowering &lowering,
                                      std::string &error);

/// Schedule.cpp: the knobs a conv stage applies: (c, x, y, n) = `extents`, reduction (ci, kx, ky)
/// = `reduction`, `winograd`: whether Winograd can compute it.
HalideStageSchedule effectiveConv(const std::vector<int64_t> &extents, const std::vector<int64_t> &reduction,
                                  bool winograd, const HalideStageSchedule &requested);
/// Schedule.cpp: the knobs a dense stage applies: (m, n) = `extents`, reduction over `K`.
HalideStageSchedule effectiveDense(const std::vector<int64_t> &extents, int64_t K, const HalideStageSchedule &requested);

/// Linear.cpp: what a convolution with these attributes reads of `input` (the tensor of `value`;
/// output shape `outShape`, kernel KH x KW): the input itself, or a root copy that is zero outside
/// the input, indexed in unpadded coordinates and shared by every convolution reading `value`.
Halide::Func convInput(LoweringState &state, mlir::Value value, const TensorRef &input,
                       mlir::ArrayRef<int64_t> pad, mlir::ArrayRef<int64_t> strides, mlir::ArrayRef<int64_t> dil,
                       int64_t KH, int64_t KW, const std::vector<int64_t> &outShape);

/// Pooling.cpp: the window of the pool output cell at storage Vars `v` (c, ox, oy, n).
struct PoolWindow {
  Halide::RDom r;      ///< (kx, ky), kx innermost: row-major window order
  Halide::Expr ix, iy; ///< input coordinates of the window cell (may be outside the input)
  Halide::Expr inside; ///< whether (ix, iy) is inside the input
  Halide::Expr value;  ///< input at the clamped position
};
PoolWindow poolWindow(const TensorRef &input, mlir::ArrayRef<int64_t> kernel, mlir::ArrayRef<int64_t> strides,
                      mlir::ArrayRef<int64_t> pad, bool ceilMode, const std::vector<Halide::Var> &v);
/// What max_pool2d maximises over a window: the input, lowest() at padded cells (which never win).
Halide::Expr maxCandidate(const PoolWindow &w);
/// Pooling.cpp: the avg_pool2d divisor of the output cell whose window starts at input row `top`
/// and column `left` (PyTorch's rule for count_include_pad and ceil_mode).
Halide::Expr avgPoolDivisor(Halide::Expr top, Halide::Expr left, mlir::ArrayRef<int64_t> kernel,
                            mlir::ArrayRef<int64_t> pad, int64_t height, int64_t width, bool countIncludePad,
                            bool ceilMode);

/// UnaryFunctions.cpp: tanh as a rational function (vectorizes; Halide::tanh calls libm per element).
Halide::Expr rationalTanh(Halide::Expr x);
/// UnaryFunctions.cpp: 1 / (1 + exp(-x)).
Halide::Expr sigmoid(Halide::Expr x);
/// UnaryFunctions.cpp: base ^ exponent as std::pow (negative bases with integer exponents too).
Halide::Expr power(Halide::Expr base, Halide::Expr exponent);
/// UnaryFunctions.cpp: base ^ exponent for a constant exponent: products for integers, sqrt for
/// +-1/2, else power() above.
Halide::Expr power(Halide::Expr base, float exponent);
/// UnaryFunctions.cpp: nn.unary's function `fn` of x (kiln::nn::unaryFunctions()), or with
/// `derivative` its derivative with respect to x; fails with `error` set for an unknown name.
mlir::FailureOr<Halide::Expr> unaryFunction(llvm::StringRef fn, Halide::Expr x, float alpha, float beta,
                                            bool derivative, std::string &error);

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
/// nn.unary: the 23 functions of UnaryFunctions.cpp.
mlir::LogicalResult lowerUnary(mlir::Operation *op, LoweringState &state, std::string &error);
/// add, sub, mul, div, max, min, pow, prelu (numpy broadcasting).
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
mlir::LogicalResult lowerResizeGrad(mlir::Operation *op, LoweringState &state, std::string &error);
mlir::LogicalResult lowerTranspose(mlir::Operation *op, LoweringState &state, std::string &error);
/// slice with any starts and steps (negative steps walk backwards).
mlir::LogicalResult lowerSlice(mlir::Operation *op, LoweringState &state, std::string &error);
mlir::LogicalResult lowerBroadcast(mlir::Operation *op, LoweringState &state, std::string &error);
/// Reductions.cpp: every kind of nn.reduce.
mlir::LogicalResult lowerReduce(mlir::Operation *op, LoweringState &state, std::string &error);
/// MatMul.cpp: batched, with broadcast batch dimensions; a Dense stage.
mlir::LogicalResult lowerMatMul(mlir::Operation *op, LoweringState &state, std::string &error);

// Training ops.
mlir::LogicalResult lowerConv2DGradFilter(mlir::Operation *op, LoweringState &state, std::string &error);
mlir::LogicalResult lowerDenseGradInput(mlir::Operation *op, LoweringState &state, std::string &error);
mlir::LogicalResult lowerDenseGradWeight(mlir::Operation *op, LoweringState &state, std::string &error);
mlir::LogicalResult lowerBiasGrad(mlir::Operation *op, LoweringState &state, std::string &error);
mlir::LogicalResult lowerMaxPool2DGrad(mlir::Operation *op, LoweringState &state, std::string &error);
mlir::LogicalResult lowerAvgPool2DGrad(mlir::Operation *op, LoweringState &state, std::string &error);
mlir::LogicalResult lowerGlobalAvgPoolGrad(mlir::Operation *op, LoweringState &state, std::string &error);
mlir::LogicalResult lowerSoftmaxCrossEntropy(mlir::Operation *op, LoweringState &state, std::string &error);
mlir::LogicalResult lowerSoftmaxCrossEntropyGrad(mlir::Operation *op, LoweringState &state, std::string &error);
mlir::LogicalResult lowerMseLoss(mlir::Operation *op, LoweringState &state, std::string &error);
mlir::LogicalResult lowerMseLossGrad(mlir::Operation *op, LoweringState &state, std::string &error);
mlir::LogicalResult lowerActivationGrad(mlir::Operation *op, LoweringState &state, std::string &error);
mlir::LogicalResult lowerDropoutTrain(mlir::Operation *op, LoweringState &state, std::string &error);
mlir::LogicalResult lowerBatchNormTrain(mlir::Operation *op, LoweringState &state, std::string &error);
mlir::LogicalResult lowerBatchNormGradInput(mlir::Operation *op, LoweringState &state, std::string &error);
mlir::LogicalResult lowerBatchNormGradScale(mlir::Operation *op, LoweringState &state, std::string &error);
mlir::LogicalResult lowerRunningStatUpdate(mlir::Operation *op, LoweringState &state, std::string &error);
mlir::LogicalResult lowerSliceGrad(mlir::Operation *op, LoweringState &state, std::string &error);
mlir::LogicalResult lowerUnaryGrad(mlir::Operation *op, LoweringState &state, std::string &error);
mlir::LogicalResult lowerReduceGrad(mlir::Operation *op, LoweringState &state, std::string &error);
mlir::LogicalResult lowerOptimizerUpdate(mlir::Operation *op, LoweringState &state, std::string &error);

/// LayerSignature.cpp: `op` as a signature part: its name without "nn.", its operand shapes and its
/// attributes, e.g. "conv2d(1x3x32x32,16x3x3x3,16) dilations=1x1 groups=1 padding=1x1x1x1 strides=1x1".
std::string opSignature(mlir::Operation *op);
/// LayerSignature.cpp: the layer name (NameLoc) of `op`, else its op name.
std::string layerName(mlir::Operation *op);

/// Schedule.cpp: the conv and dense stages of `stages` (those with a signature), in order, each
/// with the knobs it gets: its tuned ones from `options`, else those of `options`.
std::vector<HalideLayer> describeLayers(const std::vector<Stage> &stages, const HalideScheduleOptions &options);

/// Applies the CPU schedule to every stage (Schedule.cpp): the knobs of `layers` (describeLayers)
/// to the conv and dense stages, those of `options` to the rest.
void scheduleStages(std::vector<Stage> &stages, const std::vector<HalideLayer> &layers,
                    const HalideScheduleOptions &options);

/// Autoschedule.cpp: schedules all of `pipeline` with Halide's autoscheduler `name` (one of
/// halideAutoschedulers()) for `threads` cores (0: this machine's). Throws Halide::Error.
void applyAutoscheduler(Halide::Pipeline &pipeline, const std::string &name, int threads);

} // namespace kiln::halide

#endif
