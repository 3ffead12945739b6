// The reference kernels, one plain function per nn op on HostTensors (no MLIR types). Callers
// pass operands of verified shapes (Interpreter.cpp checks them); each kernel computes its output
// shape with the dialect's shape rules and accumulates in double.
#ifndef KILN_REFERENCE_KERNELS_H
#define KILN_REFERENCE_KERNELS_H

#include "kiln/Dialect/NN/HostTensor.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <functional>

namespace kiln::reference {

// Window attributes are as in the nn ops: pairs are [h, w], padding is [top, left, bottom, right].

// Convolution.cpp
HostTensor conv2d(const HostTensor &input, const HostTensor &filter, const HostTensor *bias,
                  llvm::ArrayRef<int64_t> strides, llvm::ArrayRef<int64_t> padding,
                  llvm::ArrayRef<int64_t> dilations, int64_t groups);
/// filter [C, F/groups, KH, KW]; every input cell scatters into the output.
HostTensor convTranspose2d(const HostTensor &input, const HostTensor &filter, const HostTensor *bias,
                           llvm::ArrayRef<int64_t> strides, llvm::ArrayRef<int64_t> padding,
                           llvm::ArrayRef<int64_t> outputPadding, llvm::ArrayRef<int64_t> dilations, int64_t groups);
HostTensor dense(const HostTensor &input, const HostTensor &weight, const HostTensor *bias);

// Pooling.cpp
HostTensor maxPool2d(const HostTensor &input, llvm::ArrayRef<int64_t> kernel, llvm::ArrayRef<int64_t> strides,
                     llvm::ArrayRef<int64_t> padding, bool ceilMode = false);
HostTensor avgPool2d(const HostTensor &input, llvm::ArrayRef<int64_t> kernel, llvm::ArrayRef<int64_t> strides,
                     llvm::ArrayRef<int64_t> padding, bool countIncludePad, bool ceilMode = false);
HostTensor globalAvgPool(const HostTensor &input);
HostTensor globalMaxPool(const HostTensor &input);

// Normalization.cpp
HostTensor batchNorm(const HostTensor &input, const HostTensor &scale, const HostTensor &shift,
                     const HostTensor &mean, const HostTensor &variance, double epsilon);
HostTensor softmax(const HostTensor &input, int64_t axis);
HostTensor logSoftmax(const HostTensor &input, int64_t axis);
/// ONNX LRN: channels [c - floor((size-1)/2), c + ceil((size-1)/2)].
HostTensor lrn(const HostTensor &input, int64_t size, double alpha, double beta, double bias);

// Elementwise.cpp
HostTensor map(const HostTensor &input, const std::function<double(double)> &f);
double relu(double x);
double sigmoid(double x);
double leakyRelu(double x, double alpha);
double clip(double x, double lo, double hi);
double hardSigmoid(double x, double alpha, double beta);
double hardSwish(double x);
/// nn.unary's function `fn` (kiln::nn::unaryFunctions()) at x, and its derivative.
double unaryFunction(llvm::StringRef fn, double x, double alpha, double beta);
double unaryDerivative(llvm::StringRef fn, double x, double alpha, double beta);
/// f(lhs, rhs) with numpy broadcasting (nn::inferBroadcastShape).
HostTensor broadcast(const HostTensor &lhs, const HostTensor &rhs, const std::function<double(double, double)> &f);
HostTensor add(const HostTensor &lhs, const HostTensor &rhs);
/// Sum of same-shape inputs, divided by their count when `mean`.
HostTensor sumOf(llvm::ArrayRef<const HostTensor *> inputs, bool mean);

// Reductions.cpp
/// nn.reduce of `kind` over `axes`, the reduced dimensions kept as size 1.
HostTensor reduce(const HostTensor &input, llvm::StringRef kind, llvm::ArrayRef<int64_t> axes);

// MatMul.cpp
/// [..., M, K] x [..., K, N] with the leading dimensions broadcast.
HostTensor matmul(const HostTensor &lhs, const HostTensor &rhs);

// DataMovement.cpp
HostTensor flatten(const HostTensor &input);
HostTensor concat(llvm::ArrayRef<const HostTensor *> inputs, int64_t axis);
HostTensor reshape(const HostTensor &input, llvm::ArrayRef<int64_t> shape);
/// pads = [begin..., end...]; new cells hold `value`.
HostTensor pad(const HostTensor &input, llvm::ArrayRef<int64_t> pads, float value);
/// Result dimension i is input dimension perm[i].
HostTensor transpose(const HostTensor &input, llvm::ArrayRef<int64_t> perm);
/// output[i] = input[starts + i * steps] per dimension; `shape` is the output's.
HostTensor slice(const HostTensor &input, llvm::ArrayRef<int64_t> starts, llvm::ArrayRef<int64_t> steps,
                 llvm::ArrayRef<int64_t> shape);
/// `input` repeated along its size-1 (and missing leading) dimensions to `shape`.
HostTensor broadcastTo(const HostTensor &input, llvm::ArrayRef<int64_t> shape);
/// The attributes of nn.resize (NNOps.td); `scales` empty when the op has none.
struct ResizeAttributes {
  llvm::StringRef mode, coordinateMode, nearestMode;
  llvm::ArrayRef<int64_t> size;
  std::vector<float> scales;
  double cubicCoeffA = -0.75;
  bool excludeOutside = false;
};
HostTensor resize(const HostTensor &input, const ResizeAttributes &attrs);

} // namespace kiln::reference

#endif
