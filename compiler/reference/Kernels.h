// The reference kernels, one plain function per nn op on HostTensors (no MLIR types). Callers
// pass operands of verified shapes (Interpreter.cpp checks them); each kernel computes its output
// shape with the dialect's shape rules and accumulates in double.
#ifndef KILN_REFERENCE_KERNELS_H
#define KILN_REFERENCE_KERNELS_H

#include "kiln/Dialect/NN/HostTensor.h"

#include "llvm/ADT/ArrayRef.h"

#include <functional>

namespace kiln::reference {

// Window attributes are as in the nn ops: pairs are [h, w], padding is [top, left, bottom, right].

// Convolution.cpp
HostTensor conv2d(const HostTensor &input, const HostTensor &filter, const HostTensor *bias,
                  llvm::ArrayRef<int64_t> strides, llvm::ArrayRef<int64_t> padding,
                  llvm::ArrayRef<int64_t> dilations, int64_t groups);
HostTensor dense(const HostTensor &input, const HostTensor &weight, const HostTensor *bias);

// Pooling.cpp
HostTensor maxPool2d(const HostTensor &input, llvm::ArrayRef<int64_t> kernel, llvm::ArrayRef<int64_t> strides,
                     llvm::ArrayRef<int64_t> padding);
HostTensor avgPool2d(const HostTensor &input, llvm::ArrayRef<int64_t> kernel, llvm::ArrayRef<int64_t> strides,
                     llvm::ArrayRef<int64_t> padding, bool countIncludePad);
HostTensor globalAvgPool(const HostTensor &input);

// Normalization.cpp
HostTensor batchNorm(const HostTensor &input, const HostTensor &scale, const HostTensor &shift,
                     const HostTensor &mean, const HostTensor &variance, double epsilon);
HostTensor softmax(const HostTensor &input, int64_t axis);

// Elementwise.cpp
HostTensor map(const HostTensor &input, const std::function<double(double)> &f);
double relu(double x);
double sigmoid(double x);
double leakyRelu(double x, double alpha);
HostTensor add(const HostTensor &lhs, const HostTensor &rhs);

// DataMovement.cpp
HostTensor flatten(const HostTensor &input);
HostTensor concat(llvm::ArrayRef<const HostTensor *> inputs, int64_t axis);

} // namespace kiln::reference

#endif
