// Op definitions of the nn dialect: one def per layer kind, each with an IR example.
#ifndef KILN_NN_OPS_TD
#define KILN_NN_OPS_TD

include "kiln/Dialect/NN/NNDialect.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

class NN_LayerOp<string mnemonic, list<Trait> traits = []>
    : NN_Op<mnemonic, !listconcat(traits, [Pure, DeclareOpInterfaceMethods<InferTypeOpInterface>])>;

def NN_ParamOp : NN_Op<"param", [Pure]> {
  let summary = "a named trainable parameter, statistic or constant";
  let description = [{
    Stands for a tensor of model data (a weight, a bias, a batch-norm
    statistic). The data is stored outside the IR under `name`, which is the
    layer name plus a PyTorch-style suffix (`.weight`, `.bias`,
    `.running_mean`, `.running_var`).

    `constant` marks data that is not a model parameter (an ONNX Constant,
    an epsilon an importer composes): training leaves it in the graph as
    data and never updates it (docs/training.md).

    ```mlir
    %w = nn.param "c1.weight" : tensor<6x1x5x5xf32>
    %e = nn.param "ln.epsilon" constant : tensor<1xf32>
    ```
  }];
  let arguments = (ins StrAttr:$name, UnitAttr:$constant);
  let results = (outs NN_Tensor:$result);
  let assemblyFormat = "$name (`constant` $constant^)? attr-dict `:` type($result)";
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
    positions never win. `padding` is [top, left, bottom, right]. With
    `ceil_mode` the output size rounds up (ONNX/PyTorch rule: the last window
    must start inside the input or its left padding); cells of that last
    window past the padded input are skipped like padding.

    ```mlir
    %y = nn.max_pool2d %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>,
           padding = array<i64: 0, 0, 0, 0>} : (tensor<1x6x28x28xf32>) -> tensor<1x6x14x14xf32>
    ```
  }];
  let arguments = (ins NN_Image:$input, DenseI64ArrayAttr:$kernel,
                   DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$padding,
                   DefaultValuedAttr<BoolAttr, "false">:$ceil_mode);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
}

def NN_AvgPool2DOp : NN_Pool2DOp<"avg_pool2d", "average"> {
  let description = [{
    Averages over `kernel` windows moved by `strides`. With
    `count_include_pad` the divisor is always KH * KW; without it, only the
    window's positions inside the input are counted. With `ceil_mode` (see
    max_pool2d) and `count_include_pad`, a window clipped by the ceil
    extension counts only its positions inside input + padding, as PyTorch.

    ```mlir
    %y = nn.avg_pool2d %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>,
           padding = array<i64: 0, 0, 0, 0>, count_include_pad = false}
         : (tensor<1x6x28x28xf32>) -> tensor<1x6x14x14xf32>
    ```
  }];
  let arguments = (ins NN_Image:$input, DenseI64ArrayAttr:$kernel,
                   DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$padding,
                   BoolAttr:$count_include_pad, DefaultValuedAttr<BoolAttr, "false">:$ceil_mode);
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

class NN_BinaryOp<string mnemonic, string formula> : NN_LayerOp<mnemonic> {
  let summary = "elementwise " # formula # " with numpy-style broadcasting";
  let description = [{
    The shapes are aligned at their last dimension; each pair of dimensions
    must be equal or one of them 1 (a missing leading dimension counts as 1).
    When both operands and the result share one type it is written once.

    ```mlir
    %y = nn.}] # mnemonic # [{ %a, %b : tensor<1x64x56x56xf32>
    %z = nn.}] # mnemonic # [{ %a, %s : (tensor<1x64x56x56xf32>, tensor<64x1x1xf32>) -> tensor<1x64x56x56xf32>
    ```
  }];
  let arguments = (ins NN_Tensor:$lhs, NN_Tensor:$rhs);
  let results = (outs NN_Tensor:$output);
  let hasCustomAssemblyFormat = 1;
}

def NN_AddOp : NN_BinaryOp<"add", "a + b">;
def NN_SubOp : NN_BinaryOp<"sub", "a - b">;
def NN_MulOp : NN_BinaryOp<"mul", "a * b">;
def NN_DivOp : NN_BinaryOp<"div", "a / b">;
def NN_MaxOp : NN_BinaryOp<"max", "max(a, b)">;
def NN_MinOp : NN_BinaryOp<"min", "min(a, b)">;

class NN_VariadicSameShapeOp<string mnemonic, string what> : NN_LayerOp<mnemonic> {
  let summary = "elementwise " # what # " of one or more tensors of the same shape";
  let description = [{
    ```mlir
    %y = nn.}] # mnemonic # [{ %a, %b, %c : (tensor<1x8x5x5xf32>, tensor<1x8x5x5xf32>, tensor<1x8x5x5xf32>)
         -> tensor<1x8x5x5xf32>
    ```
  }];
  let arguments = (ins Variadic<NN_Tensor>:$inputs);
  let results = (outs NN_Tensor:$output);
  let assemblyFormat = "$inputs attr-dict `:` functional-type(operands, results)";
}

def NN_SumOp : NN_VariadicSameShapeOp<"sum", "sum">;
def NN_MeanOp : NN_VariadicSameShapeOp<"mean", "mean">;

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

def NN_ClipOp : NN_LayerOp<"clip", [SameOperandsAndResultType]> {
  let summary = "elementwise min(max(x, min), max)";
  let description = [{
    ReLU6 is `clip` with min 0 and max 6.

    ```mlir
    %y = nn.clip %x {min = 0.0 : f32, max = 6.0 : f32} : tensor<1x32x56x56xf32>
    ```
  }];
  let arguments = (ins NN_Tensor:$input, F32Attr:$min, F32Attr:$max);
  let results = (outs NN_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def NN_HardSigmoidOp : NN_LayerOp<"hard_sigmoid", [SameOperandsAndResultType]> {
  let summary = "elementwise max(0, min(1, alpha * x + beta))";
  let description = [{
    ONNX's defaults are alpha 0.2, beta 0.5; PyTorch's Hardsigmoid is alpha 1/6, beta 0.5.

    ```mlir
    %y = nn.hard_sigmoid %x {alpha = 0.166666672 : f32, beta = 5.000000e-01 : f32} : tensor<1x16x7x7xf32>
    ```
  }];
  let arguments = (ins NN_Tensor:$input, F32Attr:$alpha, F32Attr:$beta);
  let results = (outs NN_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def NN_HardSwishOp : NN_UnaryOp<"hard_swish", "x * max(0, min(1, x / 6 + 1 / 2))">;

def NN_LogSoftmaxOp : NN_LayerOp<"log_softmax", [SameOperandsAndResultType]> {
  let summary = "log of the softmax along one axis";
  let description = [{
    ```mlir
    %y = nn.log_softmax %x {axis = 1 : i64} : tensor<1x10xf32>
    ```
  }];
  let arguments = (ins NN_Tensor:$input, I64Attr:$axis);
  let results = (outs NN_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def NN_GlobalMaxPoolOp : NN_LayerOp<"global_max_pool"> {
  let summary = "maximum over the whole H x W plane of each channel";
  let description = [{
    ```mlir
    %y = nn.global_max_pool %x : (tensor<2x512x7x7xf32>) -> tensor<2x512x1x1xf32>
    ```
  }];
  let arguments = (ins NN_Image:$input);
  let results = (outs NN_Image:$output);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
}

def NN_ConvTranspose2DOp : NN_LayerOp<"conv_transpose2d"> {
  let summary = "2-D transposed convolution (the gradient of conv2d) with optional bias";
  let description = [{
    `input` is [N, C, H, W], `filter` is [C, F / groups, KH, KW] (PyTorch's
    ConvTranspose2d layout), `bias` is [F]. `padding` is [top, left, bottom,
    right] and removes cells from the full output; `output_padding` [h, w] adds
    cells at the bottom/right (it must be smaller than the stride or the
    dilation). OH = (H - 1) * stride_h - top - bottom + dilation_h * (KH - 1)
    + output_padding_h + 1.

    ```mlir
    %y = nn.conv_transpose2d %x, %w, %b {strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>,
           output_padding = array<i64: 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64}
         : (tensor<1x16x7x7xf32>, tensor<16x8x3x3xf32>, tensor<8xf32>) -> tensor<1x8x14x14xf32>
    ```
  }];
  let arguments = (ins NN_Image:$input, NN_Image:$filter, Optional<1DTensorOf<[F32]>>:$bias,
                   DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$padding,
                   DenseI64ArrayAttr:$output_padding, DenseI64ArrayAttr:$dilations, I64Attr:$groups);
  let results = (outs NN_Image:$output);
  let assemblyFormat = [{
    $input `,` $filter (`,` $bias^)? attr-dict `:` functional-type(operands, results)
  }];
}

def NN_ResizeOp : NN_LayerOp<"resize"> {
  let summary = "resizes the H x W plane by nearest, bilinear or bicubic sampling (ONNX Resize)";
  let description = [{
    `size` is the output [OH, OW]. Along each axis, output position d maps to
    the source coordinate x by `coordinate_mode` (ONNX's
    coordinate_transformation_mode), with s the axis's scale (`scales` when
    given, else out / in) and r = in * s the output length before rounding:

    | coordinate_mode | x |
    |---|---|
    | half_pixel | (d + 0.5) / s - 0.5 |
    | pytorch_half_pixel | (d + 0.5) / s - 0.5, or 0 when r <= 1 |
    | align_corners | d * (in - 1) / (r - 1), or 0 when r <= 1 |
    | asymmetric | d / s |
    | tf_half_pixel_for_nn | (d + 0.5) / s |

    `mode` nearest rounds x by `nearest_mode` (floor, ceil,
    round_prefer_floor, round_prefer_ceil); bilinear blends the two
    neighbours floor(x) and floor(x) + 1; bicubic the four from floor(x) - 1
    with Keys' kernel of coefficient `cubic_coeff_a`. Neighbours outside the
    input take the edge value, or with `exclude_outside` get weight 0 (the
    others renormalised). PyTorch exports nearest as asymmetric + floor and
    bilinear / bicubic as pytorch_half_pixel or align_corners.

    ```mlir
    %y = nn.resize %x {mode = "bilinear", size = array<i64: 14, 14>, coordinate_mode = "align_corners"}
         : (tensor<1x8x7x7xf32>) -> tensor<1x8x14x14xf32>
    ```
  }];
  let arguments = (ins NN_Image:$input, StrAttr:$mode, DenseI64ArrayAttr:$size,
                   DefaultValuedAttr<StrAttr, "\"half_pixel\"">:$coordinate_mode,
                   DefaultValuedAttr<StrAttr, "\"floor\"">:$nearest_mode,
                   DefaultValuedAttr<F32Attr, "-0.75f">:$cubic_coeff_a,
                   DefaultValuedAttr<BoolAttr, "false">:$exclude_outside,
                   OptionalAttr<DenseF32ArrayAttr>:$scales);
  let results = (outs NN_Image:$output);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def NN_LRNOp : NN_LayerOp<"lrn"> {
  let summary = "local response normalization across channels (ONNX LRN)";
  let description = [{
    y = x / (bias + alpha / size * sum of x^2 over channels
    [c - floor((size - 1) / 2), c + ceil((size - 1) / 2)]) ^ beta. For an odd
    `size` this is PyTorch's LocalResponseNorm.

    ```mlir
    %y = nn.lrn %x {size = 5 : i64, alpha = 9.99999974E-5 : f32, beta = 7.500000e-01 : f32, bias = 1.000000e+00 : f32}
         : (tensor<1x96x55x55xf32>) -> tensor<1x96x55x55xf32>
    ```
  }];
  let arguments = (ins NN_Image:$input, I64Attr:$size, F32Attr:$alpha, F32Attr:$beta, F32Attr:$bias);
  let results = (outs NN_Image:$output);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
}

def NN_PadOp : NN_LayerOp<"pad"> {
  let summary = "pads a tensor with a constant";
  let description = [{
    `pads` has 2 * rank non-negative entries, [begin_0, ..., begin_r-1,
    end_0, ..., end_r-1] (ONNX order); new cells hold `value`.

    ```mlir
    %y = nn.pad %x {pads = array<i64: 0, 0, 1, 2, 0, 0, 1, 0>, value = 0.0 : f32}
         : (tensor<1x3x5x5xf32>) -> tensor<1x3x7x7xf32>
    ```
  }];
  let arguments = (ins NN_Tensor:$input, DenseI64ArrayAttr:$pads, F32Attr:$value);
  let results = (outs NN_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
}

def NN_ReshapeOp : NN_LayerOp<"reshape"> {
  let summary = "the same elements in C order under a new static shape";
  let description = [{
    `shape` is the result shape (every dimension positive); it must hold as
    many elements as the input. ONNX Reshape, Squeeze and Unsqueeze map here.

    ```mlir
    %y = nn.reshape %x {shape = array<i64: 1, 400>} : (tensor<1x16x5x5xf32>) -> tensor<1x400xf32>
    ```
  }];
  let arguments = (ins NN_Tensor:$input, DenseI64ArrayAttr:$shape);
  let results = (outs NN_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
}

def NN_UnaryOp : NN_LayerOp<"unary", [SameOperandsAndResultType]> {
  let summary = "an elementwise function of one tensor, named by `fn`";
  let description = [{
    `fn` is one of the functions below; `alpha` and `beta` are its constants
    (ONNX's attribute of the same role, defaults as ONNX's). The backends and
    the reference share the list (kiln::nn::unaryFunctions()).

    | fn | y |
    |---|---|
    | exp, log, sqrt, abs, erf, floor, ceil | the function of x |
    | neg | -x |
    | reciprocal | 1 / x |
    | round | x rounded to the nearest integer, halves to even |
    | sign | -1, 0 or 1 |
    | step | x > 0 ? 1 : 0 |
    | pow | x ^ alpha |
    | elu | x > 0 ? x : alpha * (exp(x) - 1) |
    | selu | beta * (x > 0 ? x : alpha * (exp(x) - 1)) |
    | celu | max(0, x) + min(0, alpha * (exp(x / alpha) - 1)) |
    | softplus | log(1 + exp(x)) |
    | softsign | x / (1 + abs(x)) |
    | mish | x * tanh(softplus(x)) |
    | gelu | x / 2 * (1 + erf(x / sqrt(2))) |
    | gelu_tanh | x / 2 * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3))) |
    | thresholded_relu | x > alpha ? x : 0 |
    | silu | x * sigmoid(x) |
    | affine | alpha * x + beta |

    ```mlir
    %y = nn.unary %x {fn = "elu", alpha = 1.0 : f32} : tensor<1x16x7x7xf32>
    ```
  }];
  let arguments = (ins NN_Tensor:$input, StrAttr:$fn, DefaultValuedAttr<F32Attr, "1.0f">:$alpha,
                   DefaultValuedAttr<F32Attr, "1.0f">:$beta);
  let results = (outs NN_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def NN_PowOp : NN_BinaryOp<"pow", "a ^ b">;
def NN_PReluOp : NN_BinaryOp<"prelu", "a > 0 ? a : b * a (b is the slope)">;

def NN_TransposeOp : NN_LayerOp<"transpose"> {
  let summary = "permutes the dimensions of a tensor";
  let description = [{
    Result dimension i is input dimension perm[i] (ONNX Transpose, PyTorch
    permute).

    ```mlir
    %y = nn.transpose %x {perm = array<i64: 0, 2, 3, 1>} : (tensor<1x8x5x7xf32>) -> tensor<1x5x7x8xf32>
    ```
  }];
  let arguments = (ins NN_Tensor:$input, DenseI64ArrayAttr:$perm);
  let results = (outs NN_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
}

def NN_SliceOp : NN_Op<"slice", [Pure]> {
  let summary = "every steps[d]-th element from starts[d] along each dimension d";
  let description = [{
    output[i_0, ..., i_r-1] = input[starts[0] + i_0 * steps[0], ...]. The
    result type gives the number of elements taken along each dimension; a
    negative step walks backwards (a flip is start n - 1, step -1). Every
    index read must be inside the input. ONNX Slice, Split and Gather of
    constant indices map here.

    ```mlir
    %a = nn.slice %x {starts = array<i64: 0, 64, 0, 0>, steps = array<i64: 1, 1, 1, 1>}
         : (tensor<1x256x28x28xf32>) -> tensor<1x128x28x28xf32>
    ```
  }];
  let arguments = (ins NN_Tensor:$input, DenseI64ArrayAttr:$starts, DenseI64ArrayAttr:$steps);
  let results = (outs NN_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def NN_BroadcastOp : NN_Op<"broadcast", [Pure]> {
  let summary = "repeats a tensor along its size-1 dimensions to the result shape";
  let description = [{
    numpy broadcasting of the input to the result type (aligned at the last
    dimension; each input dimension equals the result's or is 1; missing
    leading dimensions count as 1). ONNX Expand; Tile is a reshape, a
    broadcast and a reshape.

    ```mlir
    %y = nn.broadcast %x : (tensor<8x1x1xf32>) -> tensor<2x8x5x5xf32>
    ```
  }];
  let arguments = (ins NN_Tensor:$input);
  let results = (outs NN_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def NN_ReduceOp : NN_LayerOp<"reduce"> {
  let summary = "reduces a tensor over `axes`, keeping them as dimensions of size 1";
  let description = [{
    `kind` is one of sum, mean, max, min, prod, sum_square (sum of x^2), l1
    (sum of |x|), l2 (sqrt of the sum of x^2), log_sum (log of the sum),
    log_sum_exp, arg_max, arg_min. arg_max and arg_min reduce one axis and
    yield the index (as a float) of the first extreme element. `axes` are
    distinct and increasing. The result has the input's rank: ONNX's
    keepdims = 0 is a reshape after this op.

    ```mlir
    %m = nn.reduce %x {kind = "mean", axes = array<i64: 2, 3>} : (tensor<2x64x7x7xf32>) -> tensor<2x64x1x1xf32>
    ```
  }];
  let arguments = (ins NN_Tensor:$input, StrAttr:$kind, DenseI64ArrayAttr:$axes);
  let results = (outs NN_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
}

def NN_MatMulOp : NN_LayerOp<"matmul"> {
  let summary = "matrix product of the last two dimensions, broadcasting the others";
  let description = [{
    `lhs` is [..., M, K] and `rhs` [..., K, N] (both of rank >= 2); the
    leading (batch) dimensions broadcast as in numpy. The result is
    [..., M, N]. A constant 2-D `rhs` is imported as nn.dense instead.

    ```mlir
    %y = nn.matmul %a, %b : (tensor<2x4x16x8xf32>, tensor<2x4x8x16xf32>) -> tensor<2x4x16x16xf32>
    ```
  }];
  let arguments = (ins NN_Tensor:$lhs, NN_Tensor:$rhs);
  let results = (outs NN_Tensor:$output);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
}

include "kiln/Dialect/NN/NNTrainingOps.td"

#endif // KILN_NN_OPS_TD
