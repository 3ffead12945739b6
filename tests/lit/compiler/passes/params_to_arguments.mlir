// RUN: kiln-opt %s -nn-params-to-arguments | FileCheck %s

// Tests that every nn.param of @forward becomes a trailing argument named by nn.param, one per
// distinct name (a parameter used twice is one argument), in order of first appearance, and that
// a `constant` nn.param stays an op (data compiled in, never trained).
// CHECK-LABEL: func.func @forward
// CHECK-SAME:    (%[[X:.*]]: tensor<2x3xf32> {nn.name = "x"},
// CHECK-SAME:     %[[W:.*]]: tensor<3x3xf32> {nn.param = "d.weight"},
// CHECK-SAME:     %[[B:.*]]: tensor<3xf32> {nn.param = "d.bias"})
// CHECK-NOT:     nn.param "d.
// CHECK:         %[[D1:.*]] = nn.dense %[[X]], %[[W]], %[[B]]
// CHECK:         %[[D2:.*]] = nn.dense %[[D1]], %[[W]], %[[B]]
// CHECK:         %[[E:.*]] = nn.param "s.epsilon" constant : tensor<1xf32>
// CHECK:         %[[Y:.*]] = nn.add %[[D2]], %[[E]]
// CHECK:         return %[[Y]]
func.func @forward(%x: tensor<2x3xf32> {nn.name = "x"}) -> (tensor<2x3xf32> {nn.name = "y"}) {
  %w = nn.param "d.weight" : tensor<3x3xf32>
  %b = nn.param "d.bias" : tensor<3xf32>
  %d1 = nn.dense %x, %w, %b : (tensor<2x3xf32>, tensor<3x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %w2 = nn.param "d.weight" : tensor<3x3xf32>
  %d2 = nn.dense %d1, %w2, %b : (tensor<2x3xf32>, tensor<3x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %e = nn.param "s.epsilon" constant : tensor<1xf32>
  %y = nn.add %d2, %e : (tensor<2x3xf32>, tensor<1xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}
