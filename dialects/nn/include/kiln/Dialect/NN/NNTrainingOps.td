// Training ops of the nn dialect: backward rules, losses, training-mode forms and optimizer
// updates. The nn-autodiff pass (compiler/passes/Autodiff.cpp) writes them; each has an explicit
// result type, checked by its verifier against the forward shape rule. `hyper` is the step's
// run-time hyperparameters, a tensor<2xf32> holding [learning rate, step number (1-based)].
#ifndef KILN_NN_TRAINING_OPS_TD
#define KILN_NN_TRAINING_OPS_TD

class NN_TrainingOp<string mnemonic, list<Trait> traits = []>
    : NN_Op<mnemonic, !listconcat(traits, [Pure])> {
  let hasVerifier = 1;
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def NN_Conv2DGradFilterOp : NN_TrainingOp<"conv2d_grad_filter"> {
  let summary = "gradient of conv2d with respect to its filter";
  let description = [{
    `input` is the convolution's input [N, C, H, W] and `grad_output` the
    gradient of its output [N, F, OH, OW]; the result is the filter gradient
    [F, C / groups, KH, KW]: sum over n, oh, ow of grad_output[n, f, oh, ow] *
    input[n, g*C/groups + c, oh*sh - top + kh*dh, ow*sw - left + kw*dw]
    (zero outside the input). The attributes are the convolution's. The
    input gradient is an `nn.conv_transpose2d` of grad_output with the same
    filter.

    ```mlir
    %dw = nn.conv2d_grad_filter %x, %dy {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>,
            dilations = array<i64: 1, 1>, groups = 1 : i64}
          : (tensor<4x1x32x32xf32>, tensor<4x6x28x28xf32>) -> tensor<6x1x5x5xf32>
    ```
  }];
  let arguments = (ins NN_Image:$input, NN_Image:$grad_output, DenseI64ArrayAttr:$strides,
                   DenseI64ArrayAttr:$padding, DenseI64ArrayAttr:$dilations, I64Attr:$groups);
  let results = (outs NN_Image:$grad_filter);
}

def NN_DenseGradInputOp : NN_TrainingOp<"dense_grad_input"> {
  let summary = "gradient of dense with respect to its input: grad_output x weight";
  let description = [{
    `grad_output` is [N, M], `weight` [M, K]; the result is [N, K].

    ```mlir
    %dx = nn.dense_grad_input %dy, %w : (tensor<4x10xf32>, tensor<10x84xf32>) -> tensor<4x84xf32>
    ```
  }];
  let arguments = (ins 2DTensorOf<[F32]>:$grad_output, 2DTensorOf<[F32]>:$weight);
  let results = (outs 2DTensorOf<[F32]>:$grad_input);
}

def NN_DenseGradWeightOp : NN_TrainingOp<"dense_grad_weight"> {
  let summary = "gradient of dense with respect to its weight: grad_output^T x input";
  let description = [{
    `input` is [N, K], `grad_output` [N, M]; the result is [M, K].

    ```mlir
    %dw = nn.dense_grad_weight %x, %dy : (tensor<4x84xf32>, tensor<4x10xf32>) -> tensor<10x84xf32>
    ```
  }];
  let arguments = (ins 2DTensorOf<[F32]>:$input, 2DTensorOf<[F32]>:$grad_output);
  let results = (outs 2DTensorOf<[F32]>:$grad_weight);
}

def NN_BiasGradOp : NN_TrainingOp<"bias_grad"> {
  let summary = "sum of a gradient over every dimension but the channel (dimension 1)";
  let description = [{
    The gradient of a per-channel bias or shift: [N, C] or [N, C, H, W] to [C].

    ```mlir
    %db = nn.bias_grad %dy : (tensor<4x6x28x28xf32>) -> tensor<6xf32>
    ```
  }];
  let arguments = (ins NN_Tensor:$grad_output);
  let results = (outs 1DTensorOf<[F32]>:$grad_bias);
}

def NN_MaxPool2DGradOp : NN_TrainingOp<"max_pool2d_grad"> {
  let summary = "gradient of max_pool2d: each window's gradient goes to its maximum";
  let description = [{
    `input` is the pool's input, `grad_output` the gradient of its output;
    attributes are the pool's. Each output cell's gradient is added to the
    first input position (in row-major window order) holding the window's
    maximum, as PyTorch does. The result has the input's shape.

    ```mlir
    %dx = nn.max_pool2d_grad %x, %dy {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>,
            padding = array<i64: 0, 0, 0, 0>}
          : (tensor<1x6x28x28xf32>, tensor<1x6x14x14xf32>) -> tensor<1x6x28x28xf32>
    ```
  }];
  let arguments = (ins NN_Image:$input, NN_Image:$grad_output, DenseI64ArrayAttr:$kernel,
                   DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$padding,
                   DefaultValuedAttr<BoolAttr, "false">:$ceil_mode);
  let results = (outs NN_Image:$grad_input);
}

def NN_AvgPool2DGradOp : NN_TrainingOp<"avg_pool2d_grad"> {
  let summary = "gradient of avg_pool2d: each window's gradient spread over it";
  let description = [{
    Attributes are the pool's; the result type is the pool's input type. Each
    output cell's gradient, divided by that cell's divisor (see avg_pool2d),
    is added to every input position of its window.

    ```mlir
    %dx = nn.avg_pool2d_grad %dy {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>,
            padding = array<i64: 0, 0, 0, 0>, count_include_pad = false}
          : (tensor<1x6x14x14xf32>) -> tensor<1x6x28x28xf32>
    ```
  }];
  let arguments = (ins NN_Image:$grad_output, DenseI64ArrayAttr:$kernel, DenseI64ArrayAttr:$strides,
                   DenseI64ArrayAttr:$padding, BoolAttr:$count_include_pad,
                   DefaultValuedAttr<BoolAttr, "false">:$ceil_mode);
  let results = (outs NN_Image:$grad_input);
}

def NN_ResizeGradOp : NN_TrainingOp<"resize_grad"> {
  let summary = "gradient of nn.resize: each output cell's gradient given back to the cells it read";
  let description = [{
    The attributes are the resize's (its `size` is grad_output's H x W); the
    result type is the resize's input type. Input cell i gets the sum over the
    output cells that read it of their gradient times the weight they read it
    with (nn::resizeTaps, transposed).

    ```mlir
    %dx = nn.resize_grad %dy {mode = "bilinear", coordinate_mode = "half_pixel"}
          : (tensor<1x8x14x14xf32>) -> tensor<1x8x7x7xf32>
    ```
  }];
  let arguments = (ins NN_Image:$grad_output, StrAttr:$mode,
                   DefaultValuedAttr<StrAttr, "\"half_pixel\"">:$coordinate_mode,
                   DefaultValuedAttr<StrAttr, "\"floor\"">:$nearest_mode,
                   DefaultValuedAttr<F32Attr, "-0.75f">:$cubic_coeff_a,
                   DefaultValuedAttr<BoolAttr, "false">:$exclude_outside,
                   OptionalAttr<DenseF32ArrayAttr>:$scales);
  let results = (outs NN_Image:$grad_input);
}

def NN_GlobalAvgPoolGradOp : NN_TrainingOp<"global_avg_pool_grad"> {
  let summary = "gradient of global_avg_pool: grad_output / (H * W) at every position";
  let description = [{
    ```mlir
    %dx = nn.global_avg_pool_grad %dy : (tensor<2x512x1x1xf32>) -> tensor<2x512x7x7xf32>
    ```
  }];
  let arguments = (ins NN_Image:$grad_output);
  let results = (outs NN_Image:$grad_input);
}

def NN_ActivationGradOp : NN_TrainingOp<"activation_grad", [AllTypesMatch<["output", "grad_output", "grad_input"]>]> {
  let summary = "gradient of an activation, from the activation's output";
  let description = [{
    `output` is the activation's result y, `grad_output` dL/dy. `activation` is
    one of relu (dy * (y > 0)), leaky_relu (dy * (y > 0 ? 1 : alpha)),
    tanh (dy * (1 - y*y)), sigmoid (dy * y * (1 - y)).

    ```mlir
    %dx = nn.activation_grad %y, %dy {activation = "tanh"}
          : (tensor<1x6x28x28xf32>, tensor<1x6x28x28xf32>) -> tensor<1x6x28x28xf32>
    ```
  }];
  let arguments = (ins NN_Tensor:$output, NN_Tensor:$grad_output, StrAttr:$activation,
                   DefaultValuedAttr<F32Attr, "0.0f">:$alpha);
  let results = (outs NN_Tensor:$grad_input);
}

def NN_SoftmaxCrossEntropyOp : NN_TrainingOp<"softmax_cross_entropy"> {
  let summary = "mean softmax cross-entropy of logits [N, K] against class indices [N]";
  let description = [{
    loss = mean over n of (logsumexp(logits[n, :]) - logits[n, labels[n]]),
    PyTorch's `cross_entropy`. `labels` holds class indices as floats
    (0 .. K-1); the result is a one-element tensor.

    ```mlir
    %loss = nn.softmax_cross_entropy %z, %labels : (tensor<4x10xf32>, tensor<4xf32>) -> tensor<1xf32>
    ```
  }];
  let arguments = (ins 2DTensorOf<[F32]>:$logits, 1DTensorOf<[F32]>:$labels);
  let results = (outs 1DTensorOf<[F32]>:$loss);
}

def NN_SoftmaxCrossEntropyGradOp : NN_TrainingOp<"softmax_cross_entropy_grad"> {
  let summary = "gradient of softmax_cross_entropy: (softmax(logits) - onehot(labels)) / N";
  let description = [{
    ```mlir
    %dz = nn.softmax_cross_entropy_grad %z, %labels : (tensor<4x10xf32>, tensor<4xf32>) -> tensor<4x10xf32>
    ```
  }];
  let arguments = (ins 2DTensorOf<[F32]>:$logits, 1DTensorOf<[F32]>:$labels);
  let results = (outs 2DTensorOf<[F32]>:$grad_logits);
}

def NN_MseLossOp : NN_TrainingOp<"mse_loss"> {
  let summary = "mean squared error over all elements (PyTorch's MSELoss)";
  let description = [{
    ```mlir
    %loss = nn.mse_loss %y, %t : (tensor<4x30xf32>, tensor<4x30xf32>) -> tensor<1xf32>
    ```
  }];
  let arguments = (ins NN_Tensor:$prediction, NN_Tensor:$target);
  let results = (outs 1DTensorOf<[F32]>:$loss);
}

def NN_MseLossGradOp : NN_TrainingOp<"mse_loss_grad", [AllTypesMatch<["prediction", "target", "grad_prediction"]>]> {
  let summary = "gradient of mse_loss: 2 * (prediction - target) / (number of elements)";
  let description = [{
    ```mlir
    %dy = nn.mse_loss_grad %y, %t : (tensor<4x30xf32>, tensor<4x30xf32>) -> tensor<4x30xf32>
    ```
  }];
  let arguments = (ins NN_Tensor:$prediction, NN_Tensor:$target);
  let results = (outs NN_Tensor:$grad_prediction);
}

def NN_DropoutTrainOp : NN_TrainingOp<"dropout_train", [AllTypesMatch<["input", "output"]>]> {
  let summary = "dropout in training mode with a mask that depends only on (step, seed, index)";
  let description = [{
    output[i] = keep(i) ? input[i] / (1 - rate) : 0, where keep(i) is
    dropoutKeeps(step, seed, i, rate) of kiln/Dialect/NN/DropoutHash.h: a fixed
    32-bit integer hash of the step number (uint32(hyper[1])), the layer's
    `seed` and the flat C-order element index i, compared with rate * 2^32.
    The backward rule is the same op applied to the output gradient (the
    same mask), so no mask is stored.

    ```mlir
    %y = nn.dropout_train %x, %hyper {rate = 5.0e-01 : f32, seed = 3 : i64}
         : (tensor<4x32x48x48xf32>, tensor<2xf32>) -> tensor<4x32x48x48xf32>
    ```
  }];
  let arguments = (ins NN_Tensor:$input, 1DTensorOf<[F32]>:$hyper, F32Attr:$rate, I64Attr:$seed);
  let results = (outs NN_Tensor:$output);
}

def NN_BatchNormTrainOp : NN_TrainingOp<"batch_norm_train"> {
  let summary = "batch normalization with the batch's own statistics (training form)";
  let description = [{
    y = (x - mean_b[c]) / sqrt(var_b[c] + epsilon) * scale[c] + shift[c], where
    mean_b and var_b (biased) are taken over every dimension but 1.

    ```mlir
    %y = nn.batch_norm_train %x, %g, %b {epsilon = 1.0e-05 : f32}
         : (tensor<4x8x5x5xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<4x8x5x5xf32>
    ```
  }];
  let arguments = (ins NN_Tensor:$input, 1DTensorOf<[F32]>:$scale, 1DTensorOf<[F32]>:$shift, F32Attr:$epsilon);
  let results = (outs NN_Tensor:$output);
}

def NN_BatchNormGradInputOp : NN_TrainingOp<"batch_norm_grad_input"> {
  let summary = "gradient of batch_norm_train with respect to its input";
  let description = [{
    With M elements per channel, xhat the normalised input and
    istd = 1 / sqrt(var_b + epsilon):
    dx = scale * istd * (dy - mean(dy) - xhat * mean(dy * xhat)), means per channel.

    ```mlir
    %dx = nn.batch_norm_grad_input %x, %g, %dy {epsilon = 1.0e-05 : f32}
          : (tensor<4x8x5x5xf32>, tensor<8xf32>, tensor<4x8x5x5xf32>) -> tensor<4x8x5x5xf32>
    ```
  }];
  let arguments = (ins NN_Tensor:$input, 1DTensorOf<[F32]>:$scale, NN_Tensor:$grad_output, F32Attr:$epsilon);
  let results = (outs NN_Tensor:$grad_input);
}

def NN_BatchNormGradScaleOp : NN_TrainingOp<"batch_norm_grad_scale"> {
  let summary = "gradient of batch_norm_train with respect to scale: sum(dy * xhat) per channel";
  let description = [{
    (The shift's gradient is `nn.bias_grad` of dy.)

    ```mlir
    %dg = nn.batch_norm_grad_scale %x, %dy {epsilon = 1.0e-05 : f32}
          : (tensor<4x8x5x5xf32>, tensor<4x8x5x5xf32>) -> tensor<8xf32>
    ```
  }];
  let arguments = (ins NN_Tensor:$input, NN_Tensor:$grad_output, F32Attr:$epsilon);
  let results = (outs 1DTensorOf<[F32]>:$grad_scale);
}

def NN_RunningStatUpdateOp : NN_TrainingOp<"running_stat_update"> {
  let summary = "a batch norm's running mean or variance after one training step";
  let description = [{
    new = (1 - momentum) * running + momentum * stat, where stat is the
    batch mean of `input` per channel (statistic = "mean") or its unbiased
    variance (statistic = "var", M / (M - 1) times the biased one), as
    PyTorch's BatchNorm updates them.

    ```mlir
    %m1 = nn.running_stat_update %m, %x {momentum = 1.0e-01 : f32, statistic = "mean"}
          : (tensor<8xf32>, tensor<4x8x5x5xf32>) -> tensor<8xf32>
    ```
  }];
  let arguments = (ins 1DTensorOf<[F32]>:$running, NN_Tensor:$input, F32Attr:$momentum, StrAttr:$statistic);
  let results = (outs 1DTensorOf<[F32]>:$updated);
}

def NN_UnaryGradOp : NN_TrainingOp<"unary_grad", [AllTypesMatch<["input", "grad_output", "grad_input"]>]> {
  let summary = "gradient of nn.unary: grad_output * fn'(input)";
  let description = [{
    `fn`, `alpha` and `beta` are the forward op's. The functions without a
    useful derivative (floor, ceil, round, sign, step) give zero; abs gives
    sign(x) (0 at 0).

    ```mlir
    %dx = nn.unary_grad %x, %dy {fn = "gelu"} : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
    ```
  }];
  let arguments = (ins NN_Tensor:$input, NN_Tensor:$grad_output, StrAttr:$fn,
                   DefaultValuedAttr<F32Attr, "1.0f">:$alpha, DefaultValuedAttr<F32Attr, "1.0f">:$beta);
  let results = (outs NN_Tensor:$grad_input);
}

def NN_ReduceGradOp : NN_TrainingOp<"reduce_grad"> {
  let summary = "gradient of nn.reduce, from its input, its output and the output's gradient";
  let description = [{
    `kind` and `axes` are the forward op's; `output` and `grad_output` have
    its result shape, the result the input's. With y the output and dy its
    gradient broadcast over `axes`: sum dy; mean dy / n (n elements
    reduced); sum_square 2 x dy; l1 sign(x) dy; l2 x / y dy; log_sum dy /
    exp(y); log_sum_exp exp(x - y) dy; prod y / x dy; max and min dy / k at
    the k elements equal to y (PyTorch's amax/amin rule), 0 elsewhere;
    arg_max and arg_min 0.

    ```mlir
    %dx = nn.reduce_grad %x, %y, %dy {kind = "max", axes = array<i64: 1>}
          : (tensor<2x8x5xf32>, tensor<2x1x5xf32>, tensor<2x1x5xf32>) -> tensor<2x8x5xf32>
    ```
  }];
  let arguments = (ins NN_Tensor:$input, NN_Tensor:$output, NN_Tensor:$grad_output, StrAttr:$kind,
                   DenseI64ArrayAttr:$axes);
  let results = (outs NN_Tensor:$grad_input);
}

def NN_SliceGradOp : NN_TrainingOp<"slice_grad"> {
  let summary = "gradient of nn.slice: grad_output scattered back, zero where nothing was taken";
  let description = [{
    `starts` and `steps` are the slice's; the result type is the slice's
    input type: result[starts + i * steps] = grad_output[i], 0 elsewhere.

    ```mlir
    %dx = nn.slice_grad %dy {starts = array<i64: 0, 1>, steps = array<i64: 1, 2>}
          : (tensor<4x3xf32>) -> tensor<4x7xf32>
    ```
  }];
  let arguments = (ins NN_Tensor:$grad_output, DenseI64ArrayAttr:$starts, DenseI64ArrayAttr:$steps);
  let results = (outs NN_Tensor:$grad_input);
}

def NN_OptimizerUpdateOp : NN_TrainingOp<"optimizer_update"> {
  let summary = "one value after an optimizer step: the new parameter or one new state slot";
  let description = [{
    `param`, `grad` and every `state` tensor have one shape; `hyper` is
    [lr, t]. With g = grad + weight_decay * param, the optimizers (PyTorch's
    formulas, dampening 0, state starting at zero) are:

    - sgd (no state): p' = p - lr * g
    - momentum (state v): v' = momentum * v + g; p' = p - lr * v'
    - nesterov (state v): v' = momentum * v + g; p' = p - lr * (g + momentum * v')
    - rmsprop (state s): s' = alpha * s + (1 - alpha) * g^2; p' = p - lr * g / (sqrt(s') + epsilon)
    - adam (state m, v): m' = beta1 * m + (1 - beta1) * g; v' = beta2 * v + (1 - beta2) * g^2;
      p' = p - lr * (m' / (1 - beta1^t)) / (sqrt(v' / (1 - beta2^t)) + epsilon)

    `which` selects what the op yields: 0 the new parameter, k > 0 the new
    state slot k-1. (The values are elementwise and cheap, so each result
    recomputes what it needs and the backend fuses them.)

    ```mlir
    %w1 = nn.optimizer_update %w, %dw, %hyper, %v {optimizer = "momentum", which = 0 : i64,
            momentum = 9.0e-01 : f32, weight_decay = 0.0 : f32}
          : (tensor<6x1x5x5xf32>, tensor<6x1x5x5xf32>, tensor<2xf32>, tensor<6x1x5x5xf32>) -> tensor<6x1x5x5xf32>
    ```
  }];
  let arguments = (ins NN_Tensor:$param, NN_Tensor:$grad, 1DTensorOf<[F32]>:$hyper, Variadic<NN_Tensor>:$state,
                   StrAttr:$optimizer, I64Attr:$which,
                   DefaultValuedAttr<F32Attr, "0.0f">:$momentum, DefaultValuedAttr<F32Attr, "0.0f">:$weight_decay,
                   DefaultValuedAttr<F32Attr, "0.99f">:$alpha, DefaultValuedAttr<F32Attr, "0.9f">:$beta1,
                   DefaultValuedAttr<F32Attr, "0.999f">:$beta2, DefaultValuedAttr<F32Attr, "1.0e-8f">:$epsilon);
  let results = (outs NN_Tensor:$updated);
  let extraClassDeclaration = [{
    /// How many state tensors `optimizer` keeps per parameter, or -1 for an unknown name.
    static int stateCount(llvm::StringRef optimizer);
  }];
}

#endif // KILN_NN_TRAINING_OPS_TD
