// Internal to convert-nn-to-linalg: the pattern sets of each op category (Linear.cpp, Pooling.cpp,
// Elementwise.cpp, DataMovement.cpp, Reductions.cpp; for training LinearGrad.cpp, PoolingGrad.cpp, Losses.cpp,
// TrainingForms.cpp, Optimizers.cpp) and the small IR builders they share (ConvertNNToLinalg.cpp,
// Reductions.cpp, and the pooling windows of Pooling.cpp).
// Every builder works on static f32 tensors; results stay in the nn value's layout (NCHW for
// images) unless a pattern says otherwise.
#ifndef KILN_LINALG_POPULATEPATTERNS_H
#define KILN_LINALG_POPULATEPATTERNS_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/DialectConversion.h"

#include <functional>

namespace kiln::linalg_backend {

void populateLinearPatterns(mlir::RewritePatternSet &patterns);
void populatePoolingPatterns(mlir::RewritePatternSet &patterns);
void populateElementwisePatterns(mlir::RewritePatternSet &patterns);
void populateDataMovementPatterns(mlir::RewritePatternSet &patterns);
void populateReductionPatterns(mlir::RewritePatternSet &patterns);
void populateLinearGradPatterns(mlir::RewritePatternSet &patterns);
void populatePoolingGradPatterns(mlir::RewritePatternSet &patterns);
void populateLossPatterns(mlir::RewritePatternSet &patterns);
void populateTrainingFormPatterns(mlir::RewritePatternSet &patterns);
void populateOptimizerPatterns(mlir::RewritePatternSet &patterns);

/// An f32 scalar constant.
mlir::Value f32Constant(mlir::OpBuilder &b, mlir::Location loc, float value);
/// tensor.empty of `type`.
mlir::Value emptyTensor(mlir::OpBuilder &b, mlir::Location loc, mlir::RankedTensorType type);
/// `type` filled with `value` (linalg.fill of a tensor.empty).
mlir::Value filledTensor(mlir::OpBuilder &b, mlir::Location loc, mlir::RankedTensorType type, float value);
/// The dense data of `value` when it is an arith.constant with DenseElementsAttr, else null.
mlir::DenseElementsAttr denseConstant(mlir::Value value);
/// `value` with its dimensions permuted (result dim i = input dim perm[i]). A dense constant is
/// permuted at compile time; anything else becomes a linalg.transpose.
mlir::Value transposed(mlir::OpBuilder &b, mlir::Location loc, mlir::Value value, llvm::ArrayRef<int64_t> perm);
/// A tensor of `resultType` whose element at index i is `value`'s element at sourceOf(i) (any
/// affine re-indexing: permutes, flips, regroups). A dense constant is gathered at compile time;
/// anything else becomes a linalg.generic reading through `sourceOf`.
mlir::Value gathered(mlir::OpBuilder &b, mlir::Location loc, mlir::Value value, mlir::RankedTensorType resultType,
                     mlir::AffineMap sourceOf);
/// tensor.pad of `value` by `low`/`high` per dimension with `padValue`; `value` itself when all
/// pads are zero.
mlir::Value padded(mlir::OpBuilder &b, mlir::Location loc, mlir::Value value, llvm::ArrayRef<int64_t> low,
                   llvm::ArrayRef<int64_t> high, float padValue);
/// A tensor of `type` with element [..., i_dim, ...] = vector[i_dim] (a 1-D value broadcast along
/// dimension `dim`): the init of a conv or dense with bias.
mlir::Value broadcastAlong(mlir::OpBuilder &b, mlir::Location loc, mlir::Value vector, mlir::RankedTensorType type,
                           int64_t dim);

/// The map reading an `operand` broadcast numpy-style to `result` (aligned at the last dimension):
/// the result's dimension where the extents agree, 0 where the operand has extent 1 and the result not.
mlir::AffineMap broadcastMap(mlir::RankedTensorType operand, mlir::RankedTensorType result);

/// The body of an elementwise linalg.generic: block arguments (inputs..., output) -> result.
using ScalarFn = std::function<mlir::Value(mlir::OpBuilder &, mlir::Location, mlir::ValueRange)>;
/// linalg.generic over `type` (all loops parallel, identity output map) reading `inputs` through
/// `inputMaps`.
mlir::Value mapped(mlir::OpBuilder &b, mlir::Location loc, mlir::RankedTensorType type, mlir::ValueRange inputs,
                   llvm::ArrayRef<mlir::AffineMap> inputMaps, const ScalarFn &body);
/// linalg.generic over `type` (all loops parallel): identity maps for `inputs` of rank == rank of
/// `type`, and for a 1-D input a broadcast along `channelDim` (the channel of [N, C, ...]).
mlir::Value elementwise(mlir::OpBuilder &b, mlir::Location loc, mlir::RankedTensorType type, mlir::ValueRange inputs,
                        const ScalarFn &body, int64_t channelDim = 1);
/// The scalar element `index` of a rank-1 tensor (a hyper-parameter such as the learning rate).
mlir::Value scalarAt(mlir::OpBuilder &b, mlir::Location loc, mlir::Value vector, int64_t index);
/// `value` (a reduction's result, the kept dimensions only) reshaped to `type`, the same
/// dimensions with the reduced ones back as extent 1.
mlir::Value withReducedDims(mlir::OpBuilder &b, mlir::Location loc, mlir::Value value, mlir::RankedTensorType type);

/// f32 arithmetic in a generic's body, so that formulas read as formulas (s.mul(x, s.c(0.5))).
/// Comparisons are ordered (false when either side is NaN).
struct ScalarBuilder {
  mlir::OpBuilder &b;
  mlir::Location l;

  mlir::Value c(double value) const;
  mlir::Value add(mlir::Value x, mlir::Value y) const;
  mlir::Value sub(mlir::Value x, mlir::Value y) const;
  mlir::Value mul(mlir::Value x, mlir::Value y) const;
  mlir::Value div(mlir::Value x, mlir::Value y) const;
  mlir::Value gt(mlir::Value x, mlir::Value y) const;
  mlir::Value lt(mlir::Value x, mlir::Value y) const;
  mlir::Value eq(mlir::Value x, mlir::Value y) const;
  mlir::Value select(mlir::Value condition, mlir::Value x, mlir::Value y) const;
  mlir::Value abs(mlir::Value x) const;
  mlir::Value exp(mlir::Value x) const;
  mlir::Value log(mlir::Value x) const;
  mlir::Value sqrt(mlir::Value x) const;
  mlir::Value tanh(mlir::Value x) const;
  mlir::Value erf(mlir::Value x) const;
  mlir::Value pow(mlir::Value x, mlir::Value y) const;
  /// exp(x) - 1 and log(1 + x) without the cancellation near x = 0 (Kahan's forms: the error of
  /// exp or log is divided out), as the reference's std::expm1 / std::log1p.
  mlir::Value expm1(mlir::Value x) const;
  mlir::Value log1p(mlir::Value x) const;
};

// Elementwise.cpp
/// 1 / (1 + exp(-x)).
mlir::Value sigmoid(const ScalarBuilder &s, mlir::Value x);
/// nn.unary's function `fn` of x and its derivative, formulas as compiler/reference/Elementwise.cpp;
/// null for an unknown `fn`.
mlir::Value unaryFunction(const ScalarBuilder &s, llvm::StringRef fn, mlir::Value x, float alpha, float beta);
mlir::Value unaryDerivative(const ScalarBuilder &s, llvm::StringRef fn, mlir::Value x, float alpha, float beta);

// Reductions.cpp
/// The term of a plain sum or max: the first block argument.
mlir::Value firstInput(mlir::OpBuilder &b, mlir::Location loc, mlir::ValueRange args);
/// How reduce() combines the terms, starting from the combiner's identity (0, -inf, +inf, 1).
enum class Combiner { Add, Max, Min, Mul };
/// One linalg.generic combining term(inputs) over every dimension of `shape` except `kept` (in
/// increasing order; the result's dimensions, a 0-d tensor when empty). Each input has the rank of
/// `shape` (read with broadcastMap: the identity, or extent-1 dimensions repeated, e.g. a reduction's
/// result with its dimensions kept) or kept.size() (indexed by the kept dimensions). `term`
/// receives the block arguments (inputs..., accumulator) and may read linalg.index.
mlir::Value reduce(mlir::OpBuilder &b, mlir::Location loc, llvm::ArrayRef<int64_t> shape, llvm::ArrayRef<int64_t> kept,
                   mlir::ValueRange inputs, const ScalarFn &term, Combiner combiner);
/// The per-channel (dimension 1) batch mean and biased variance of `x` [N, C, ...], each [C]: two
/// passes (mean, then squared deviations from it), as the reference and the Halide backend.
struct ChannelStatistics {
  mlir::Value mean, variance;
};
ChannelStatistics channelStatistics(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x);
/// Along dimension `axis` of `x`: the max and the sum of exp(x - max), each shaped like `x`
/// without `axis` (softmax, log_softmax and the cross-entropy loss).
struct SoftmaxStatistics {
  mlir::Value max, sumExp;
};
SoftmaxStatistics softmaxStatistics(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x, int64_t axis);
/// The number of elements per channel of a [N, C, ...] shape, as a float.
float perChannelCount(llvm::ArrayRef<int64_t> shape);

// Pooling.cpp
/// `input` padded by `padding` [top, left, bottom, right] with `value`, plus at the bottom/right
/// the cells that ceil_mode windows of an [.., OH, OW] result reach past it.
mlir::Value paddedForWindows(mlir::OpBuilder &b, mlir::Location loc, mlir::Value input,
                             mlir::RankedTensorType outType, llvm::ArrayRef<int64_t> kernel,
                             llvm::ArrayRef<int64_t> strides, llvm::ArrayRef<int64_t> padding, float value);
/// max_pool2d of `input` [N, C, H, W] into `outType` (padded cells never win).
mlir::Value maxPooled(mlir::OpBuilder &b, mlir::Location loc, mlir::Value input, mlir::RankedTensorType outType,
                      llvm::ArrayRef<int64_t> kernel, llvm::ArrayRef<int64_t> strides,
                      llvm::ArrayRef<int64_t> padding);
/// `windows` [N, C, OH, OW] divided per cell by avg_pool2d's divisor over an H x W input (the
/// window's cells inside the input, or inside input + padding with count_include_pad).
mlir::Value dividedByWindowCounts(mlir::OpBuilder &b, mlir::Location loc, mlir::Value windows, int64_t H, int64_t W,
                                  llvm::ArrayRef<int64_t> kernel, llvm::ArrayRef<int64_t> strides,
                                  llvm::ArrayRef<int64_t> padding, bool countIncludePad);

} // namespace kiln::linalg_backend

#endif
