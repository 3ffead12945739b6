// RUN: kiln-opt %s -split-input-file -convert-nn-to-linalg | FileCheck %s

// Tests that an ungrouped conv2d_grad_filter is a conv of the input (channels as the batch) with
// grad_output as the filter, strides and dilations swapped, transposed back to FCHW.
// CHECK-LABEL: func.func @conv_grad_filter
// CHECK: %[[PAD:.*]] = tensor.pad %arg0 low[0, 0, 1, 1] high[0, 0, 1, 1]
// CHECK: %[[X:.*]] = linalg.transpose ins(%[[PAD]] : tensor<2x3x9x9xf32>) {{.*}} permutation = [1, 2, 3, 0]
// CHECK: %[[DY:.*]] = linalg.transpose ins(%arg1 : tensor<2x4x4x4xf32>) {{.*}} permutation = [2, 3, 0, 1]
// CHECK: %[[C:.*]] = linalg.conv_2d_nhwc_hwcf {dilations = dense<2> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%[[X]], %[[DY]] : tensor<3x9x9x2xf32>, tensor<4x4x2x4xf32>) outs(%{{.*}} : tensor<3x3x3x4xf32>)
// CHECK: linalg.transpose ins(%[[C]] : tensor<3x3x3x4xf32>) {{.*}} permutation = [3, 0, 1, 2]
func.func @conv_grad_filter(%x: tensor<2x3x7x7xf32>, %dy: tensor<2x4x4x4xf32>) -> tensor<4x3x3x3xf32> {
  %dw = nn.conv2d_grad_filter %x, %dy {strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>,
          dilations = array<i64: 1, 1>, groups = 1 : i64}
        : (tensor<2x3x7x7xf32>, tensor<2x4x4x4xf32>) -> tensor<4x3x3x3xf32>
  return %dw : tensor<4x3x3x3xf32>
}

// -----

// Tests that a grouped conv2d_grad_filter is one generic reading the group's input channels and
// summing over (n, oh, ow).
// CHECK-DAG: #[[IN:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d4, (d0 floordiv 2) * 2 + d1, d2 + d5, d3 + d6)>
// CHECK-LABEL: func.func @conv_grad_filter_grouped
// CHECK: linalg.generic {indexing_maps = [#[[IN]], {{.*}}], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
// CHECK: arith.mulf
// CHECK: arith.addf
func.func @conv_grad_filter_grouped(%x: tensor<1x4x5x5xf32>, %dy: tensor<1x4x3x3xf32>) -> tensor<4x2x3x3xf32> {
  %dw = nn.conv2d_grad_filter %x, %dy {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>,
          dilations = array<i64: 1, 1>, groups = 2 : i64}
        : (tensor<1x4x5x5xf32>, tensor<1x4x3x3xf32>) -> tensor<4x2x3x3xf32>
  return %dw : tensor<4x2x3x3xf32>
}

// -----

// Tests that dense_grad_input is grad_output x weight and dense_grad_weight grad_output^T x input.
// CHECK-LABEL: func.func @dense_grads
// CHECK: linalg.matmul ins(%arg1, %arg2 : tensor<4x10xf32>, tensor<10x84xf32>) outs(%{{.*}} : tensor<4x84xf32>)
// CHECK: %[[DYT:.*]] = linalg.transpose ins(%arg1 : tensor<4x10xf32>) {{.*}} permutation = [1, 0]
// CHECK: linalg.matmul ins(%[[DYT]], %arg0 : tensor<10x4xf32>, tensor<4x84xf32>) outs(%{{.*}} : tensor<10x84xf32>)
func.func @dense_grads(%x: tensor<4x84xf32>, %dy: tensor<4x10xf32>, %w: tensor<10x84xf32>)
    -> (tensor<4x84xf32>, tensor<10x84xf32>) {
  %dx = nn.dense_grad_input %dy, %w : (tensor<4x10xf32>, tensor<10x84xf32>) -> tensor<4x84xf32>
  %dw = nn.dense_grad_weight %x, %dy : (tensor<4x84xf32>, tensor<4x10xf32>) -> tensor<10x84xf32>
  return %dx, %dw : tensor<4x84xf32>, tensor<10x84xf32>
}

// -----

// Tests that bias_grad sums over every dimension but the channel into a zero-filled [C].
// CHECK-DAG: #[[C:.*]] = affine_map<(d0, d1, d2, d3) -> (d1)>
// CHECK-LABEL: func.func @bias_grad
// CHECK: %[[ZERO:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<6xf32>)
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[C]]], iterator_types = ["reduction", "parallel", "reduction", "reduction"]} ins(%arg0 : tensor<2x6x5x5xf32>) outs(%[[ZERO]] : tensor<6xf32>)
// CHECK: arith.addf
func.func @bias_grad(%dy: tensor<2x6x5x5xf32>) -> tensor<6xf32> {
  %db = nn.bias_grad %dy : (tensor<2x6x5x5xf32>) -> tensor<6xf32>
  return %db : tensor<6xf32>
}
