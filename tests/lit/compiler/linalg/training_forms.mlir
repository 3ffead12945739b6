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

// Tests that unary_grad multiplies dy by fn'(x) in one generic over x and dy (gelu: the normal
// cdf from erf plus x times the density).
// CHECK-LABEL: func.func @unary_grad_gelu
// CHECK: linalg.generic {{.*}}ins(%arg0, %arg1 : tensor<2x5xf32>, tensor<2x5xf32>)
// CHECK: math.erf
// CHECK: math.exp
// CHECK: arith.mulf %in_0, %{{.*}} : f32
func.func @unary_grad_gelu(%x: tensor<2x5xf32>, %dy: tensor<2x5xf32>) -> tensor<2x5xf32> {
  %dx = nn.unary_grad %x, %dy {fn = "gelu"} : (tensor<2x5xf32>, tensor<2x5xf32>) -> tensor<2x5xf32>
  return %dx : tensor<2x5xf32>
}

// -----

// Tests that the functions without a useful derivative give dy * 0.
// CHECK-LABEL: func.func @unary_grad_floor
// CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: arith.mulf %in_0, %[[ZERO]] : f32
func.func @unary_grad_floor(%x: tensor<7xf32>, %dy: tensor<7xf32>) -> tensor<7xf32> {
  %dx = nn.unary_grad %x, %dy {fn = "floor"} : (tensor<7xf32>, tensor<7xf32>) -> tensor<7xf32>
  return %dx : tensor<7xf32>
}

// -----

// Tests that reduce_grad of max counts the ties (a sum over the reduced axis of x == y), then
// shares dy among them, reading y, dy and the count broadcast along the reduced axis.
// CHECK: #[[SPREAD:.*]] = affine_map<(d0, d1, d2) -> (d0, 0, d2)>
// CHECK-LABEL: func.func @reduce_grad_max
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction", "parallel"]
// CHECK: arith.cmpf oeq
// CHECK: tensor.expand_shape {{.*}} into tensor<2x1x5xf32>
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[SPREAD]], #[[SPREAD]], #[[SPREAD]], #{{.*}}]
// CHECK-NEXT: ^bb0(%[[X:.*]]: f32, %[[Y:.*]]: f32, %[[DY:.*]]: f32, %[[TIES:.*]]: f32, %{{.*}}: f32):
// CHECK-DAG: %[[SHARE:.*]] = arith.divf %[[DY]], %[[TIES]] : f32
// CHECK-DAG: %[[AT_MAX:.*]] = arith.cmpf oeq, %[[X]], %[[Y]] : f32
// CHECK: arith.select %[[AT_MAX]], %[[SHARE]], %{{.*}} : f32
func.func @reduce_grad_max(%x: tensor<2x3x5xf32>, %y: tensor<2x1x5xf32>, %dy: tensor<2x1x5xf32>) -> tensor<2x3x5xf32> {
  %dx = nn.reduce_grad %x, %y, %dy {kind = "max", axes = array<i64: 1>}
        : (tensor<2x3x5xf32>, tensor<2x1x5xf32>, tensor<2x1x5xf32>) -> tensor<2x3x5xf32>
  return %dx : tensor<2x3x5xf32>
}

// -----

// Tests that reduce_grad of mean divides dy by the number of elements reduced (2 * 5), and that
// arg_max's gradient is zeros.
// CHECK-LABEL: func.func @reduce_grad_mean
// CHECK: arith.constant 1.000000e+01 : f32
// CHECK: arith.divf
// CHECK-LABEL: func.func @reduce_grad_arg_max
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<2x3x5xf32>)
// CHECK-NOT: linalg.generic
func.func @reduce_grad_mean(%x: tensor<2x3x5xf32>, %y: tensor<1x3x1xf32>, %dy: tensor<1x3x1xf32>) -> tensor<2x3x5xf32> {
  %dx = nn.reduce_grad %x, %y, %dy {kind = "mean", axes = array<i64: 0, 2>}
        : (tensor<2x3x5xf32>, tensor<1x3x1xf32>, tensor<1x3x1xf32>) -> tensor<2x3x5xf32>
  return %dx : tensor<2x3x5xf32>
}
func.func @reduce_grad_arg_max(%x: tensor<2x3x5xf32>, %y: tensor<2x1x5xf32>, %dy: tensor<2x1x5xf32>) -> tensor<2x3x5xf32> {
  %dx = nn.reduce_grad %x, %y, %dy {kind = "arg_max", axes = array<i64: 1>}
        : (tensor<2x3x5xf32>, tensor<2x1x5xf32>, tensor<2x1x5xf32>) -> tensor<2x3x5xf32>
  return %dx : tensor<2x3x5xf32>
}

// -----

// Tests that slice_grad is one generic over the slice's input shape that, per dimension, takes
// i = (j - start) / step where the remainder is 0 and i is in range (negative steps alike), reads
// dy there with tensor.extract and selects 0 elsewhere.
// CHECK-LABEL: func.func @slice_grad
// CHECK: linalg.generic {{.*}}outs(%{{.*}} : tensor<4x7xf32>)
// CHECK-COUNT-2: arith.remsi
// CHECK: tensor.extract %arg0
// CHECK: arith.select
func.func @slice_grad(%dy: tensor<4x3xf32>) -> tensor<4x7xf32> {
  %dx = nn.slice_grad %dy {starts = array<i64: 3, 1>, steps = array<i64: -1, 2>} : (tensor<4x3xf32>) -> tensor<4x7xf32>
  return %dx : tensor<4x7xf32>
}
