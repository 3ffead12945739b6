// RUN: kiln-opt %s -split-input-file -convert-nn-to-linalg | FileCheck %s

// Tests that a conv2d with a constant filter becomes an NHWC/HWCF conv between transposes, with
// the filter re-laid out at compile time, zero padding and the bias as the accumulator's init.
// CHECK-LABEL: func.func @conv_constant_filter
// CHECK: %[[PAD:.*]] = tensor.pad %arg0 low[0, 0, 1, 1] high[0, 0, 1, 1]
// CHECK: %[[INIT:.*]] = linalg.generic {{.*}} ins(%arg1 : tensor<4xf32>) outs({{.*}} : tensor<1x4x4x4xf32>)
// CHECK: %[[X:.*]] = linalg.transpose ins(%[[PAD]] : tensor<1x2x9x9xf32>) {{.*}} permutation = [0, 2, 3, 1]
// CHECK: %[[W:.*]] = arith.constant dense<1.000000e+00> : tensor<3x3x2x4xf32>
// CHECK: %[[C:.*]] = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>} ins(%[[X]], %[[W]] : {{.*}}) outs(%[[INIT]] : tensor<1x4x4x4xf32>)
// CHECK: linalg.transpose ins(%[[C]] : tensor<1x4x4x4xf32>) {{.*}} permutation = [0, 3, 1, 2]
func.func @conv_constant_filter(%x: tensor<1x2x7x7xf32>, %b: tensor<4xf32>) -> tensor<1x4x4x4xf32> {
  %w = arith.constant dense<1.0> : tensor<4x2x3x3xf32>
  %y = nn.conv2d %x, %w, %b {strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>,
         dilations = array<i64: 1, 1>, groups = 1 : i64}
       : (tensor<1x2x7x7xf32>, tensor<4x2x3x3xf32>, tensor<4xf32>) -> tensor<1x4x4x4xf32>
  return %y : tensor<1x4x4x4xf32>
}

// -----

// Tests that a conv2d whose filter is not a constant becomes the same NHWC/HWCF conv, the filter
// re-laid out by a linalg.transpose at run time (so the schedule register-tiles it too).
// CHECK-LABEL: func.func @conv_runtime_filter
// CHECK: linalg.fill
// CHECK: %[[X:.*]] = linalg.transpose ins(%arg0 : tensor<1x3x9x9xf32>) {{.*}} permutation = [0, 2, 3, 1]
// CHECK: %[[W:.*]] = linalg.transpose ins(%arg1 : tensor<5x3x3x3xf32>) {{.*}} permutation = [2, 3, 1, 0]
// CHECK: linalg.conv_2d_nhwc_hwcf {dilations = dense<2> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%[[X]], %[[W]]
func.func @conv_runtime_filter(%x: tensor<1x3x9x9xf32>, %w: tensor<5x3x3x3xf32>) -> tensor<1x5x5x5xf32> {
  %y = nn.conv2d %x, %w {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>,
         dilations = array<i64: 2, 2>, groups = 1 : i64}
       : (tensor<1x3x9x9xf32>, tensor<5x3x3x3xf32>) -> tensor<1x5x5x5xf32>
  return %y : tensor<1x5x5x5xf32>
}

// -----

// Tests that a depthwise conv2d (groups = C = F) with a constant filter uses the NHWC depthwise op.
// CHECK-LABEL: func.func @conv_depthwise
// CHECK: arith.constant dense<2.000000e+00> : tensor<3x3x4xf32>
// CHECK: linalg.depthwise_conv_2d_nhwc_hwc
func.func @conv_depthwise(%x: tensor<1x4x6x6xf32>) -> tensor<1x4x4x4xf32> {
  %w = arith.constant dense<2.0> : tensor<4x1x3x3xf32>
  %y = nn.conv2d %x, %w {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>,
         dilations = array<i64: 1, 1>, groups = 4 : i64}
       : (tensor<1x4x6x6xf32>, tensor<4x1x3x3xf32>) -> tensor<1x4x4x4xf32>
  return %y : tensor<1x4x4x4xf32>
}

// -----

// Tests that a depthwise conv2d whose filter is not a constant uses the NHWC depthwise op too, the
// filter transposed to HWCF and collapsed to HWC at run time.
// CHECK-LABEL: func.func @conv_depthwise_runtime_filter
// CHECK: %[[W:.*]] = linalg.transpose ins(%arg1 : tensor<4x1x3x3xf32>) {{.*}} permutation = [2, 3, 1, 0]
// CHECK: %[[HWC:.*]] = tensor.collapse_shape %[[W]] {{\[}}[0], [1], [2, 3]] : tensor<3x3x1x4xf32> into tensor<3x3x4xf32>
// CHECK: linalg.depthwise_conv_2d_nhwc_hwc {{.*}} ins(%{{.*}}, %[[HWC]]
func.func @conv_depthwise_runtime_filter(%x: tensor<1x4x6x6xf32>, %w: tensor<4x1x3x3xf32>) -> tensor<1x4x4x4xf32> {
  %y = nn.conv2d %x, %w {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>,
         dilations = array<i64: 1, 1>, groups = 4 : i64}
       : (tensor<1x4x6x6xf32>, tensor<4x1x3x3xf32>) -> tensor<1x4x4x4xf32>
  return %y : tensor<1x4x4x4xf32>
}

// -----

// Tests that a grouped conv2d becomes conv_2d_ngchw_gfchw on expanded views, bias added after.
// CHECK-LABEL: func.func @conv_grouped
// CHECK: tensor.expand_shape {{.*}} into tensor<1x2x2x5x5xf32>
// CHECK: tensor.expand_shape {{.*}} into tensor<2x3x2x3x3xf32>
// CHECK: linalg.conv_2d_ngchw_gfchw
// CHECK: tensor.collapse_shape {{.*}} into tensor<1x6x3x3xf32>
// CHECK: arith.addf
func.func @conv_grouped(%x: tensor<1x4x5x5xf32>, %w: tensor<6x2x3x3xf32>, %b: tensor<6xf32>) -> tensor<1x6x3x3xf32> {
  %y = nn.conv2d %x, %w, %b {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>,
         dilations = array<i64: 1, 1>, groups = 2 : i64}
       : (tensor<1x4x5x5xf32>, tensor<6x2x3x3xf32>, tensor<6xf32>) -> tensor<1x6x3x3xf32>
  return %y : tensor<1x6x3x3xf32>
}

// -----

// Tests that dense is a matmul with the weight transposed (at compile time when constant) and
// the bias broadcast as the init.
// CHECK-LABEL: func.func @dense
// CHECK: %[[INIT:.*]] = linalg.generic {{.*}} ins(%arg1 : tensor<2xf32>)
// CHECK: %[[WT:.*]] = arith.constant dense<{{\[\[}}1.000000e+00, 4.000000e+00], {{.*}}> : tensor<3x2xf32>
// CHECK: linalg.matmul ins(%arg0, %[[WT]] : tensor<4x3xf32>, tensor<3x2xf32>) outs(%[[INIT]] : tensor<4x2xf32>)
func.func @dense(%x: tensor<4x3xf32>, %b: tensor<2xf32>) -> tensor<4x2xf32> {
  %w = arith.constant dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32>
  %y = nn.dense %x, %w, %b : (tensor<4x3xf32>, tensor<2x3xf32>, tensor<2xf32>) -> tensor<4x2xf32>
  return %y : tensor<4x2xf32>
}

// -----

// Tests that conv_transpose2d is a stride-1 conv of the stretched input (each cell followed by
// stride - 1 zeros, the kernel's reach around, cropped by the padding) with the filter flipped and
// its channels swapped at compile time.
// CHECK-LABEL: func.func @conv_transpose_constant_filter
// CHECK: %[[X6:.*]] = tensor.expand_shape %arg0 {{\[\[}}0], [1], [2, 3], [4, 5]] {{.*}} into tensor<1x2x3x1x3x1xf32>
// CHECK: %[[P6:.*]] = tensor.pad %[[X6]] low[0, 0, 0, 0, 0, 0] high[0, 0, 0, 1, 0, 1]
// CHECK: %[[S:.*]] = tensor.collapse_shape %[[P6]] {{.*}} into tensor<1x2x6x6xf32>
// CHECK: %[[P:.*]] = tensor.pad %[[S]] low[0, 0, 0, 1] high[0, 0, 0, 0]
// CHECK: tensor.extract_slice %[[P]][0, 0, 0, 1] [1, 2, 6, 6] [1, 1, 1, 1] : tensor<1x2x6x7xf32> to tensor<1x2x6x6xf32>
// CHECK: arith.constant dense<{{\[\[\[\[}}2.000000e+00], [4.000000e+00]], {{\[\[}}1.000000e+00], [3.000000e+00]]]]> : tensor<1x2x2x1xf32>
// CHECK: linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
// CHECK-SAME: outs(%{{.*}} : tensor<1x6x5x1xf32>)
func.func @conv_transpose_constant_filter(%x: tensor<1x2x3x3xf32>) -> tensor<1x1x6x5xf32> {
  %w = arith.constant dense<[[[[1.0, 2.0]]], [[[3.0, 4.0]]]]> : tensor<2x1x1x2xf32>
  %y = nn.conv_transpose2d %x, %w {strides = array<i64: 2, 2>, padding = array<i64: 0, 1, 0, 0>,
         output_padding = array<i64: 1, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64}
       : (tensor<1x2x3x3xf32>, tensor<2x1x1x2xf32>) -> tensor<1x1x6x5xf32>
  return %y : tensor<1x1x6x5xf32>
}

// -----

// Tests that a grouped conv_transpose2d with a run-time filter re-lays it out with a generic that
// reads group f / 2, channel f mod 2 and the flipped taps.
// CHECK: #[[FLIP:.*]] = affine_map<(d0, d1, d2, d3) -> ((d0 floordiv 2) * 3 + d1, d0 mod 2, -d2 + 2, -d3 + 2)>
// CHECK-LABEL: func.func @conv_transpose_grouped
// CHECK: linalg.generic {indexing_maps = [#[[FLIP]], #{{.*}}]{{.*}} ins(%arg1 : tensor<6x2x3x3xf32>) outs(%{{.*}} : tensor<4x3x3x3xf32>)
// CHECK: linalg.conv_2d_ngchw_gfchw
func.func @conv_transpose_grouped(%x: tensor<1x6x4x4xf32>, %w: tensor<6x2x3x3xf32>) -> tensor<1x4x6x6xf32> {
  %y = nn.conv_transpose2d %x, %w {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>,
         output_padding = array<i64: 0, 0>, dilations = array<i64: 1, 1>, groups = 2 : i64}
       : (tensor<1x6x4x4xf32>, tensor<6x2x3x3xf32>) -> tensor<1x4x6x6xf32>
  return %y : tensor<1x4x6x6xf32>
}

// -----

// Tests that matmul by a 2-D rhs is one linalg.contract over (d0, d1, d2) batch and row, d3
// column, d4 the sum, writing the result in its own shape (no reshape after it).
// CHECK-DAG: #[[LHS:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4)>
// CHECK-DAG: #[[RHS:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d4, d3)>
// CHECK-DAG: #[[OUT:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>
// CHECK-LABEL: func.func @matmul_rows
// CHECK: linalg.contract indexing_maps = [#[[LHS]], #[[RHS]], #[[OUT]]] ins(%arg0, %arg1 : tensor<2x3x5x7xf32>, tensor<7x4xf32>)
// CHECK-NOT: tensor.expand_shape
func.func @matmul_rows(%a: tensor<2x3x5x7xf32>, %b: tensor<7x4xf32>) -> tensor<2x3x5x4xf32> {
  %y = nn.matmul %a, %b : (tensor<2x3x5x7xf32>, tensor<7x4xf32>) -> tensor<2x3x5x4xf32>
  return %y : tensor<2x3x5x4xf32>
}

// -----

// Tests that batch dimensions broadcast without copies: the lhs's extent-1 batch dimension is
// folded away and its map skips d1, the rhs's map skips the missing d0.
// CHECK-DAG: #[[LHS:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d2, d4)>
// CHECK-DAG: #[[RHS:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d1, d4, d3)>
// CHECK-LABEL: func.func @matmul_broadcast_batch
// CHECK: %[[FOLDED:.*]] = tensor.collapse_shape %arg0 {{\[\[}}0], [1, 2], [3]] : tensor<2x1x5x7xf32> into tensor<2x5x7xf32>
// CHECK: linalg.contract indexing_maps = [#[[LHS]], #[[RHS]], #{{.*}}] ins(%[[FOLDED]], %arg1 : tensor<2x5x7xf32>, tensor<3x7x4xf32>) outs(%{{.*}} : tensor<2x3x5x4xf32>)
// CHECK-NOT: linalg.generic
func.func @matmul_broadcast_batch(%a: tensor<2x1x5x7xf32>, %b: tensor<3x7x4xf32>) -> tensor<2x3x5x4xf32> {
  %y = nn.matmul %a, %b : (tensor<2x1x5x7xf32>, tensor<3x7x4xf32>) -> tensor<2x3x5x4xf32>
  return %y : tensor<2x3x5x4xf32>
}
