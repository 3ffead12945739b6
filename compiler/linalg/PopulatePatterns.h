// Internal to convert-nn-to-linalg: the pattern sets of each op category (Linear.cpp, Pooling.cpp,
// Elementwise.cpp, DataMovement.cpp) and the small IR builders they share (ConvertNNToLinalg.cpp).
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

/// The body of an elementwise linalg.generic: block arguments (inputs..., output) -> result.
using ScalarFn = std::function<mlir::Value(mlir::OpBuilder &, mlir::Location, mlir::ValueRange)>;
/// linalg.generic over `type` (all loops parallel): identity maps for `inputs` of rank == rank of
/// `type`, and for a 1-D input a broadcast along `channelDim` (the channel of [N, C, ...]).
mlir::Value elementwise(mlir::OpBuilder &b, mlir::Location loc, mlir::RankedTensorType type, mlir::ValueRange inputs,
                        const ScalarFn &body, int64_t channelDim = 1);

} // namespace kiln::linalg_backend

#endif
