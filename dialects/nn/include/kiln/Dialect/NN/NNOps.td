// Op definitions of the nn dialect: one def per layer kind, each with an IR example.
#ifndef KILN_NN_OPS_TD
#define KILN_NN_OPS_TD

include "kiln/Dialect/NN/NNDialect.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

class NN_LayerOp<string mnemonic, list<Trait> traits = []>
    : NN_Op<mnemonic, !listconcat(traits, [Pure, DeclareOpInterfaceMethods<InferTypeOpInterface>])>;

def NN_ParamOp : NN_Op<"param", [Pure]> {
  let summary = "a named trainable parameter or statistic";
  let description = [{
    Stands for a tensor of model data (a weight, a bias, a batch-norm
    statistic). The data is stored outside the IR under `name`, which is the
    layer name plus a PyTorch-style suffix (`.weight`, `.bias`,
    `.running_mean`, `.running_var`).

    ```mlir
    %w = nn.param "c1.weight" : tensor<6x1x5x5xf32>
    ```
  }];
  let arguments = (ins StrAttr:$name);
  let results = (outs NN_Tensor:$result);
  let assemblyFormat = "$name attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def NN_Conv2DOp : NN_LayerOp<"conv2d"> {
  let summary = "2-D convolution (cross-correlation) with optional bias";
  let description = [{
    `input` is [N, C, H, W], `filter` is [F, C / groups, KH, KW], `bias` is [F].
    `padding` is [top, left, bottom, right]. The output is [N, F, OH, OW] with
    OH = floor((H + top + bottom - dilation_h * (KH - 1) - 1) / stride_h) + 1.

    ```mlir
    %y = nn.conv2d %x, %w, %b {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>,
           dilations = array<i64: 1, 1>, groups = 1 : i64}
         : (tensor<1x1x32x32xf32>, tensor<6x1x5x5xf32>, tensor<6xf32>) -> tensor<1x6x28x28xf32>
    ```
  }];
  let arguments = (ins NN_Image:$input, NN_Image:$filter, Optional<1DTensorOf<[F32]>>:$bias,
                   DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$padding,
                   DenseI64ArrayAttr:$dilations, I64Attr:$groups);
  let results = (outs NN_Image:$output);
  let assemblyFormat = [{
    $input `,` $filter (`,` $bias^)? attr-dict `:` functional-type(operands, results)
  }];
}

class NN_Pool2DOp<string mnemonic, string what> : NN_LayerOp<mnemonic> {
  let summary = what # " pooling over 2-D windows";
  let results = (outs NN_Image:$output);
}

def NN_MaxPool2DOp : NN_Pool2DOp<"max_pool2d", "maximum"> {
  let description = [{
    Takes the maximum over `kernel` windows moved by `strides`; padded
    positions never win. `padding` is [top, left, bottom, right].

    ```mlir
    %y = nn.max_pool2d %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>,
           padding = array<i64: 0, 0, 0, 0>} : (tensor<1x6x28x28xf32>) -> tensor<1x6x14x14xf32>
    ```
  }];
  let arguments = (ins NN_Image:$input, DenseI64ArrayAttr:$kernel,
                   DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$padding);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
}

def NN_AvgPool2DOp : NN_Pool2DOp<"avg_pool2d", "average"> {
  let description = [{
    Averages over `kernel` windows moved by `strides`. With
    `count_include_pad` the divisor is always KH * KW; without it, only the
    window's positions inside the input are counted.

    ```mlir
    %y = nn.avg_pool2d %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>,
           padding = array<i64: 0, 0, 0, 0>, count_include_pad = false}
         : (tensor<1x6x28x28xf32>) -> tensor<1x6x14x14xf32>
    ```
  }];
  let arguments = (ins NN_Image:$input, DenseI64ArrayAttr:$kernel,
                   DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$padding,
                   BoolAttr:$count_include_pad);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
}

def NN_GlobalAvgPoolOp : NN_LayerOp<"global_avg_pool"> {
  let summary = "mean over the whole H x W plane of each channel";
  let description = [{
    ```mlir
    %y = nn.global_avg_pool %x : (tensor<2x512x7x7xf32>) -> tensor<2x512x1x1xf32>
    ```
  }];
  let arguments = (ins NN_Image:$input);
  let results = (outs NN_Image:$output);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
}

def NN_BatchNormOp : NN_LayerOp<"batch_norm"> {
  let summary = "batch normalization with stored statistics (inference form)";
  let description = [{
    y = (x - mean[c]) / sqrt(var[c] + epsilon) * scale[c] + shift[c], with
    the channel c on dimension 1 of an [N, C, ...] input.

    ```mlir
    %y = nn.batch_norm %x, %g, %b, %m, %v {epsilon = 1.0e-05 : f32}
         : (tensor<1x8x5x5xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>)
         -> tensor<1x8x5x5xf32>
    ```
  }];
  let arguments = (ins NN_Tensor:$input, 1DTensorOf<[F32]>:$scale, 1DTensorOf<[F32]>:$shift,
                   1DTensorOf<[F32]>:$mean, 1DTensorOf<[F32]>:$variance, F32Attr:$epsilon);
  let results = (outs NN_Tensor:$output);
  let assemblyFormat = [{
    $input `,` $scale `,` $shift `,` $mean `,` $variance attr-dict `:` functional-type(operands, results)
  }];
}

class NN_UnaryOp<string mnemonic, string formula> : NN_LayerOp<mnemonic, [SameOperandsAndResultType]> {
  let summary = "elementwise " # formula;
  let description = [{
    ```mlir
    %y = nn.}] # mnemonic # [{ %x : tensor<1x6x28x28xf32>
    ```
  }];
  let arguments = (ins NN_Tensor:$input);
  let results = (outs NN_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def NN_ReluOp : NN_UnaryOp<"relu", "max(x, 0)">;
def NN_TanhOp : NN_UnaryOp<"tanh", "tanh(x)">;
def NN_SigmoidOp : NN_UnaryOp<"sigmoid", "1 / (1 + exp(-x))">;

def NN_LeakyReluOp : NN_LayerOp<"leaky_relu", [SameOperandsAndResultType]> {
  let summary = "elementwise x if x > 0 else alpha * x";
  let description = [{
    ```mlir
    %y = nn.leaky_relu %x {alpha = 0.01 : f32} : tensor<1x6x28x28xf32>
    ```
  }];
  let arguments = (ins NN_Tensor:$input, F32Attr:$alpha);
  let results = (outs NN_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def NN_DropoutOp : NN_LayerOp<"dropout", [SameOperandsAndResultType]> {
  let summary = "dropout: the identity at inference";
  let description = [{
    Zeroes a `rate` fraction of elements during training (scaling the rest by
    1 / (1 - rate)); at inference it passes its input through unchanged.

    ```mlir
    %y = nn.dropout %x {rate = 0.5 : f32} : tensor<1x128x11x11xf32>
    ```
  }];
  let arguments = (ins NN_Tensor:$input, F32Attr:$rate);
  let results = (outs NN_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def NN_DenseOp : NN_LayerOp<"dense"> {
  let summary = "fully connected layer: y = x W^T + b";
  let description = [{
    `input` is [N, K], `weight` is [M, K] (PyTorch's Linear layout), `bias` is [M].

    ```mlir
    %y = nn.dense %x, %w, %b : (tensor<1x120xf32>, tensor<84x120xf32>, tensor<84xf32>) -> tensor<1x84xf32>
    ```
  }];
  let arguments = (ins 2DTensorOf<[F32]>:$input, 2DTensorOf<[F32]>:$weight,
                   Optional<1DTensorOf<[F32]>>:$bias);
  let results = (outs 2DTensorOf<[F32]>:$output);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:` functional-type(operands, results)
  }];
}

def NN_FlattenOp : NN_LayerOp<"flatten"> {
  let summary = "keeps dimension 0 and folds the rest into dimension 1";
  let description = [{
    ```mlir
    %y = nn.flatten %x : (tensor<1x16x5x5xf32>) -> tensor<1x400xf32>
    ```
  }];
  let arguments = (ins NN_Tensor:$input);
  let results = (outs 2DTensorOf<[F32]>:$output);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
}

def NN_SoftmaxOp : NN_LayerOp<"softmax", [SameOperandsAndResultType]> {
  let summary = "softmax along one axis";
  let description = [{
    ```mlir
    %y = nn.softmax %x {axis = 1 : i64} : tensor<1x10xf32>
    ```
  }];
  let arguments = (ins NN_Tensor:$input, I64Attr:$axis);
  let results = (outs NN_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def NN_AddOp : NN_LayerOp<"add", [SameOperandsAndResultType]> {
  let summary = "elementwise sum of two tensors of the same shape";
  let description = [{
    ```mlir
    %y = nn.add %a, %b : tensor<1x64x56x56xf32>
    ```
  }];
  let arguments = (ins NN_Tensor:$lhs, NN_Tensor:$rhs);
  let results = (outs NN_Tensor:$output);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($output)";
}

def NN_ConcatOp : NN_LayerOp<"concat"> {
  let summary = "joins tensors along one axis";
  let description = [{
    All inputs have the same rank and agree on every dimension but `axis`.

    ```mlir
    %y = nn.concat %a, %b {axis = 1 : i64}
         : (tensor<1x64x28x28xf32>, tensor<1x32x28x28xf32>) -> tensor<1x96x28x28xf32>
    ```
  }];
  let arguments = (ins Variadic<NN_Tensor>:$inputs, I64Attr:$axis);
  let results = (outs NN_Tensor:$output);
  let assemblyFormat = "$inputs attr-dict `:` functional-type(operands, results)";
}

#endif // KILN_NN_OPS_TD
