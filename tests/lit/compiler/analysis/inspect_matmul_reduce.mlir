// Tests that `kiln inspect` counts 2*M*N*K FLOPs per batch element of nn.matmul (batch broadcast),
// one per input element of nn.reduce, and none for transpose, slice, broadcast and pad; a
// constant (not a parameter) counts in the footer apart.
// RUN: kiln inspect %s | FileCheck %s
// CHECK:      #1     transpose  2x3x5x4            0      0
// CHECK-NEXT: #2     matmul     2x3x4x6           90   1440
// CHECK-NEXT: #3     reduce     2x3x4x1            0    144
// CHECK-NEXT: #4     slice      2x3x2x1            0      0
// CHECK-NEXT: #5     broadcast  2x3x2x3            0      0
// CHECK-NEXT: #6     pad        2x3x3x3            0      0
// CHECK-NEXT: #7     add        2x3x3x3            0     54
// CHECK:      total                               90   1638
// CHECK:      parameters 90 ({{.*}}) + 1 constants, FLOPs 1638
func.func @forward(%x: tensor<2x3x4x5xf32> {nn.name = "x"}) -> (tensor<2x3x3x3xf32> {nn.name = "y"}) {
  %w = nn.param "w" : tensor<3x5x6xf32>
  %e = nn.param "e" constant : tensor<1xf32>
  %t = nn.transpose %x {perm = array<i64: 0, 1, 3, 2>} : (tensor<2x3x4x5xf32>) -> tensor<2x3x5x4xf32>
  %m = nn.matmul %x, %w : (tensor<2x3x4x5xf32>, tensor<3x5x6xf32>) -> tensor<2x3x4x6xf32>
  %r = nn.reduce %m {kind = "sum", axes = array<i64: 3>} : (tensor<2x3x4x6xf32>) -> tensor<2x3x4x1xf32>
  %s = nn.slice %r {starts = array<i64: 0, 0, 3, 0>, steps = array<i64: 1, 1, -2, 1>}
       : (tensor<2x3x4x1xf32>) -> tensor<2x3x2x1xf32>
  %b = nn.broadcast %s : (tensor<2x3x2x1xf32>) -> tensor<2x3x2x3xf32>
  %p = nn.pad %b {pads = array<i64: 0, 0, 1, 0, 0, 0, 0, 0>, value = 0.0 : f32}
       : (tensor<2x3x2x3xf32>) -> tensor<2x3x3x3xf32>
  %q = nn.add %p, %e : (tensor<2x3x3x3xf32>, tensor<1xf32>) -> tensor<2x3x3x3xf32>
  return %q : tensor<2x3x3x3xf32>
}
