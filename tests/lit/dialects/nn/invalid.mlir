// RUN: kiln-opt %s -split-input-file -verify-diagnostics

// Tests that conv2d rejects input channels that do not match filter channels x groups.
func.func @conv_channels(%x: tensor<1x3x8x8xf32>, %w: tensor<4x2x3x3xf32>) -> tensor<1x4x6x6xf32> {
  // expected-error @+2 {{expected input channels (3) to equal filter channels (2) x groups (1)}}
  // expected-error @+1 {{'nn.conv2d' op failed to infer returned types}}
  %y = nn.conv2d %x, %w {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x3x8x8xf32>, tensor<4x2x3x3xf32>) -> tensor<1x4x6x6xf32>
  return %y : tensor<1x4x6x6xf32>
}

// -----

// Tests that conv2d rejects groups that do not divide the channels.
func.func @conv_groups(%x: tensor<1x6x8x8xf32>, %w: tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32> {
  // expected-error @+2 {{expected groups (4) to divide input channels (6) and filters (4)}}
  // expected-error @+1 {{'nn.conv2d' op failed to infer returned types}}
  %y = nn.conv2d %x, %w {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 4 : i64} : (tensor<1x6x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32>
  return %y : tensor<1x4x6x6xf32>
}

// -----

// Tests that conv2d rejects a bias whose length is not the number of filters.
func.func @conv_bias(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<5xf32>) -> tensor<1x4x6x6xf32> {
  // expected-error @+2 {{expected a bias of shape 4 (one per filter), got 5}}
  // expected-error @+1 {{'nn.conv2d' op failed to infer returned types}}
  %y = nn.conv2d %x, %w, %b {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<5xf32>) -> tensor<1x4x6x6xf32>
  return %y : tensor<1x4x6x6xf32>
}

// -----

// Tests that conv2d rejects a zero stride.
func.func @conv_stride(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32> {
  // expected-error @+2 {{expected strides to be two positive integers [h, w]}}
  // expected-error @+1 {{'nn.conv2d' op failed to infer returned types}}
  %y = nn.conv2d %x, %w {strides = array<i64: 0, 1>, padding = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32>
  return %y : tensor<1x4x6x6xf32>
}

// -----

// Tests that conv2d rejects a negative or 3-entry padding.
func.func @conv_padding(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32> {
  // expected-error @+2 {{expected padding to be four non-negative integers [top, left, bottom, right]}}
  // expected-error @+1 {{'nn.conv2d' op failed to infer returned types}}
  %y = nn.conv2d %x, %w {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32>
  return %y : tensor<1x4x6x6xf32>
}

// -----

// Tests that conv2d rejects a window larger than the padded input.
func.func @conv_window(%x: tensor<1x3x4x4xf32>, %w: tensor<4x3x5x5xf32>) -> tensor<1x4x1x1xf32> {
  // expected-error @+2 {{the 5x5 window (extent 5) does not fit the padded input 1x3x4x4 along H (4)}}
  // expected-error @+1 {{'nn.conv2d' op failed to infer returned types}}
  %y = nn.conv2d %x, %w {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x3x4x4xf32>, tensor<4x3x5x5xf32>) -> tensor<1x4x1x1xf32>
  return %y : tensor<1x4x1x1xf32>
}

// -----

// Tests that a pool rejects padding as large as its kernel.
func.func @pool_padding(%x: tensor<1x3x8x8xf32>) -> tensor<1x3x6x6xf32> {
  // expected-error @+2 {{expected each padding to be smaller than the kernel on its axis}}
  // expected-error @+1 {{'nn.max_pool2d' op failed to infer returned types}}
  %y = nn.max_pool2d %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, padding = array<i64: 2, 0, 0, 0>} : (tensor<1x3x8x8xf32>) -> tensor<1x3x6x6xf32>
  return %y : tensor<1x3x6x6xf32>
}

// -----

// Tests that avg_pool2d rejects a zero kernel.
func.func @pool_kernel(%x: tensor<1x3x8x8xf32>) -> tensor<1x3x8x8xf32> {
  // expected-error @+2 {{expected kernel to be two positive integers [h, w]}}
  // expected-error @+1 {{'nn.avg_pool2d' op failed to infer returned types}}
  %y = nn.avg_pool2d %x {kernel = array<i64: 0, 2>, strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, count_include_pad = false} : (tensor<1x3x8x8xf32>) -> tensor<1x3x8x8xf32>
  return %y : tensor<1x3x8x8xf32>
}

// -----

// Tests that batch_norm rejects statistics that are not one per channel.
func.func @batch_norm_stats(%x: tensor<1x3x8x8xf32>, %s: tensor<4xf32>) -> tensor<1x3x8x8xf32> {
  // expected-error @+2 {{expected scale, shift, mean and variance of shape 3 (one per channel of 1x3x8x8), got 4}}
  // expected-error @+1 {{'nn.batch_norm' op failed to infer returned types}}
  %y = nn.batch_norm %x, %s, %s, %s, %s {epsilon = 1.0e-05 : f32} : (tensor<1x3x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x3x8x8xf32>
  return %y : tensor<1x3x8x8xf32>
}

// -----

// Tests that dense rejects a weight whose K does not match the input.
func.func @dense_weight(%x: tensor<1x8xf32>, %w: tensor<4x9xf32>) -> tensor<1x4xf32> {
  // expected-error @+2 {{expected a weight of shape Mx8 for input 1x8, got 4x9}}
  // expected-error @+1 {{'nn.dense' op failed to infer returned types}}
  %y = nn.dense %x, %w : (tensor<1x8xf32>, tensor<4x9xf32>) -> tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}

// -----

// Tests that dense rejects a bias whose length is not M.
func.func @dense_bias(%x: tensor<1x8xf32>, %w: tensor<4x8xf32>, %b: tensor<3xf32>) -> tensor<1x4xf32> {
  // expected-error @+2 {{expected a bias of shape 4, got 3}}
  // expected-error @+1 {{'nn.dense' op failed to infer returned types}}
  %y = nn.dense %x, %w, %b : (tensor<1x8xf32>, tensor<4x8xf32>, tensor<3xf32>) -> tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}

// -----

// Tests that dense rejects a 4-D input (flatten it first).
func.func @dense_rank(%x: tensor<1x2x2x2xf32>, %w: tensor<4x8xf32>) -> tensor<1x4xf32> {
  // expected-error @+1 {{must be 2D tensor of 32-bit float values}}
  %y = nn.dense %x, %w : (tensor<1x2x2x2xf32>, tensor<4x8xf32>) -> tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}

// -----

// Tests that add (in generic form) rejects operands whose shapes do not broadcast.
func.func @add_shapes_generic(%a: tensor<1x6x28x28xf32>, %b: tensor<1x6x14x14xf32>) -> tensor<1x6x28x28xf32> {
  // expected-error @+2 {{expected shapes that broadcast (each dimension equal or 1, aligned at the last), got 1x6x28x28 and 1x6x14x14}}
  // expected-error @+1 {{'nn.add' op failed to infer returned types}}
  %y = "nn.add"(%a, %b) : (tensor<1x6x28x28xf32>, tensor<1x6x14x14xf32>) -> tensor<1x6x28x28xf32>
  return %y : tensor<1x6x28x28xf32>
}

// -----

// Tests that concat rejects inputs that disagree off the axis.
func.func @concat_shapes(%a: tensor<1x2x4x4xf32>, %b: tensor<1x2x3x4xf32>) -> tensor<1x4x4x4xf32> {
  // expected-error @+2 {{expected inputs that agree on every dimension but 1, got 1x2x4x4 and 1x2x3x4}}
  // expected-error @+1 {{'nn.concat' op failed to infer returned types}}
  %y = nn.concat %a, %b {axis = 1 : i64} : (tensor<1x2x4x4xf32>, tensor<1x2x3x4xf32>) -> tensor<1x4x4x4xf32>
  return %y : tensor<1x4x4x4xf32>
}

// -----

// Tests that concat rejects an axis beyond the rank.
func.func @concat_axis(%a: tensor<1x2xf32>) -> tensor<1x4xf32> {
  // expected-error @+2 {{expected axis in [0, 2), got 2}}
  // expected-error @+1 {{'nn.concat' op failed to infer returned types}}
  %y = nn.concat %a, %a {axis = 2 : i64} : (tensor<1x2xf32>, tensor<1x2xf32>) -> tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}

// -----

// Tests that softmax rejects an axis beyond the rank.
func.func @softmax_axis(%a: tensor<1x10xf32>) -> tensor<1x10xf32> {
  // expected-error @+1 {{expected axis in [0, 2) for input 1x10, got 2}}
  %y = nn.softmax %a {axis = 2 : i64} : tensor<1x10xf32>
  return %y : tensor<1x10xf32>
}

// -----

// Tests that dropout rejects a rate of 1 or more.
func.func @dropout_rate(%a: tensor<1x10xf32>) -> tensor<1x10xf32> {
  // expected-error @+1 {{expected rate in [0, 1), got 1}}
  %y = nn.dropout %a {rate = 1.0 : f32} : tensor<1x10xf32>
  return %y : tensor<1x10xf32>
}

// -----

// Tests that param rejects an empty name.
func.func @param_name() -> tensor<4xf32> {
  // expected-error @+1 {{expected a non-empty parameter name}}
  %w = nn.param "" : tensor<4xf32>
  return %w : tensor<4xf32>
}

// -----

// Tests that param rejects a dynamic shape.
func.func @param_dynamic() -> tensor<?xf32> {
  // expected-error @+1 {{expected a static shape with positive dimensions, got ?}}
  %w = nn.param "w" : tensor<?xf32>
  return %w : tensor<?xf32>
}

// -----

// Tests that nn ops reject non-f32 element types.
func.func @relu_i32(%a: tensor<4xi32>) -> tensor<4xi32> {
  // expected-error @+1 {{must be ranked tensor of 32-bit float values}}
  %y = nn.relu %a : tensor<4xi32>
  return %y : tensor<4xi32>
}

// -----

// Tests that flatten rejects a dynamic input.
func.func @flatten_dynamic(%a: tensor<1x?xf32>) -> tensor<1x4xf32> {
  // expected-error @+2 {{expected a static shape with positive dimensions, got 1x?}}
  // expected-error @+1 {{'nn.flatten' op failed to infer returned types}}
  %y = nn.flatten %a : (tensor<1x?xf32>) -> tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}

// -----

// Tests that global_avg_pool rejects a 2-D input.
func.func @global_pool_rank(%a: tensor<1x4xf32>) -> tensor<1x4x1x1xf32> {
  // expected-error @+1 {{must be 4D tensor of 32-bit float values}}
  %y = nn.global_avg_pool %a : (tensor<1x4xf32>) -> tensor<1x4x1x1xf32>
  return %y : tensor<1x4x1x1xf32>
}

// -----

// Tests that mul rejects a declared result that is not the broadcast shape.
func.func @mul_declared(%a: tensor<2x3x4x5xf32>, %b: tensor<3x1x1xf32>) -> tensor<2x3x4x4xf32> {
  // expected-error @+2 {{'nn.mul' op inferred type(s) 'tensor<2x3x4x5xf32>' are incompatible with return type(s) of operation 'tensor<2x3x4x4xf32>'}}
  // expected-error @+1 {{'nn.mul' op failed to infer returned types}}
  %y = nn.mul %a, %b : (tensor<2x3x4x5xf32>, tensor<3x1x1xf32>) -> tensor<2x3x4x4xf32>
  return %y : tensor<2x3x4x4xf32>
}

// -----

// Tests that sum rejects inputs of different shapes.
func.func @sum_shapes(%a: tensor<1x3xf32>, %b: tensor<1x4xf32>) -> tensor<1x3xf32> {
  // expected-error @+2 {{expected inputs of the same shape, got 1x3 and 1x4}}
  // expected-error @+1 {{'nn.sum' op failed to infer returned types}}
  %y = nn.sum %a, %b : (tensor<1x3xf32>, tensor<1x4xf32>) -> tensor<1x3xf32>
  return %y : tensor<1x3xf32>
}

// -----

// Tests that conv_transpose2d rejects a filter whose dimension 0 is not the input channels.
func.func @conv_transpose_channels(%x: tensor<1x3x5x5xf32>, %w: tensor<4x2x3x3xf32>) -> tensor<1x2x7x7xf32> {
  // expected-error @+2 {{expected the filter's dimension 0 (4) to equal input channels (3) (layout [C, F/groups, KH, KW])}}
  // expected-error @+1 {{'nn.conv_transpose2d' op failed to infer returned types}}
  %y = nn.conv_transpose2d %x, %w {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, output_padding = array<i64: 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x3x5x5xf32>, tensor<4x2x3x3xf32>) -> tensor<1x2x7x7xf32>
  return %y : tensor<1x2x7x7xf32>
}

// -----

// Tests that conv_transpose2d rejects an output_padding not smaller than the stride.
func.func @conv_transpose_output_padding(%x: tensor<1x3x5x5xf32>, %w: tensor<3x2x3x3xf32>) -> tensor<1x2x13x13xf32> {
  // expected-error @+2 {{expected output_padding to be two non-negative integers [h, w], each smaller than the stride or the dilation on its axis}}
  // expected-error @+1 {{'nn.conv_transpose2d' op failed to infer returned types}}
  %y = nn.conv_transpose2d %x, %w {strides = array<i64: 2, 2>, padding = array<i64: 0, 0, 0, 0>, output_padding = array<i64: 2, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x3x5x5xf32>, tensor<3x2x3x3xf32>) -> tensor<1x2x13x13xf32>
  return %y : tensor<1x2x13x13xf32>
}

// -----

// Tests that resize rejects an unknown mode.
func.func @resize_mode(%x: tensor<1x3x5x5xf32>) -> tensor<1x3x10x10xf32> {
  // expected-error @+2 {{expected mode nearest, bilinear or bicubic, got 'cubic'}}
  // expected-error @+1 {{'nn.resize' op failed to infer returned types}}
  %y = nn.resize %x {mode = "cubic", size = array<i64: 10, 10>} : (tensor<1x3x5x5xf32>) -> tensor<1x3x10x10xf32>
  return %y : tensor<1x3x10x10xf32>
}

// -----

// Tests that resize rejects a zero output size.
func.func @resize_size(%x: tensor<1x3x5x5xf32>) -> tensor<1x3x10x10xf32> {
  // expected-error @+2 {{expected size to be two positive integers [h, w]}}
  // expected-error @+1 {{'nn.resize' op failed to infer returned types}}
  %y = nn.resize %x {mode = "nearest", size = array<i64: 10, 0>} : (tensor<1x3x5x5xf32>) -> tensor<1x3x10x10xf32>
  return %y : tensor<1x3x10x10xf32>
}

// -----

// Tests that lrn rejects a zero size.
func.func @lrn_size(%x: tensor<1x3x5x5xf32>) -> tensor<1x3x5x5xf32> {
  // expected-error @+2 {{expected a positive size (channels in the window), got 0}}
  // expected-error @+1 {{'nn.lrn' op failed to infer returned types}}
  %y = nn.lrn %x {size = 0 : i64, alpha = 1.0e-4 : f32, beta = 0.75 : f32, bias = 1.0 : f32} : (tensor<1x3x5x5xf32>) -> tensor<1x3x5x5xf32>
  return %y : tensor<1x3x5x5xf32>
}

// -----

// Tests that pad rejects a pads list that is not [begin..., end...] for the rank.
func.func @pad_count(%x: tensor<1x3x5x5xf32>) -> tensor<1x3x7x7xf32> {
  // expected-error @+2 {{expected pads to be 8 non-negative integers [begin..., end...] for input 1x3x5x5, got 4}}
  // expected-error @+1 {{'nn.pad' op failed to infer returned types}}
  %y = nn.pad %x {pads = array<i64: 1, 1, 1, 1>, value = 0.0 : f32} : (tensor<1x3x5x5xf32>) -> tensor<1x3x7x7xf32>
  return %y : tensor<1x3x7x7xf32>
}

// -----

// Tests that reshape rejects a target shape with another element count.
func.func @reshape_count(%x: tensor<1x16x5x5xf32>) -> tensor<1x401xf32> {
  // expected-error @+2 {{expected the target shape 1x401 (401 elements) to hold the input's 400 elements (1x16x5x5)}}
  // expected-error @+1 {{'nn.reshape' op failed to infer returned types}}
  %y = nn.reshape %x {shape = array<i64: 1, 401>} : (tensor<1x16x5x5xf32>) -> tensor<1x401xf32>
  return %y : tensor<1x401xf32>
}

// -----

// Tests that clip rejects min > max.
func.func @clip_range(%x: tensor<1x5xf32>) -> tensor<1x5xf32> {
  // expected-error @+1 {{expected min <= max, got min 6 and max 0}}
  %y = nn.clip %x {min = 6.0 : f32, max = 0.0 : f32} : tensor<1x5xf32>
  return %y : tensor<1x5xf32>
}

// -----

// Tests that log_softmax rejects an axis beyond the rank.
func.func @log_softmax_axis(%x: tensor<1x10xf32>) -> tensor<1x10xf32> {
  // expected-error @+1 {{expected axis in [0, 2) for input 1x10, got 2}}
  %y = nn.log_softmax %x {axis = 2 : i64} : tensor<1x10xf32>
  return %y : tensor<1x10xf32>
}

// -----

// Tests that global_max_pool rejects a 2-D input.
func.func @global_max_pool_rank(%x: tensor<1x10xf32>) -> tensor<1x10xf32> {
  // expected-error @+1 {{must be 4D tensor of 32-bit float values}}
  %y = nn.global_max_pool %x : (tensor<1x10xf32>) -> tensor<1x10xf32>
  return %y : tensor<1x10xf32>
}

// -----

// Tests that unary rejects a function it does not know.
func.func @unary_unknown(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{unknown function 'cosh'}}
  %y = nn.unary %x {fn = "cosh"} : tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

// Tests that transpose rejects a perm that is not a permutation.
func.func @transpose_perm(%x: tensor<2x3x4xf32>) -> tensor<2x3x4xf32> {
  // expected-error @+2 {{expected perm to be a permutation of 0..2 for a 2x3x4 input, got [0x0x1]}}
  // expected-error @+1 {{'nn.transpose' op failed to infer returned types}}
  %y = nn.transpose %x {perm = array<i64: 0, 0, 1>} : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %y : tensor<2x3x4xf32>
}

// -----

// Tests that reduce rejects axes out of order and arg_max over two axes.
func.func @reduce_axes(%x: tensor<2x3x4xf32>) -> tensor<2x1x1xf32> {
  // expected-error @+2 {{expected distinct increasing axes in [0, 3), got [2x1]}}
  // expected-error @+1 {{'nn.reduce' op failed to infer returned types}}
  %y = nn.reduce %x {kind = "sum", axes = array<i64: 2, 1>} : (tensor<2x3x4xf32>) -> tensor<2x1x1xf32>
  return %y : tensor<2x1x1xf32>
}

// -----

func.func @reduce_arg(%x: tensor<2x3x4xf32>) -> tensor<2x1x1xf32> {
  // expected-error @+2 {{arg_max reduces exactly one axis, got [1x2]}}
  // expected-error @+1 {{'nn.reduce' op failed to infer returned types}}
  %y = nn.reduce %x {kind = "arg_max", axes = array<i64: 1, 2>} : (tensor<2x3x4xf32>) -> tensor<2x1x1xf32>
  return %y : tensor<2x1x1xf32>
}

// -----

// Tests that slice rejects a step that reads past the input.
func.func @slice_bounds(%x: tensor<2x7xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{expected dimension 1 to read inside [0, 7), got start 1, step 2 and 4 elements}}
  %y = nn.slice %x {starts = array<i64: 0, 1>, steps = array<i64: 1, 2>} : (tensor<2x7xf32>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

// Tests that broadcast rejects a dimension that is neither equal nor 1.
func.func @broadcast_shape(%x: tensor<3x2xf32>) -> tensor<4x3x4xf32> {
  // expected-error @+1 {{expected 3x2 to broadcast to 4x3x4 (aligned at the last dimension, each equal or 1)}}
  %y = nn.broadcast %x : (tensor<3x2xf32>) -> tensor<4x3x4xf32>
  return %y : tensor<4x3x4xf32>
}

// -----

// Tests that matmul rejects operands that disagree on K.
func.func @matmul_k(%a: tensor<2x3x4xf32>, %b: tensor<2x5x6xf32>) -> tensor<2x3x6xf32> {
  // expected-error @+2 {{expected [..., M, K] x [..., K, N] to agree on K, got 2x3x4 and 2x5x6}}
  // expected-error @+1 {{'nn.matmul' op failed to infer returned types}}
  %y = nn.matmul %a, %b : (tensor<2x3x4xf32>, tensor<2x5x6xf32>) -> tensor<2x3x6xf32>
  return %y : tensor<2x3x6xf32>
}
