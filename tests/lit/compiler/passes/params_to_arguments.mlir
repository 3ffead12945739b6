// RUN: kiln-opt %s -nn-params-to-arguments | FileCheck %s

// Tests that every nn.param of @forward becomes a trailing argument named by nn.param, one per
// distinct name (a parameter used twice is one argument), in order of first appearance.
// CHECK-LABEL: func.func @forward
// CHECK-SAME:    (%[[X:.*]]: tensor<2x3xf32> {nn.name = "x"},
// CHECK-SAME:     %[[W:.*]]: tensor<3x3xf32> {nn.param = "d.weight"},
// CHECK-SAME:     %[[B:.*]]: tensor<3xf32> {nn.param = "d.bias"})
// CHECK-NOT:     nn.param "
// CHECK:         %[[D1:.*]] = nn.dense %[[X]], %[[W]], %[[B]]
// CHECK:         %[[D2:.*]] = nn.dense %[[D1]], %[[W]], %[[B]]
// CHECK:         return %[[D2]]
func.func @forward(%x: tensor<2x3xf32> {nn.name = "x"}) -> (tensor<2x3xf32> {nn.name = "y"}) {
  %w = nn.param "d.weight" : tensor<3x3xf32>
  %b = nn.param "d.bias" : tensor<3xf32>
  %d1 = nn.dense %x, %w, %b : (tensor<2x3xf32>, tensor<3x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %w2 = nn.param "d.weight" : tensor<3x3xf32>
  %d2 = nn.dense %d1, %w2, %b : (tensor<2x3xf32>, tensor<3x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  return %d2 : tensor<2x3xf32>
}
