// RUN: kiln-opt %s -split-input-file -convert-nn-to-linalg | FileCheck %s

// Tests that reduce mean sums over the reduced axes into the kept dimension, divides by the count
// (2 * 5) and expands the reduced dimensions back as extent 1.
// CHECK-LABEL: func.func @reduce_mean
// CHECK: linalg.generic {{.*}}iterator_types = ["reduction", "parallel", "reduction"]{{.*}} outs(%{{.*}} : tensor<3xf32>)
// CHECK: arith.addf
// CHECK: arith.constant 1.000000e+01 : f32
// CHECK: arith.divf
// CHECK: tensor.expand_shape %{{.*}} {{\[\[}}0, 1, 2]] output_shape [1, 3, 1] : tensor<3xf32> into tensor<1x3x1xf32>
func.func @reduce_mean(%x: tensor<2x3x5xf32>) -> tensor<1x3x1xf32> {
  %y = nn.reduce %x {kind = "mean", axes = array<i64: 0, 2>} : (tensor<2x3x5xf32>) -> tensor<1x3x1xf32>
  return %y : tensor<1x3x1xf32>
}

// -----

// Tests that l2 over every axis sums squares into a 0-d tensor, takes its square root, and
// expands it to [1, 1].
// CHECK-LABEL: func.func @reduce_l2_all
// CHECK: linalg.generic {{.*}}iterator_types = ["reduction", "reduction"]{{.*}} outs(%{{.*}} : tensor<f32>)
// CHECK: arith.mulf %in, %in
// CHECK: math.sqrt
// CHECK: tensor.expand_shape %{{.*}} [] output_shape [1, 1] : tensor<f32> into tensor<1x1xf32>
func.func @reduce_l2_all(%x: tensor<2x3xf32>) -> tensor<1x1xf32> {
  %y = nn.reduce %x {kind = "l2", axes = array<i64: 0, 1>} : (tensor<2x3xf32>) -> tensor<1x1xf32>
  return %y : tensor<1x1xf32>
}

// -----

// Tests that max, min and prod combine with maximumf / minimumf / mulf from -inf / +inf / 1.
// CHECK-LABEL: func.func @reduce_max_min_prod
// CHECK: arith.constant 0xFF800000 : f32
// CHECK: arith.maximumf
// CHECK: arith.constant 0x7F800000 : f32
// CHECK: arith.minimumf
// CHECK: arith.constant 1.000000e+00 : f32
// CHECK: arith.mulf %out, %in
func.func @reduce_max_min_prod(%x: tensor<4x3xf32>) -> tensor<4x1xf32> {
  %a = nn.reduce %x {kind = "max", axes = array<i64: 1>} : (tensor<4x3xf32>) -> tensor<4x1xf32>
  %b = nn.reduce %x {kind = "min", axes = array<i64: 1>} : (tensor<4x3xf32>) -> tensor<4x1xf32>
  %c = nn.reduce %x {kind = "prod", axes = array<i64: 1>} : (tensor<4x3xf32>) -> tensor<4x1xf32>
  %ab = nn.add %a, %b : (tensor<4x1xf32>, tensor<4x1xf32>) -> tensor<4x1xf32>
  %y = nn.add %ab, %c : (tensor<4x1xf32>, tensor<4x1xf32>) -> tensor<4x1xf32>
  return %y : tensor<4x1xf32>
}

// -----

// Tests that arg_max finds the maximum, then the least index along the axis holding it (minimumf
// of the index where x equals the maximum, +inf elsewhere).
// CHECK-LABEL: func.func @arg_max
// CHECK: %[[MAX:.*]] = linalg.generic
// CHECK: arith.maximumf
// CHECK: linalg.generic {{.*}}ins(%arg0, %[[MAX]] : tensor<2x3x5xf32>, tensor<2x5xf32>)
// CHECK: %[[INDEX:.*]] = linalg.index 1 : index
// CHECK: arith.cmpf oeq
// CHECK: arith.select
// CHECK: arith.minimumf
// CHECK: tensor.expand_shape {{.*}} into tensor<2x1x5xf32>
func.func @arg_max(%x: tensor<2x3x5xf32>) -> tensor<2x1x5xf32> {
  %y = nn.reduce %x {kind = "arg_max", axes = array<i64: 1>} : (tensor<2x3x5xf32>) -> tensor<2x1x5xf32>
  return %y : tensor<2x1x5xf32>
}

// -----

// Tests that log_sum_exp subtracts the maximum before exp and adds it back after the log.
// CHECK-LABEL: func.func @log_sum_exp
// CHECK: %[[MAX:.*]] = linalg.generic
// CHECK: arith.maximumf
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}}ins(%arg0, %[[MAX]] : tensor<2x3xf32>, tensor<2xf32>)
// CHECK: arith.subf %in, %in_1
// CHECK: math.exp
// CHECK: linalg.generic {{.*}}ins(%[[MAX]], %[[SUM]] : tensor<2xf32>, tensor<2xf32>)
// CHECK: %[[LOG:.*]] = math.log %in_1
// CHECK: arith.addf %in, %[[LOG]]
func.func @log_sum_exp(%x: tensor<2x3xf32>) -> tensor<2x1xf32> {
  %y = nn.reduce %x {kind = "log_sum_exp", axes = array<i64: 1>} : (tensor<2x3xf32>) -> tensor<2x1xf32>
  return %y : tensor<2x1xf32>
}
