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

// Tests that concat is a tensor.concat along the axis.
// CHECK-LABEL: func.func @concat
// CHECK: tensor.concat dim(1) %arg0, %arg1 : (tensor<1x2x2x2xf32>, tensor<1x3x2x2xf32>) -> tensor<1x5x2x2xf32>
func.func @concat(%a: tensor<1x2x2x2xf32>, %b: tensor<1x3x2x2xf32>) -> tensor<1x5x2x2xf32> {
  %y = nn.concat %a, %b {axis = 1 : i64} : (tensor<1x2x2x2xf32>, tensor<1x3x2x2xf32>) -> tensor<1x5x2x2xf32>
  return %y : tensor<1x5x2x2xf32>
}

// -----

// Tests that reshape collapses to one dimension and expands to the new shape.
// CHECK-LABEL: func.func @reshape
// CHECK: %[[F:.*]] = tensor.collapse_shape %arg0 {{\[\[}}0, 1, 2]] : tensor<2x3x4xf32> into tensor<24xf32>
// CHECK: tensor.expand_shape %[[F]] {{\[\[}}0, 1]] output_shape [6, 4] : tensor<24xf32> into tensor<6x4xf32>
func.func @reshape(%x: tensor<2x3x4xf32>) -> tensor<6x4xf32> {
  %y = nn.reshape %x {shape = array<i64: 6, 4>} : (tensor<2x3x4xf32>) -> tensor<6x4xf32>
  return %y : tensor<6x4xf32>
}

// -----

// Tests that pad splits ONNX's begins-then-ends list into tensor.pad's low and high.
// CHECK-LABEL: func.func @pad
// CHECK: %[[V:.*]] = arith.constant 1.500000e+00 : f32
// CHECK: tensor.pad %arg0 low[0, 1, 2, 0] high[0, 0, 1, 3]
// CHECK: tensor.yield %[[V]]
func.func @pad(%x: tensor<1x2x3x3xf32>) -> tensor<1x3x6x6xf32> {
  %y = nn.pad %x {pads = array<i64: 0, 1, 2, 0, 0, 0, 1, 3>, value = 1.5 : f32}
       : (tensor<1x2x3x3xf32>) -> tensor<1x3x6x6xf32>
  return %y : tensor<1x3x6x6xf32>
}

// -----

// Tests that nearest resize reads the input with one tensor.extract at rows and columns
// floor(dst * in / out) from compile-time tables: 3 -> 7 rows, 2 -> 4 columns.
// CHECK-LABEL: func.func @resize_nearest
// CHECK-DAG: %[[ROWS:.*]] = arith.constant dense<[0, 0, 0, 1, 1, 2, 2]> : tensor<7xi64>
// CHECK-DAG: %[[COLS:.*]] = arith.constant dense<[0, 0, 1, 1]> : tensor<4xi64>
// CHECK: linalg.generic {{.*}} ins(%[[ROWS]], %[[COLS]] : tensor<7xi64>, tensor<4xi64>)
// CHECK-COUNT-1: tensor.extract %arg0
// CHECK-NOT: tensor.extract
func.func @resize_nearest(%x: tensor<1x2x3x2xf32>) -> tensor<1x2x7x4xf32> {
  %y = nn.resize %x {mode = "nearest", size = array<i64: 7, 4>, coordinate_mode = "asymmetric"} : (tensor<1x2x3x2xf32>) -> tensor<1x2x7x4xf32>
  return %y : tensor<1x2x7x4xf32>
}

// -----

// Tests that bilinear resize (half-pixel) blends four taps whose rows, columns and weights are
// compile-time tables: 2 -> 4 samples source coordinates -.25, .25, .75, 1.25, so rows 0, 0, 0, 1
// (the edge repeated) at weights .25, .75, .25, .75 and rows 0, 1, 1, 1 at .75, .25, .75, .25.
// CHECK-LABEL: func.func @resize_bilinear
// CHECK-DAG: arith.constant dense<[0, 0, 0, 1]> : tensor<4xi64>
// CHECK-DAG: arith.constant dense<[0, 1, 1, 1]> : tensor<4xi64>
// CHECK-DAG: arith.constant dense<[2.500000e-01, 7.500000e-01, 2.500000e-01, 7.500000e-01]> : tensor<4xf32>
// CHECK-DAG: arith.constant dense<[7.500000e-01, 2.500000e-01, 7.500000e-01, 2.500000e-01]> : tensor<4xf32>
// CHECK: linalg.generic
// CHECK-COUNT-4: tensor.extract %arg0
func.func @resize_bilinear(%x: tensor<1x1x2x2xf32>) -> tensor<1x1x4x4xf32> {
  %y = nn.resize %x {mode = "bilinear", size = array<i64: 4, 4>}
       : (tensor<1x1x2x2xf32>) -> tensor<1x1x4x4xf32>
  return %y : tensor<1x1x4x4xf32>
}

// -----

// Tests that transpose is a linalg.transpose with the op's permutation.
// CHECK-LABEL: func.func @transpose
// CHECK: linalg.transpose ins(%arg0 : tensor<2x3x5xf32>) outs(%{{.*}} : tensor<5x2x3xf32>) permutation = [2, 0, 1]
func.func @transpose(%x: tensor<2x3x5xf32>) -> tensor<5x2x3xf32> {
  %y = nn.transpose %x {perm = array<i64: 2, 0, 1>} : (tensor<2x3x5xf32>) -> tensor<5x2x3xf32>
  return %y : tensor<5x2x3xf32>
}

// -----

// Tests that a slice with positive steps is a tensor.extract_slice with its starts and steps.
// CHECK-LABEL: func.func @slice
// CHECK: tensor.extract_slice %arg0[0, 2, 0, 1] [1, 3, 4, 2] [1, 1, 1, 2] : tensor<1x6x4x4xf32> to tensor<1x3x4x2xf32>
func.func @slice(%x: tensor<1x6x4x4xf32>) -> tensor<1x3x4x2xf32> {
  %y = nn.slice %x {starts = array<i64: 0, 2, 0, 1>, steps = array<i64: 1, 1, 1, 2>} : (tensor<1x6x4x4xf32>) -> tensor<1x3x4x2xf32>
  return %y : tensor<1x3x4x2xf32>
}

// -----

// Tests that a slice with a negative step is a generic reading input[start + i * step].
// CHECK: #[[BACKWARDS:.*]] = affine_map<(d0, d1, d2) -> (-d0 + 2, d1 * -2 + 6, d2 * 3)>
// CHECK-LABEL: func.func @slice_negative_steps
// CHECK: linalg.generic {indexing_maps = [#[[BACKWARDS]], #{{.*}}]{{.*}} ins(%arg0 : tensor<3x7x9xf32>)
// CHECK-NOT: tensor.extract_slice
func.func @slice_negative_steps(%x: tensor<3x7x9xf32>) -> tensor<3x3x3xf32> {
  %y = nn.slice %x {starts = array<i64: 2, 6, 0>, steps = array<i64: -1, -2, 3>} : (tensor<3x7x9xf32>) -> tensor<3x3x3xf32>
  return %y : tensor<3x3x3xf32>
}

// -----

// Tests that broadcast is a generic reading the input aligned at the last dimension, its extent-1
// dimension at 0.
// CHECK: #[[READ:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, 0, d3)>
// CHECK-LABEL: func.func @broadcast
// CHECK: linalg.generic {indexing_maps = [#[[READ]], #{{.*}}]{{.*}} ins(%arg0 : tensor<3x1x5xf32>) outs(%{{.*}} : tensor<2x3x7x5xf32>)
func.func @broadcast(%x: tensor<3x1x5xf32>) -> tensor<2x3x7x5xf32> {
  %y = nn.broadcast %x : (tensor<3x1x5xf32>) -> tensor<2x3x7x5xf32>
  return %y : tensor<2x3x7x5xf32>
}
