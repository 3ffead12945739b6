// RUN: kiln-opt %s -split-input-file -verify-diagnostics | FileCheck %s

// Tests the output-size formula floor((H + pads - dilation * (K - 1) - 1) / stride) + 1 on odd
// sizes with stride 2 and 3, padding and dilation: declared types that match it are accepted.
// CHECK-LABEL: func.func @window_sizes
func.func @window_sizes(%x: tensor<1x2x7x11xf32>, %w3: tensor<4x2x3x3xf32>) {
  // 7x11, k3, s2: (7-3)/2+1 = 3, (11-3)/2+1 = 5
  // CHECK: -> tensor<1x4x3x5xf32>
  %a = nn.conv2d %x, %w3 {strides = array<i64: 2, 2>, padding = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x7x11xf32>, tensor<4x2x3x3xf32>) -> tensor<1x4x3x5xf32>
  // k3, s3: (7-3)/3+1 = 2, (11-3)/3+1 = 3 (floor drops the leftover rows)
  // CHECK: -> tensor<1x4x2x3xf32>
  %b = nn.conv2d %x, %w3 {strides = array<i64: 3, 3>, padding = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x7x11xf32>, tensor<4x2x3x3xf32>) -> tensor<1x4x2x3xf32>
  // padding [1, 2, 0, 1], s2: (7+1+0-3)/2+1 = 3, (11+2+1-3)/2+1 = 6
  // CHECK: -> tensor<1x4x3x6xf32>
  %c = nn.conv2d %x, %w3 {strides = array<i64: 2, 2>, padding = array<i64: 1, 2, 0, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x7x11xf32>, tensor<4x2x3x3xf32>) -> tensor<1x4x3x6xf32>
  // dilation 3 (extent 7), s1: 7-7+1 = 1, 11-7+1 = 5
  // CHECK: -> tensor<1x4x1x5xf32>
  %d = nn.conv2d %x, %w3 {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, dilations = array<i64: 3, 3>, groups = 1 : i64} : (tensor<1x2x7x11xf32>, tensor<4x2x3x3xf32>) -> tensor<1x4x1x5xf32>
  // pool k2 s2 on odd sizes: 3, 5; k3 s2 pad 1: (7+2-3)/2+1 = 4, (11+2-3)/2+1 = 6
  // CHECK: -> tensor<1x2x3x5xf32>
  %e = nn.max_pool2d %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, padding = array<i64: 0, 0, 0, 0>} : (tensor<1x2x7x11xf32>) -> tensor<1x2x3x5xf32>
  // CHECK: -> tensor<1x2x4x6xf32>
  %f = nn.avg_pool2d %x {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>, count_include_pad = false} : (tensor<1x2x7x11xf32>) -> tensor<1x2x4x6xf32>
  return
}

// -----

// Tests that a conv2d whose declared type disagrees with the rule is rejected with the inferred type.
func.func @conv_declared(%x: tensor<1x1x32x32xf32>, %w: tensor<6x1x5x5xf32>) {
  // expected-error @+2 {{'nn.conv2d' op inferred type(s) 'tensor<1x6x28x28xf32>' are incompatible with return type(s) of operation 'tensor<1x6x27x27xf32>'}}
  // expected-error @+1 {{'nn.conv2d' op failed to infer returned types}}
  %y = nn.conv2d %x, %w {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x1x32x32xf32>, tensor<6x1x5x5xf32>) -> tensor<1x6x27x27xf32>
  return
}

// -----

// Tests that a strided pool whose declared type rounds up instead of down is rejected.
func.func @pool_declared(%x: tensor<1x2x7x7xf32>) {
  // expected-error @+2 {{inferred type(s) 'tensor<1x2x3x3xf32>' are incompatible with return type(s) of operation 'tensor<1x2x4x4xf32>'}}
  // expected-error @+1 {{'nn.max_pool2d' op failed to infer returned types}}
  %y = nn.max_pool2d %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, padding = array<i64: 0, 0, 0, 0>} : (tensor<1x2x7x7xf32>) -> tensor<1x2x4x4xf32>
  return
}

// -----

// Tests that dense checks its declared type.
func.func @dense_declared(%x: tensor<1x8xf32>, %w: tensor<4x8xf32>) {
  // expected-error @+2 {{inferred type(s) 'tensor<1x4xf32>' are incompatible with return type(s) of operation 'tensor<1x8xf32>'}}
  // expected-error @+1 {{'nn.dense' op failed to infer returned types}}
  %y = nn.dense %x, %w : (tensor<1x8xf32>, tensor<4x8xf32>) -> tensor<1x8xf32>
  return
}

// -----

// Tests that flatten checks its declared type (it keeps dimension 0).
func.func @flatten_declared(%x: tensor<2x3x4x5xf32>) {
  // expected-error @+2 {{inferred type(s) 'tensor<2x60xf32>' are incompatible with return type(s) of operation 'tensor<1x120xf32>'}}
  // expected-error @+1 {{'nn.flatten' op failed to infer returned types}}
  %y = nn.flatten %x : (tensor<2x3x4x5xf32>) -> tensor<1x120xf32>
  return
}

// -----

// Tests that global_avg_pool checks its declared type.
func.func @global_pool_declared(%x: tensor<2x3x4x5xf32>) {
  // expected-error @+2 {{inferred type(s) 'tensor<2x3x1x1xf32>' are incompatible with return type(s) of operation 'tensor<2x3x4x1xf32>'}}
  // expected-error @+1 {{'nn.global_avg_pool' op failed to infer returned types}}
  %y = nn.global_avg_pool %x : (tensor<2x3x4x5xf32>) -> tensor<2x3x4x1xf32>
  return
}

// -----

// Tests that concat checks its declared type (the axis sizes add up).
func.func @concat_declared(%a: tensor<1x2x4x4xf32>, %b: tensor<1x3x4x4xf32>) {
  // expected-error @+2 {{inferred type(s) 'tensor<1x5x4x4xf32>' are incompatible with return type(s) of operation 'tensor<1x6x4x4xf32>'}}
  // expected-error @+1 {{'nn.concat' op failed to infer returned types}}
  %y = nn.concat %a, %b {axis = 1 : i64} : (tensor<1x2x4x4xf32>, tensor<1x3x4x4xf32>) -> tensor<1x6x4x4xf32>
  return
}

// -----

// Tests the ceil_mode rule (round up, but the last window must start inside input + left padding)
// and the broadcast, conv_transpose2d, resize, pad and reshape shapes.
// CHECK-LABEL: func.func @onnx_shapes
func.func @onnx_shapes(%x: tensor<1x2x7x11xf32>, %s: tensor<2x1x1xf32>, %w: tensor<2x3x3x3xf32>) {
  // 7, k2 s2 ceil: ceil(5/2)+1 = 4; 11: ceil(9/2)+1 = 6
  // CHECK: -> tensor<1x2x4x6xf32>
  %a = nn.max_pool2d %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, padding = array<i64: 0, 0, 0, 0>, ceil_mode = true} : (tensor<1x2x7x11xf32>) -> tensor<1x2x4x6xf32>
  // 7 + 1 + 1, k3 s3 ceil: ceil(6/3)+1 = 3; the 3rd window starts at 6 < 7 + 1: kept.
  // 11 + 1 + 1, k2 s2 ceil: ceil(11/2)+1 = 7; the 7th window starts at 12 >= 11 + 1: dropped -> 6
  // CHECK: -> tensor<1x2x3x6xf32>
  %b = nn.avg_pool2d %x {kernel = array<i64: 3, 2>, strides = array<i64: 3, 2>, padding = array<i64: 1, 1, 1, 1>, count_include_pad = true, ceil_mode = true} : (tensor<1x2x7x11xf32>) -> tensor<1x2x3x6xf32>
  // CHECK: -> tensor<1x2x7x11xf32>
  %c = nn.add %s, %x : (tensor<2x1x1xf32>, tensor<1x2x7x11xf32>) -> tensor<1x2x7x11xf32>
  // (7-1)*2 - 1 - 1 + 3 + 1 = 14, (11-1)*2 - 0 - 0 + 3 + 0 = 23
  // CHECK: -> tensor<1x3x14x23xf32>
  %d = nn.conv_transpose2d %x, %w {strides = array<i64: 2, 2>, padding = array<i64: 1, 0, 1, 0>, output_padding = array<i64: 1, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x7x11xf32>, tensor<2x3x3x3xf32>) -> tensor<1x3x14x23xf32>
  // CHECK: -> tensor<1x2x14x33xf32>
  %e = nn.resize %x {mode = "nearest", size = array<i64: 14, 33>} : (tensor<1x2x7x11xf32>) -> tensor<1x2x14x33xf32>
  // CHECK: -> tensor<2x2x8x14xf32>
  %f = nn.pad %x {pads = array<i64: 0, 0, 1, 2, 1, 0, 0, 1>, value = 1.0 : f32} : (tensor<1x2x7x11xf32>) -> tensor<2x2x8x14xf32>
  // CHECK: -> tensor<14x11xf32>
  %g = nn.reshape %x {shape = array<i64: 14, 11>} : (tensor<1x2x7x11xf32>) -> tensor<14x11xf32>
  return
}
