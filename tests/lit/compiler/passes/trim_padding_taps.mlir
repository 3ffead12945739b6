// RUN: kiln-opt %s -split-input-file -nn-trim-padding-taps | FileCheck %s

// Tests that a 3x3 conv with padding 1 on a 1x1 plane keeps only its centre tap (ResNet-18's
// last layers at 32x32 input): a 1x1 kernel named after the old weight and its taps, no padding.
// CHECK-LABEL: func.func @centre_tap_only
// CHECK:         %[[W:.*]] = nn.param "l4.weight+taps1-1x1-1" : tensor<8x4x1x1xf32>
// CHECK:         nn.conv2d %{{.*}}, %[[W]], %{{.*}} {dilations = array<i64: 1, 1>, groups = 1 : i64, padding = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>}
// CHECK-SAME:      -> tensor<2x8x1x1xf32>
// CHECK-NOT:     "l4.weight"
func.func @centre_tap_only(%x: tensor<2x4x1x1xf32>) -> tensor<2x8x1x1xf32> {
  %w = nn.param "l4.weight" : tensor<8x4x3x3xf32>
  %b = nn.param "l4.bias" : tensor<8xf32>
  %c = nn.conv2d %x, %w, %b {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<2x4x1x1xf32>, tensor<8x4x3x3xf32>, tensor<8xf32>) -> tensor<2x8x1x1xf32>
  return %c : tensor<2x8x1x1xf32>
}

// -----

// Tests a strided conv on a 2x2 plane: the first row and column of taps only meet the padding
// before the input, so taps 1-2 remain, unpadded.
// CHECK-LABEL: func.func @strided_first_taps
// CHECK:         %[[W:.*]] = nn.param "d.weight+taps1-2x1-2" : tensor<8x4x2x2xf32>
// CHECK:         nn.conv2d %{{.*}}, %[[W]] {dilations = array<i64: 1, 1>, groups = 1 : i64, padding = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>}
func.func @strided_first_taps(%x: tensor<1x4x2x2xf32>) -> tensor<1x8x1x1xf32> {
  %w = nn.param "d.weight" : tensor<8x4x3x3xf32>
  %c = nn.conv2d %x, %w {strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x4x2x2xf32>, tensor<8x4x3x3xf32>) -> tensor<1x8x1x1xf32>
  return %c : tensor<1x8x1x1xf32>
}

// -----

// Tests that only the axis with dead taps shrinks (a 1-row plane, 5 columns), and that a weight
// shared with a conv that keeps every tap stays for it.
// CHECK-LABEL: func.func @one_axis_and_a_shared_weight
// CHECK-DAG:     %[[W:.*]] = nn.param "s.weight" : tensor<4x4x3x3xf32>
// CHECK-DAG:     %[[T:.*]] = nn.param "s.weight+taps1-1x0-2" : tensor<4x4x1x3xf32>
// CHECK:         nn.conv2d %{{.*}}, %[[T]] {dilations = array<i64: 1, 1>, groups = 1 : i64, padding = array<i64: 0, 1, 0, 1>, strides = array<i64: 1, 1>}
// CHECK:         nn.conv2d %{{.*}}, %[[W]] {dilations = array<i64: 1, 1>, groups = 1 : i64, padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>}
func.func @one_axis_and_a_shared_weight(%x: tensor<1x4x1x5xf32>, %y: tensor<1x4x6x6xf32>) -> (tensor<1x4x1x5xf32>, tensor<1x4x6x6xf32>) {
  %w = nn.param "s.weight" : tensor<4x4x3x3xf32>
  %a = nn.conv2d %x, %w {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x4x1x5xf32>, tensor<4x4x3x3xf32>) -> tensor<1x4x1x5xf32>
  %b = nn.conv2d %y, %w {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x4x6x6xf32>, tensor<4x4x3x3xf32>) -> tensor<1x4x6x6xf32>
  return %a, %b : tensor<1x4x1x5xf32>, tensor<1x4x6x6xf32>
}

// -----

// Tests that a conv whose taps all meet the input, and one whose taps meet none (its output is
// the bias alone), are left as they are.
// CHECK-LABEL: func.func @unchanged
// CHECK:         nn.param "full.weight" : tensor<4x4x3x3xf32>
// CHECK:         nn.param "dead.weight" : tensor<4x4x3x3xf32>
// CHECK-NOT:     +taps
func.func @unchanged(%x: tensor<1x4x5x5xf32>, %y: tensor<1x4x1x1xf32>) -> (tensor<1x4x5x5xf32>, tensor<1x4x1x1xf32>) {
  %w = nn.param "full.weight" : tensor<4x4x3x3xf32>
  %a = nn.conv2d %x, %w {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x4x5x5xf32>, tensor<4x4x3x3xf32>) -> tensor<1x4x5x5xf32>
  %v = nn.param "dead.weight" : tensor<4x4x3x3xf32>
  %b = nn.conv2d %y, %v {strides = array<i64: 1, 1>, padding = array<i64: 1, 2, 3, 2>, dilations = array<i64: 2, 2>, groups = 1 : i64} : (tensor<1x4x1x1xf32>, tensor<4x4x3x3xf32>) -> tensor<1x4x1x1xf32>
  return %a, %b : tensor<1x4x5x5xf32>, tensor<1x4x1x1xf32>
}
