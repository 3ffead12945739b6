// RUN: kiln-opt %s -split-input-file -convert-nn-to-linalg | FileCheck %s

// Tests that relu is a generic selecting 0 for x < 0 (so NaN passes through).
// CHECK-LABEL: func.func @relu
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel"]
// CHECK: arith.cmpf olt
// CHECK: arith.select
func.func @relu(%x: tensor<2x5xf32>) -> tensor<2x5xf32> {
  %y = nn.relu %x : tensor<2x5xf32>
  return %y : tensor<2x5xf32>
}

// -----

// Tests tanh, sigmoid and leaky_relu bodies.
// CHECK-LABEL: func.func @activations
// CHECK: math.tanh
// CHECK: math.exp
// CHECK: arith.cmpf ogt
func.func @activations(%x: tensor<1x4xf32>) -> tensor<1x4xf32> {
  %a = nn.tanh %x : tensor<1x4xf32>
  %b = nn.sigmoid %a : tensor<1x4xf32>
  %c = nn.leaky_relu %b {alpha = 0.1 : f32} : tensor<1x4xf32>
  return %c : tensor<1x4xf32>
}

// -----

// Tests that batch_norm reads its four statistics along dimension 1.
// CHECK: #[[CH:.*]] = affine_map<(d0, d1, d2, d3) -> (d1)>
// CHECK-LABEL: func.func @batch_norm
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[CH]], #[[CH]], #[[CH]], #[[CH]], #{{.*}}]
// CHECK: math.sqrt
func.func @batch_norm(%x: tensor<1x3x2x2xf32>, %g: tensor<3xf32>, %b: tensor<3xf32>, %m: tensor<3xf32>,
                      %v: tensor<3xf32>) -> tensor<1x3x2x2xf32> {
  %y = nn.batch_norm %x, %g, %b, %m, %v {epsilon = 1.0e-05 : f32}
       : (tensor<1x3x2x2xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<1x3x2x2xf32>
  return %y : tensor<1x3x2x2xf32>
}

// -----

// Tests that add broadcasts an operand of extent 1 with a constant-0 index.
// CHECK: #[[B:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, 0, 0)>
// CHECK-LABEL: func.func @add_broadcast
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[B]], #{{.*}}]
// CHECK: arith.addf
func.func @add_broadcast(%a: tensor<1x4x3x3xf32>, %s: tensor<4x1x1xf32>) -> tensor<1x4x3x3xf32> {
  %y = nn.add %a, %s : (tensor<1x4x3x3xf32>, tensor<4x1x1xf32>) -> tensor<1x4x3x3xf32>
  return %y : tensor<1x4x3x3xf32>
}

// -----

// Tests that softmax is max, sum of exp (both reducing the axis), then a divide.
// CHECK-LABEL: func.func @softmax
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// CHECK: arith.maximumf
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// CHECK: math.exp
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel"]
// CHECK: arith.divf
func.func @softmax(%x: tensor<2x10xf32>) -> tensor<2x10xf32> {
  %y = nn.softmax %x {axis = 1 : i64} : tensor<2x10xf32>
  return %y : tensor<2x10xf32>
}

// -----

// Tests that log_softmax shares softmax's reductions and ends with x - max - log(sum).
// CHECK-LABEL: func.func @log_softmax
// CHECK: arith.maximumf
// CHECK: math.exp
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel"]
// CHECK: %[[SHIFTED:.*]] = arith.subf
// CHECK: %[[LOG:.*]] = math.log
// CHECK: arith.subf %[[SHIFTED]], %[[LOG]]
func.func @log_softmax(%x: tensor<2x10xf32>) -> tensor<2x10xf32> {
  %y = nn.log_softmax %x {axis = 1 : i64} : tensor<2x10xf32>
  return %y : tensor<2x10xf32>
}

// -----

// Tests that lrn sums squares over a window of the zero-padded channels (1 before, 2 after for
// size 4), the window's taps being channel-shifted slices read by one elementwise generic, then
// divides by (bias + alpha / size * sum) ^ beta.
// CHECK-LABEL: func.func @lrn
// CHECK: %[[PAD:.*]] = tensor.pad %arg0 low[0, 1, 0, 0] high[0, 2, 0, 0]
// CHECK: tensor.extract_slice %[[PAD]][0, 0, 0, 0] [1, 6, 3, 3] [1, 1, 1, 1]
// CHECK: tensor.extract_slice %[[PAD]][0, 3, 0, 0] [1, 6, 3, 3] [1, 1, 1, 1]
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
// CHECK-COUNT-4: arith.mulf
// CHECK: math.powf
// CHECK: arith.divf
func.func @lrn(%x: tensor<1x6x3x3xf32>) -> tensor<1x6x3x3xf32> {
  %y = nn.lrn %x {size = 4 : i64, alpha = 1.0e-04 : f32, beta = 7.5e-01 : f32, bias = 2.0 : f32}
       : (tensor<1x6x3x3xf32>) -> tensor<1x6x3x3xf32>
  return %y : tensor<1x6x3x3xf32>
}

// -----

// Tests that nn.unary is one elementwise generic with the function's formula: gelu from erf of
// x / sqrt(2), round halves to even, pow of a constant exponent, elu from expm1 in Kahan's form
// (exp, then log of it).
// CHECK-LABEL: func.func @unary
// CHECK: linalg.generic {{.*}}ins(%arg0 : tensor<2x5xf32>)
// CHECK: arith.constant 0.707106769 : f32
// CHECK: math.erf
// CHECK: linalg.generic
// CHECK: math.roundeven
// CHECK: linalg.generic
// CHECK: %[[THREE:.*]] = arith.constant 3.000000e+00 : f32
// CHECK: math.powf %in, %[[THREE]] : f32
// CHECK: linalg.generic
// CHECK: %[[U:.*]] = math.exp %in : f32
// CHECK: math.log %[[U]] : f32
// CHECK: arith.cmpf ogt, %in
// CHECK: arith.select
func.func @unary(%x: tensor<2x5xf32>) -> tensor<2x5xf32> {
  %a = nn.unary %x {fn = "gelu"} : tensor<2x5xf32>
  %b = nn.unary %a {fn = "round"} : tensor<2x5xf32>
  %c = nn.unary %b {fn = "pow", alpha = 3.0 : f32} : tensor<2x5xf32>
  %d = nn.unary %c {fn = "elu", alpha = 0.5 : f32} : tensor<2x5xf32>
  return %d : tensor<2x5xf32>
}

// -----

// Tests that softplus is max(0, x) + log1p(exp(-|x|)), log1p in Kahan's form (x where 1 + x
// rounds to 1).
// CHECK-LABEL: func.func @softplus
// CHECK: %[[ABS:.*]] = math.absf %in : f32
// CHECK: %[[E:.*]] = math.exp
// CHECK: %[[U:.*]] = arith.addf %[[E]]
// CHECK: math.log %[[U]] : f32
// CHECK: %[[LOG1P:.*]] = arith.select %{{.*}}, %[[E]], %{{.*}} : f32
// CHECK: %[[POSITIVE_PART:.*]] = arith.select
// CHECK: arith.addf %[[POSITIVE_PART]], %[[LOG1P]] : f32
func.func @softplus(%x: tensor<7xf32>) -> tensor<7xf32> {
  %y = nn.unary %x {fn = "softplus"} : tensor<7xf32>
  return %y : tensor<7xf32>
}

// -----

// Tests that pow and prelu broadcast like the other binary ops (the [3, 1] operand read at
// (d1, 0)): math.powf, and x > 0 ? x : slope * x.
// CHECK: #[[ID:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK: #[[B:.*]] = affine_map<(d0, d1, d2) -> (d1, 0)>
// CHECK-LABEL: func.func @pow_prelu
// CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[B]], #[[ID]]]
// CHECK: math.powf %in, %in_0 : f32
// CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[B]], #[[ID]]]
// CHECK-DAG: %[[SCALED:.*]] = arith.mulf %in_0, %in : f32
// CHECK-DAG: %[[POSITIVE:.*]] = arith.cmpf ogt, %in, %{{.*}} : f32
// CHECK: arith.select %[[POSITIVE]], %in, %[[SCALED]] : f32
func.func @pow_prelu(%x: tensor<2x3x5xf32>, %e: tensor<3x1xf32>) -> tensor<2x3x5xf32> {
  %p = nn.pow %x, %e : (tensor<2x3x5xf32>, tensor<3x1xf32>) -> tensor<2x3x5xf32>
  %y = nn.prelu %p, %e : (tensor<2x3x5xf32>, tensor<3x1xf32>) -> tensor<2x3x5xf32>
  return %y : tensor<2x3x5xf32>
}
