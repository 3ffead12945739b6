// The reference kernels of the nn training ops (NNTrainingOps.td): backward rules, losses,
// training-mode forms and optimizer updates, on HostTensors like those of Kernels.h. Callers pass
// operands of verified shapes; where the op's operands do not determine the result shape (a
// filter's window, a pool's input), the caller passes it from the op's result type.
#ifndef KILN_REFERENCE_TRAININGKERNELS_H
#define KILN_REFERENCE_TRAININGKERNELS_H

#include "compiler/reference/Kernels.h"
#include "kiln/Dialect/NN/HostTensor.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

namespace kiln::reference {

// Window attributes are as in the nn ops: pairs are [h, w], padding is [top, left, bottom, right].

// ConvolutionGrad.cpp
/// The conv2d filter gradient [F, C/groups, window[0], window[1]] of input [N, C, H, W] and
/// grad_output [N, F, OH, OW].
HostTensor conv2dGradFilter(const HostTensor &input, const HostTensor &gradOutput, llvm::ArrayRef<int64_t> window,
                            llvm::ArrayRef<int64_t> strides, llvm::ArrayRef<int64_t> padding,
                            llvm::ArrayRef<int64_t> dilations, int64_t groups);
/// grad_output [N, M] x weight [M, K] -> [N, K].
HostTensor denseGradInput(const HostTensor &gradOutput, const HostTensor &weight);
/// grad_output [N, M]^T x input [N, K] -> [M, K].
HostTensor denseGradWeight(const HostTensor &input, const HostTensor &gradOutput);
/// Sum over every dimension but 1: [N, C, ...] -> [C].
HostTensor biasGrad(const HostTensor &gradOutput);

// PoolingGrad.cpp (ceil_mode only decides how many windows there are, which grad_output's shape
// says; `inputShape` is the pool's input shape [N, C, H, W])
HostTensor maxPool2dGrad(const HostTensor &input, const HostTensor &gradOutput, llvm::ArrayRef<int64_t> kernel,
                         llvm::ArrayRef<int64_t> strides, llvm::ArrayRef<int64_t> padding);
HostTensor avgPool2dGrad(const HostTensor &gradOutput, llvm::ArrayRef<int64_t> inputShape,
                         llvm::ArrayRef<int64_t> kernel, llvm::ArrayRef<int64_t> strides,
                         llvm::ArrayRef<int64_t> padding, bool countIncludePad);
HostTensor globalAvgPoolGrad(const HostTensor &gradOutput, llvm::ArrayRef<int64_t> inputShape);

// Losses.cpp (labels hold class indices as floats, each in [0, K))
/// Mean over n of logsumexp(logits[n, :]) - logits[n, labels[n]], as a [1] tensor.
HostTensor softmaxCrossEntropy(const HostTensor &logits, const HostTensor &labels);
/// (softmax(logits) - onehot(labels)) / N.
HostTensor softmaxCrossEntropyGrad(const HostTensor &logits, const HostTensor &labels);
/// Mean of (prediction - target)^2, as a [1] tensor.
HostTensor mseLoss(const HostTensor &prediction, const HostTensor &target);
/// 2 * (prediction - target) / (number of elements).
HostTensor mseLossGrad(const HostTensor &prediction, const HostTensor &target);

// TrainingForms.cpp
/// dL/dx of `activation` (relu, leaky_relu, tanh or sigmoid) from its output y and dL/dy.
HostTensor activationGrad(const HostTensor &output, const HostTensor &gradOutput, llvm::StringRef activation,
                          double alpha);
/// Keeps element i when dropoutKeeps(uint32(hyper[1]), seed, i, rate), scaled by 1 / (1 - rate).
HostTensor dropoutTrain(const HostTensor &input, const HostTensor &hyper, float rate, int64_t seed);
/// Batch normalization with the batch's statistics over every dimension but 1 (biased variance).
HostTensor batchNormTrain(const HostTensor &input, const HostTensor &scale, const HostTensor &shift, double epsilon);
HostTensor batchNormGradInput(const HostTensor &input, const HostTensor &scale, const HostTensor &gradOutput,
                              double epsilon);
HostTensor batchNormGradScale(const HostTensor &input, const HostTensor &gradOutput, double epsilon);
/// (1 - momentum) * running + momentum * the batch's per-channel mean ("mean") or unbiased
/// variance ("var").
HostTensor runningStatUpdate(const HostTensor &running, const HostTensor &input, double momentum,
                             llvm::StringRef statistic);
/// The `size` entries of `input` from `start` along `axis`.
/// nn.slice_grad: zeros of `inputShape` with grad_output[i] at starts + i * steps.
HostTensor sliceGrad(const HostTensor &gradOutput, llvm::ArrayRef<int64_t> starts, llvm::ArrayRef<int64_t> steps,
                     llvm::ArrayRef<int64_t> inputShape);
/// nn.resize_grad (DataMovement.cpp): every output cell's gradient added to the input cells it read,
/// times their weights; `inputShape` is the resize's input shape.
HostTensor resizeGrad(const HostTensor &gradOutput, const ResizeAttributes &attrs, llvm::ArrayRef<int64_t> inputShape);
/// nn.unary_grad: gradOutput * fn'(input).
HostTensor unaryGrad(const HostTensor &input, const HostTensor &gradOutput, llvm::StringRef fn, double alpha,
                     double beta);
/// nn.reduce_grad (Reductions.cpp): the input's gradient from the reduction's input, output and
/// output gradient.
HostTensor reduceGrad(const HostTensor &input, const HostTensor &output, const HostTensor &gradOutput,
                      llvm::StringRef kind, llvm::ArrayRef<int64_t> axes);

// Optimizers.cpp
/// The attributes of nn.optimizer_update.
struct OptimizerSettings {
  llvm::StringRef optimizer; ///< sgd, momentum, nesterov, rmsprop or adam
  int64_t which = 0;         ///< 0: the new parameter; k > 0: the new state slot k-1
  double momentum = 0.0, weightDecay = 0.0, alpha = 0.99, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8;
};
/// One value after an optimizer step (PyTorch's formulas); hyper = [lr, t], `state` the
/// optimizer's slots before the step.
HostTensor optimizerUpdate(const HostTensor &param, const HostTensor &grad, const HostTensor &hyper,
                           llvm::ArrayRef<const HostTensor *> state, const OptimizerSettings &settings);

} // namespace kiln::reference

#endif
