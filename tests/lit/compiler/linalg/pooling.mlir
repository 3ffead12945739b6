// RUN: kiln-opt %s -split-input-file -convert-nn-to-linalg | FileCheck %s

// Tests that max_pool2d pads with the lowest float and pools into a lowest-filled init.
// CHECK-LABEL: func.func @max_pool
// CHECK: %[[LOW:.*]] = arith.constant -3.40282347E+38 : f32
// CHECK: tensor.pad %arg0 low[0, 0, 1, 1] high[0, 0, 1, 1]
// CHECK: tensor.yield %[[LOW]]
// CHECK: linalg.fill ins(%{{.*}} : f32)
// CHECK: linalg.pooling_nchw_max {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>} ins(%{{.*}}, %{{.*}} : tensor<1x2x8x8xf32>, tensor<3x3xf32>)
func.func @max_pool(%x: tensor<1x2x6x6xf32>) -> tensor<1x2x3x3xf32> {
  %y = nn.max_pool2d %x {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>}
       : (tensor<1x2x6x6xf32>) -> tensor<1x2x3x3xf32>
  return %y : tensor<1x2x3x3xf32>
}

// -----

// Tests that avg_pool2d without count_include_pad divides by a compile-time table of in-bounds counts.
// CHECK-LABEL: func.func @avg_pool_exclude_pad
// CHECK: linalg.pooling_nchw_sum
// CHECK: arith.constant dense<{{\[\[}}4.000000e+00, 6.000000e+00, 4.000000e+00], [6.000000e+00, 9.000000e+00, 6.000000e+00], [4.000000e+00, 6.000000e+00, 4.000000e+00]]> : tensor<3x3xf32>
// CHECK: linalg.generic
// CHECK: arith.divf
func.func @avg_pool_exclude_pad(%x: tensor<1x1x3x3xf32>) -> tensor<1x1x3x3xf32> {
  %y = nn.avg_pool2d %x {kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>,
         count_include_pad = false} : (tensor<1x1x3x3xf32>) -> tensor<1x1x3x3xf32>
  return %y : tensor<1x1x3x3xf32>
}

// -----

// Tests that avg_pool2d with count_include_pad divides by the window size.
// CHECK-LABEL: func.func @avg_pool_include_pad
// CHECK: linalg.pooling_nchw_sum
// CHECK: arith.constant 4.000000e+00 : f32
// CHECK: arith.divf
func.func @avg_pool_include_pad(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x2x2xf32> {
  %y = nn.avg_pool2d %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, padding = array<i64: 0, 0, 0, 0>,
         count_include_pad = true} : (tensor<1x2x4x4xf32>) -> tensor<1x2x2x2xf32>
  return %y : tensor<1x2x2x2xf32>
}

// -----

// Tests that global_avg_pool sums the whole plane and divides by H * W.
// CHECK-LABEL: func.func @global_avg_pool
// CHECK: linalg.pooling_nchw_sum {{.*}} ins(%arg0, %{{.*}} : tensor<2x3x5x7xf32>, tensor<5x7xf32>)
// CHECK: arith.constant 3.500000e+01 : f32
func.func @global_avg_pool(%x: tensor<2x3x5x7xf32>) -> tensor<2x3x1x1xf32> {
  %y = nn.global_avg_pool %x : (tensor<2x3x5x7xf32>) -> tensor<2x3x1x1xf32>
  return %y : tensor<2x3x1x1xf32>
}

// -----

// Tests that global_max_pool takes the maximum of the whole plane into a lowest-filled init.
// CHECK-LABEL: func.func @global_max_pool
// CHECK: arith.constant -3.40282347E+38 : f32
// CHECK: linalg.pooling_nchw_max {{.*}} ins(%arg0, %{{.*}} : tensor<2x3x5x7xf32>, tensor<5x7xf32>)
func.func @global_max_pool(%x: tensor<2x3x5x7xf32>) -> tensor<2x3x1x1xf32> {
  %y = nn.global_max_pool %x : (tensor<2x3x5x7xf32>) -> tensor<2x3x1x1xf32>
  return %y : tensor<2x3x1x1xf32>
}

// -----

// Tests that a ceil_mode max_pool2d pads the bottom/right by the cells its last windows reach.
// CHECK-LABEL: func.func @max_pool_ceil
// CHECK: tensor.pad %arg0 low[0, 0, 0, 0] high[0, 0, 1, 1]
// CHECK: linalg.pooling_nchw_max {{.*}} ins(%{{.*}}, %{{.*}} : tensor<1x2x8x8xf32>, tensor<2x2xf32>)
func.func @max_pool_ceil(%x: tensor<1x2x7x7xf32>) -> tensor<1x2x4x4xf32> {
  %y = nn.max_pool2d %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, padding = array<i64: 0, 0, 0, 0>,
         ceil_mode = true} : (tensor<1x2x7x7xf32>) -> tensor<1x2x4x4xf32>
  return %y : tensor<1x2x4x4xf32>
}

// -----

// Tests that a ceil_mode avg_pool2d with count_include_pad divides its clipped last windows by the
// cells inside input + padding (6 = 2 x 3 in the last row and column), the others by 9.
// CHECK-LABEL: func.func @avg_pool_ceil_include_pad
// CHECK: tensor.pad %arg0 low[0, 0, 1, 1] high[0, 0, 2, 2]
// CHECK: arith.constant dense<{{\[\[}}9.000000e+00, 9.000000e+00, 6.000000e+00], [9.000000e+00, 9.000000e+00, 6.000000e+00], [6.000000e+00, 6.000000e+00, 4.000000e+00]]> : tensor<3x3xf32>
func.func @avg_pool_ceil_include_pad(%x: tensor<1x1x4x4xf32>) -> tensor<1x1x3x3xf32> {
  %y = nn.avg_pool2d %x {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>,
         count_include_pad = true, ceil_mode = true} : (tensor<1x1x4x4xf32>) -> tensor<1x1x3x3xf32>
  return %y : tensor<1x1x3x3xf32>
}
