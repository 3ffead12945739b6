// Tests that the data-movement, reduction, matmul and function ops print and parse back unchanged
// and infer their result types.
// RUN: kiln-opt %s | kiln-opt | FileCheck %s

// CHECK-LABEL: func.func @ops
func.func @ops(%x: tensor<2x8x5x7xf32>, %v: tensor<3x4xf32>, %a: tensor<2x1x6x4xf32>,
               %b: tensor<3x4x5xf32>, %s: tensor<8x1x1xf32>) -> tensor<2x8x5x7xf32> {
  // CHECK: nn.unary %{{.*}} {alpha = 5.000000e-01 : f32, fn = "elu"} : tensor<2x8x5x7xf32>
  %e = nn.unary %x {fn = "elu", alpha = 0.5 : f32} : tensor<2x8x5x7xf32>
  // CHECK: nn.unary %{{.*}} {fn = "gelu"} : tensor<2x8x5x7xf32>
  %g = nn.unary %e {fn = "gelu"} : tensor<2x8x5x7xf32>
  // CHECK: nn.pow %{{.*}}, %{{.*}} : tensor<2x8x5x7xf32>
  %p = nn.pow %g, %x : tensor<2x8x5x7xf32>
  // CHECK: nn.prelu %{{.*}}, %{{.*}} : (tensor<2x8x5x7xf32>, tensor<8x1x1xf32>) -> tensor<2x8x5x7xf32>
  %r = nn.prelu %p, %s : (tensor<2x8x5x7xf32>, tensor<8x1x1xf32>) -> tensor<2x8x5x7xf32>
  // CHECK: nn.transpose %{{.*}} {perm = array<i64: 0, 2, 3, 1>} : (tensor<2x8x5x7xf32>) -> tensor<2x5x7x8xf32>
  %t = nn.transpose %r {perm = array<i64: 0, 2, 3, 1>} : (tensor<2x8x5x7xf32>) -> tensor<2x5x7x8xf32>
  // CHECK: nn.reduce %{{.*}} {axes = array<i64: 3>, kind = "mean"} : (tensor<2x5x7x8xf32>) -> tensor<2x5x7x1xf32>
  %m = nn.reduce %t {kind = "mean", axes = array<i64: 3>} : (tensor<2x5x7x8xf32>) -> tensor<2x5x7x1xf32>
  // CHECK: nn.reduce %{{.*}} {axes = array<i64: 1>, kind = "arg_max"} : (tensor<2x8x5x7xf32>) -> tensor<2x1x5x7xf32>
  %am = nn.reduce %x {kind = "arg_max", axes = array<i64: 1>} : (tensor<2x8x5x7xf32>) -> tensor<2x1x5x7xf32>
  // CHECK: nn.slice %{{.*}} {starts = array<i64: 1, 7, 4, 0>, steps = array<i64: -1, -2, -2, 3>} : (tensor<2x8x5x7xf32>) -> tensor<2x4x3x3xf32>
  %sl = nn.slice %x {starts = array<i64: 1, 7, 4, 0>, steps = array<i64: -1, -2, -2, 3>} : (tensor<2x8x5x7xf32>) -> tensor<2x4x3x3xf32>
  // CHECK: nn.broadcast %{{.*}} : (tensor<8x1x1xf32>) -> tensor<2x8x5x7xf32>
  %bc = nn.broadcast %s : (tensor<8x1x1xf32>) -> tensor<2x8x5x7xf32>
  // CHECK: nn.matmul %{{.*}}, %{{.*}} : (tensor<2x1x6x4xf32>, tensor<3x4x5xf32>) -> tensor<2x3x6x5xf32>
  %mm = nn.matmul %a, %b : (tensor<2x1x6x4xf32>, tensor<3x4x5xf32>) -> tensor<2x3x6x5xf32>
  // CHECK: nn.matmul %{{.*}}, %{{.*}} : (tensor<3x4xf32>, tensor<4x5xf32>) -> tensor<3x5xf32>
  %b0 = nn.slice %b {starts = array<i64: 0, 0, 0>, steps = array<i64: 1, 1, 1>} : (tensor<3x4x5xf32>) -> tensor<1x4x5xf32>
  %b2 = nn.reshape %b0 {shape = array<i64: 4, 5>} : (tensor<1x4x5xf32>) -> tensor<4x5xf32>
  %m2 = nn.matmul %v, %b2 : (tensor<3x4xf32>, tensor<4x5xf32>) -> tensor<3x5xf32>
  return %bc : tensor<2x8x5x7xf32>
}

// CHECK-LABEL: func.func @training
func.func @training(%x: tensor<2x8x5xf32>, %y: tensor<2x1x5xf32>, %dy: tensor<2x1x5xf32>, %d: tensor<4x3xf32>)
    -> (tensor<2x8x5xf32>, tensor<2x8x5xf32>, tensor<4x7xf32>) {
  // CHECK: nn.unary_grad %{{.*}}, %{{.*}} {fn = "mish"} : (tensor<2x8x5xf32>, tensor<2x8x5xf32>) -> tensor<2x8x5xf32>
  %u = nn.unary_grad %x, %x {fn = "mish"} : (tensor<2x8x5xf32>, tensor<2x8x5xf32>) -> tensor<2x8x5xf32>
  // CHECK: nn.reduce_grad %{{.*}}, %{{.*}}, %{{.*}} {axes = array<i64: 1>, kind = "max"}
  %r = nn.reduce_grad %x, %y, %dy {kind = "max", axes = array<i64: 1>}
       : (tensor<2x8x5xf32>, tensor<2x1x5xf32>, tensor<2x1x5xf32>) -> tensor<2x8x5xf32>
  // CHECK: nn.slice_grad %{{.*}} {starts = array<i64: 0, 1>, steps = array<i64: 1, 2>} : (tensor<4x3xf32>) -> tensor<4x7xf32>
  %s = nn.slice_grad %d {starts = array<i64: 0, 1>, steps = array<i64: 1, 2>} : (tensor<4x3xf32>) -> tensor<4x7xf32>
  return %u, %r, %s : tensor<2x8x5xf32>, tensor<2x8x5xf32>, tensor<4x7xf32>
}
