// RUN: kiln-opt %s -split-input-file -convert-nn-to-linalg | FileCheck %s

// Tests that max_pool2d_grad finds each window's first maximum (the smallest window offset whose
// value equals the pooled max) and gathers, per input cell, the gradients of the windows it wins.
// CHECK-LABEL: func.func @max_pool_grad
// CHECK: %[[MAX:.*]] = linalg.pooling_nchw_max {{.*}} -> tensor<1x2x3x3xf32>
// CHECK: %[[NONE:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<1x2x3x3xf32>)
// CHECK: %[[WIN:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%{{.*}}, %{{.*}}, %[[MAX]] : tensor<1x2x8x8xf32>, tensor<3x3xf32>, tensor<1x2x3x3xf32>) outs(%[[NONE]]
// CHECK: arith.cmpf oeq
// CHECK: arith.minimumf
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%{{.*}} : tensor<2x2xf32>) outs(%{{.*}} : tensor<1x2x6x6xf32>)
// CHECK: arith.divui
// CHECK: tensor.extract %[[WIN]]
// CHECK: tensor.extract %arg1
func.func @max_pool_grad(%x: tensor<1x2x6x6xf32>, %dy: tensor<1x2x3x3xf32>) -> tensor<1x2x6x6xf32> {
  %dx = nn.max_pool2d_grad %x, %dy {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>,
          padding = array<i64: 1, 1, 1, 1>}
        : (tensor<1x2x6x6xf32>, tensor<1x2x3x3xf32>) -> tensor<1x2x6x6xf32>
  return %dx : tensor<1x2x6x6xf32>
}

// -----

// Tests that avg_pool2d_grad divides grad_output by the forward's divisors (a table without
// count_include_pad) before gathering it over the covering windows.
// CHECK-LABEL: func.func @avg_pool_grad
// CHECK: arith.constant dense<{{\[\[}}4.000000e+00, 6.000000e+00, 4.000000e+00], [6.000000e+00, 9.000000e+00, 6.000000e+00], [4.000000e+00, 6.000000e+00, 4.000000e+00]]> : tensor<3x3xf32>
// CHECK: %[[SCALED:.*]] = linalg.generic
// CHECK: arith.divf
// CHECK: linalg.generic {{.*}} ins(%{{.*}} : tensor<3x3xf32>) outs(%{{.*}} : tensor<1x1x3x3xf32>)
// CHECK: tensor.extract %[[SCALED]]
func.func @avg_pool_grad(%dy: tensor<1x1x3x3xf32>) -> tensor<1x1x3x3xf32> {
  %dx = nn.avg_pool2d_grad %dy {kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>,
          padding = array<i64: 1, 1, 1, 1>, count_include_pad = false}
        : (tensor<1x1x3x3xf32>) -> tensor<1x1x3x3xf32>
  return %dx : tensor<1x1x3x3xf32>
}

// -----

// Tests that global_avg_pool_grad broadcasts grad_output / (H * W) over the plane.
// CHECK-DAG: #[[CELL:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, 0, 0)>
// CHECK-LABEL: func.func @global_avg_pool_grad
// CHECK: linalg.generic {indexing_maps = [#[[CELL]], #{{.*}}], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%arg0 : tensor<2x3x1x1xf32>)
// CHECK: arith.constant 2.000000e+01 : f32
// CHECK: arith.divf
func.func @global_avg_pool_grad(%dy: tensor<2x3x1x1xf32>) -> tensor<2x3x4x5xf32> {
  %dx = nn.global_avg_pool_grad %dy : (tensor<2x3x1x1xf32>) -> tensor<2x3x4x5xf32>
  return %dx : tensor<2x3x4x5xf32>
}
