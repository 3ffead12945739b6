// RUN: kiln-opt %s -split-input-file -convert-nn-to-linalg | FileCheck %s

// Tests that activation_grad is elementwise from the activation's output: tanh's dy * (1 - y * y).
// CHECK-LABEL: func.func @tanh_grad
// CHECK: linalg.generic {{.*}} ins(%arg0, %arg1 : tensor<2x3xf32>, tensor<2x3xf32>)
// CHECK: %[[YY:.*]] = arith.mulf %in, %in
// CHECK: %[[D:.*]] = arith.subf %{{.*}}, %[[YY]]
// CHECK: arith.mulf %in_{{.*}}, %[[D]]
func.func @tanh_grad(%y: tensor<2x3xf32>, %dy: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %dx = nn.activation_grad %y, %dy {activation = "tanh"} : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  return %dx : tensor<2x3xf32>
}

// -----

// Tests that dropout_train hashes the step (hyper[1] as an unsigned integer), the seed and the flat
// index with DropoutHash.h's constants and keeps an element when the hash is at least rate * 2^32.
// CHECK-LABEL: func.func @dropout
// CHECK: %[[T:.*]] = tensor.extract %arg1[%c1]
// CHECK: %[[STEP:.*]] = arith.fptoui %[[T]] : f32 to i32
// CHECK: linalg.generic
// CHECK: linalg.index 0
// CHECK: linalg.index 1
// CHECK: arith.index_cast %{{.*}} : index to i32
// CHECK-DAG: arith.constant -1640531535 : i32
// CHECK-DAG: arith.constant -1028477379 : i32
// CHECK: arith.shrui
// CHECK: arith.cmpi uge, %{{.*}}, %c1073741824_i32
// CHECK: arith.select
func.func @dropout(%x: tensor<4x5xf32>, %hyper: tensor<2xf32>) -> tensor<4x5xf32> {
  %y = nn.dropout_train %x, %hyper {rate = 2.5e-01 : f32, seed = 3 : i64}
       : (tensor<4x5xf32>, tensor<2xf32>) -> tensor<4x5xf32>
  return %y : tensor<4x5xf32>
}

// -----

// Tests that batch_norm_train normalises with the batch's per-channel mean and biased variance
// (two reductions over every dimension but 1) and then scales and shifts.
// CHECK-LABEL: func.func @batch_norm_train
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}} iterator_types = ["reduction", "parallel", "reduction", "reduction"]} ins(%arg0 : tensor<2x3x4x4xf32>)
// CHECK: %[[MEAN:.*]] = linalg.generic {{.*}} ins(%[[SUM]] : tensor<3xf32>)
// CHECK: arith.constant 3.200000e+01 : f32
// CHECK: %[[SQ:.*]] = linalg.generic {{.*}} iterator_types = ["reduction", "parallel", "reduction", "reduction"]} ins(%arg0, %[[MEAN]] : tensor<2x3x4x4xf32>, tensor<3xf32>)
// CHECK: %[[VAR:.*]] = linalg.generic {{.*}} ins(%[[SQ]] : tensor<3xf32>)
// CHECK: %[[ISTD:.*]] = linalg.generic {{.*}} ins(%[[VAR]] : tensor<3xf32>)
// CHECK: math.sqrt
// CHECK: linalg.generic {{.*}} ins(%arg0, %[[MEAN]], %[[ISTD]], %arg1, %arg2 : tensor<2x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>)
func.func @batch_norm_train(%x: tensor<2x3x4x4xf32>, %g: tensor<3xf32>, %b: tensor<3xf32>) -> tensor<2x3x4x4xf32> {
  %y = nn.batch_norm_train %x, %g, %b {epsilon = 1.0e-05 : f32}
       : (tensor<2x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<2x3x4x4xf32>
  return %y : tensor<2x3x4x4xf32>
}

// -----

// Tests that batch_norm_grad_input reads the sums of dy and of dy * xhat per channel, and that
// batch_norm_grad_scale is the latter.
// CHECK-LABEL: func.func @batch_norm_grads
// CHECK: %[[SUMDY:.*]] = linalg.generic {{.*}} ins(%arg2 : tensor<2x3x4x4xf32>) outs(%{{.*}} : tensor<3xf32>)
// CHECK: %[[SUMDYX:.*]] = linalg.generic {{.*}} ins(%arg2, %arg0, %{{.*}}, %{{.*}} : tensor<2x3x4x4xf32>, tensor<2x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>) outs(%{{.*}} : tensor<3xf32>)
// CHECK: linalg.generic {{.*}} ins(%arg0, %arg2, %{{.*}}, %{{.*}}, %arg1, %[[SUMDY]], %[[SUMDYX]] :
// CHECK: %[[DG:.*]] = linalg.generic {{.*}} ins(%arg2, %arg0, %{{.*}}, %{{.*}} : tensor<2x3x4x4xf32>, tensor<2x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>) outs(%{{.*}} : tensor<3xf32>)
// CHECK: return %{{.*}}, %[[DG]]
func.func @batch_norm_grads(%x: tensor<2x3x4x4xf32>, %g: tensor<3xf32>, %dy: tensor<2x3x4x4xf32>)
    -> (tensor<2x3x4x4xf32>, tensor<3xf32>) {
  %dx = nn.batch_norm_grad_input %x, %g, %dy {epsilon = 1.0e-05 : f32}
        : (tensor<2x3x4x4xf32>, tensor<3xf32>, tensor<2x3x4x4xf32>) -> tensor<2x3x4x4xf32>
  %dg = nn.batch_norm_grad_scale %x, %dy {epsilon = 1.0e-05 : f32}
        : (tensor<2x3x4x4xf32>, tensor<2x3x4x4xf32>) -> tensor<3xf32>
  return %dx, %dg : tensor<2x3x4x4xf32>, tensor<3xf32>
}

// -----

// Tests that running_stat_update blends the running value with the batch's unbiased variance
// (M / (M - 1) = 32 / 31 times the biased one).
// CHECK-LABEL: func.func @running_var
// CHECK: linalg.generic {{.*}} ins(%arg0, %{{.*}} : tensor<3xf32>, tensor<3xf32>)
// CHECK-DAG: arith.constant 1.03225803 : f32
// CHECK-DAG: arith.constant 0.899999976 : f32
// CHECK-DAG: arith.constant 1.000000e-01 : f32
func.func @running_var(%v: tensor<3xf32>, %x: tensor<2x3x4x4xf32>) -> tensor<3xf32> {
  %v1 = nn.running_stat_update %v, %x {momentum = 1.0e-01 : f32, statistic = "var"}
        : (tensor<3xf32>, tensor<2x3x4x4xf32>) -> tensor<3xf32>
  return %v1 : tensor<3xf32>
}

// -----

// Tests that slice is a tensor.extract_slice with its starts and steps.
// CHECK-LABEL: func.func @slice
// CHECK: tensor.extract_slice %arg0[0, 2, 0, 1] [1, 3, 4, 2] [1, 1, 1, 2] : tensor<1x6x4x4xf32> to tensor<1x3x4x2xf32>
func.func @slice(%x: tensor<1x6x4x4xf32>) -> tensor<1x3x4x2xf32> {
  %y = nn.slice %x {starts = array<i64: 0, 2, 0, 1>, steps = array<i64: 1, 1, 1, 2>} : (tensor<1x6x4x4xf32>) -> tensor<1x3x4x2xf32>
  return %y : tensor<1x3x4x2xf32>
}
