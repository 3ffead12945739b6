// RUN: kiln-opt %s -split-input-file -convert-nn-to-linalg | FileCheck %s

// Tests that flatten is a collapse_shape and dropout disappears.
// CHECK-LABEL: func.func @flatten
// CHECK-NOT: nn.dropout
// CHECK: tensor.collapse_shape %arg0 {{\[\[}}0], [1, 2, 3]] : tensor<2x3x4x5xf32> into tensor<2x60xf32>
func.func @flatten(%x: tensor<2x3x4x5xf32>) -> tensor<2x60xf32> {
  %d = nn.dropout %x {rate = 0.5 : f32} : tensor<2x3x4x5xf32>
  %y = nn.flatten %d : (tensor<2x3x4x5xf32>) -> tensor<2x60xf32>
  return %y : tensor<2x60xf32>
}

// -----

// Tests that concat inserts each input at its offset along the axis.
// CHECK-LABEL: func.func @concat
// CHECK: %[[E:.*]] = tensor.empty() : tensor<1x5x2x2xf32>
// CHECK: %[[A:.*]] = tensor.insert_slice %arg0 into %[[E]][0, 0, 0, 0] [1, 2, 2, 2] [1, 1, 1, 1]
// CHECK: tensor.insert_slice %arg1 into %[[A]][0, 2, 0, 0] [1, 3, 2, 2] [1, 1, 1, 1]
func.func @concat(%a: tensor<1x2x2x2xf32>, %b: tensor<1x3x2x2xf32>) -> tensor<1x5x2x2xf32> {
  %y = nn.concat %a, %b {axis = 1 : i64} : (tensor<1x2x2x2xf32>, tensor<1x3x2x2xf32>) -> tensor<1x5x2x2xf32>
  return %y : tensor<1x5x2x2xf32>
}
