// Shape rules of the nn ops as plain functions: used by the ops' type inference and by the
// frontends, so both report the same rule. On failure they return failure and set `why` to a
// sentence that says what was expected.
#ifndef KILN_DIALECT_NN_SHAPERULES_H
#define KILN_DIALECT_NN_SHAPERULES_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "mlir/Support/LLVM.h"

#include <optional>
#include <string>
#include <utility>

namespace kiln::nn {

using Shape = llvm::SmallVector<int64_t, 4>;

/// "1x6x28x28".
std::string formatShape(llvm::ArrayRef<int64_t> shape);

/// floor((in + padLo + padHi - dilation * (kernel - 1) - 1) / stride) + 1.
int64_t windowOutputSize(int64_t in, int64_t kernel, int64_t stride, int64_t padLo, int64_t padHi,
                         int64_t dilation);

/// Output size of a pooling window: windowOutputSize with dilation 1, or with `ceilMode` rounded up
/// and then reduced by one if the last window would start past the input and its low padding
/// (the ONNX / PyTorch rule).
int64_t poolOutputSize(int64_t in, int64_t kernel, int64_t stride, int64_t padLo, int64_t padHi, bool ceilMode);

/// Padding (low, high) that makes the output ceil(in / stride) long, the extra cell at the
/// high end (TensorFlow's and ONNX's SAME_UPPER).
std::pair<int64_t, int64_t> samePadding(int64_t in, int64_t kernel, int64_t stride, int64_t dilation);

/// Checks a rank-2 window attribute triple (kernel/strides/dilations) and a 4-entry padding.
mlir::LogicalResult checkWindowAttrs(llvm::ArrayRef<int64_t> kernel, llvm::ArrayRef<int64_t> strides,
                                     llvm::ArrayRef<int64_t> padding, llvm::ArrayRef<int64_t> dilations,
                                     std::string &why);

mlir::FailureOr<Shape> inferConv2DShape(llvm::ArrayRef<int64_t> input, llvm::ArrayRef<int64_t> filter,
                                        std::optional<llvm::ArrayRef<int64_t>> bias,
                                        llvm::ArrayRef<int64_t> strides, llvm::ArrayRef<int64_t> padding,
                                        llvm::ArrayRef<int64_t> dilations, int64_t groups, std::string &why);

mlir::FailureOr<Shape> inferPool2DShape(llvm::ArrayRef<int64_t> input, llvm::ArrayRef<int64_t> kernel,
                                        llvm::ArrayRef<int64_t> strides, llvm::ArrayRef<int64_t> padding,
                                        std::string &why, bool ceilMode = false);

/// conv_transpose2d: filter [C, F/groups, KH, KW]; output_padding [h, w] < stride or dilation.
mlir::FailureOr<Shape> inferConvTranspose2DShape(llvm::ArrayRef<int64_t> input, llvm::ArrayRef<int64_t> filter,
                                                 std::optional<llvm::ArrayRef<int64_t>> bias,
                                                 llvm::ArrayRef<int64_t> strides, llvm::ArrayRef<int64_t> padding,
                                                 llvm::ArrayRef<int64_t> outputPadding,
                                                 llvm::ArrayRef<int64_t> dilations, int64_t groups, std::string &why);

/// resize: mode `nearest` or `bilinear`, size the output [OH, OW].
mlir::FailureOr<Shape> inferResizeShape(llvm::ArrayRef<int64_t> input, llvm::StringRef mode,
                                        llvm::ArrayRef<int64_t> size, std::string &why);

/// lrn: a 4-D input and a positive odd or even window size.
mlir::FailureOr<Shape> inferLRNShape(llvm::ArrayRef<int64_t> input, int64_t size, std::string &why);

/// pad: pads = [begin..., end...], 2 * rank non-negative entries.
mlir::FailureOr<Shape> inferPadShape(llvm::ArrayRef<int64_t> input, llvm::ArrayRef<int64_t> pads, std::string &why);

/// reshape: a static target shape with the input's element count.
mlir::FailureOr<Shape> inferReshapeShape(llvm::ArrayRef<int64_t> input, llvm::ArrayRef<int64_t> shape,
                                         std::string &why);

/// Numpy broadcasting of two shapes (aligned at the last dimension; equal or 1).
mlir::FailureOr<Shape> inferBroadcastShape(llvm::ArrayRef<int64_t> lhs, llvm::ArrayRef<int64_t> rhs,
                                           std::string &why);

/// One or more inputs, all of one shape (sum, mean).
mlir::FailureOr<Shape> inferAllSameShape(llvm::ArrayRef<llvm::ArrayRef<int64_t>> inputs, std::string &why);

mlir::FailureOr<Shape> inferGlobalPoolShape(llvm::ArrayRef<int64_t> input, std::string &why);

mlir::FailureOr<Shape> inferBatchNormShape(llvm::ArrayRef<int64_t> input,
                                           llvm::ArrayRef<llvm::ArrayRef<int64_t>> perChannel,
                                           std::string &why);

mlir::FailureOr<Shape> inferDenseShape(llvm::ArrayRef<int64_t> input, llvm::ArrayRef<int64_t> weight,
                                       std::optional<llvm::ArrayRef<int64_t>> bias, std::string &why);

mlir::FailureOr<Shape> inferFlattenShape(llvm::ArrayRef<int64_t> input, std::string &why);

mlir::FailureOr<Shape> inferSoftmaxShape(llvm::ArrayRef<int64_t> input, int64_t axis, std::string &why);

mlir::FailureOr<Shape> inferSameShape(llvm::ArrayRef<int64_t> lhs, llvm::ArrayRef<int64_t> rhs,
                                      std::string &why);

mlir::FailureOr<Shape> inferConcatShape(llvm::ArrayRef<llvm::ArrayRef<int64_t>> inputs, int64_t axis,
                                        std::string &why);

/// transpose: `perm` a permutation of [0, rank); result dimension i is input dimension perm[i].
mlir::FailureOr<Shape> inferTransposeShape(llvm::ArrayRef<int64_t> input, llvm::ArrayRef<int64_t> perm,
                                           std::string &why);

/// The `fn` names nn.unary (and nn.unary_grad) accept, and the `kind` names of nn.reduce.
llvm::ArrayRef<llvm::StringRef> unaryFunctions();
llvm::ArrayRef<llvm::StringRef> reduceKinds();

/// reduce: a known kind, `axes` distinct, increasing and in [0, rank) (one axis for arg_max /
/// arg_min); the input's shape with every reduced dimension 1.
mlir::FailureOr<Shape> inferReduceShape(llvm::ArrayRef<int64_t> input, llvm::StringRef kind,
                                        llvm::ArrayRef<int64_t> axes, std::string &why);

/// matmul: [..., M, K] x [..., K, N] -> [broadcast(...), M, N].
mlir::FailureOr<Shape> inferMatMulShape(llvm::ArrayRef<int64_t> lhs, llvm::ArrayRef<int64_t> rhs, std::string &why);

/// slice: one start and one non-zero step per dimension, every index read inside the input.
mlir::LogicalResult checkSlice(llvm::ArrayRef<int64_t> input, llvm::ArrayRef<int64_t> starts,
                               llvm::ArrayRef<int64_t> steps, llvm::ArrayRef<int64_t> output, std::string &why);

/// broadcast: `input` broadcasts to `output` (numpy rule, at most output's rank).
mlir::LogicalResult checkBroadcastTo(llvm::ArrayRef<int64_t> input, llvm::ArrayRef<int64_t> output,
                                     std::string &why);

/// A shape every op accepts: all dimensions static and positive.
mlir::LogicalResult checkStaticShape(llvm::ArrayRef<int64_t> shape, std::string &why);

} // namespace kiln::nn

#endif
