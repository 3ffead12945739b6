// RUN: kiln-opt %s -split-input-file -nn-fold-batch-norm | FileCheck %s

// Tests that a batch_norm after a conv2d with bias becomes new weight and bias parameters of the
// conv, named after the old ones and the batch_norm's layer; the old parameters go.
// CHECK-LABEL: func.func @conv_with_bias
// CHECK-SAME:    (%[[X:.*]]: tensor<2x3x9x9xf32>)
// CHECK-DAG:     %[[W:.*]] = nn.param "c1.weight+bn1" : tensor<4x3x3x3xf32>
// CHECK-DAG:     %[[B:.*]] = nn.param "c1.bias+bn1" : tensor<4xf32>
// CHECK:         %[[C:.*]] = nn.conv2d %[[X]], %[[W]], %[[B]] {dilations = array<i64: 1, 1>, groups = 1 : i64, padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>}
// CHECK-SAME:      -> tensor<2x4x5x5xf32>
// CHECK-NEXT:    %[[R:.*]] = nn.relu %[[C]]
// CHECK-NEXT:    return %[[R]]
// CHECK-NOT:     nn.batch_norm
// CHECK-NOT:     "c1.weight"
// CHECK-NOT:     "bn1.
func.func @conv_with_bias(%x: tensor<2x3x9x9xf32>) -> tensor<2x4x5x5xf32> {
  %w = nn.param "c1.weight" : tensor<4x3x3x3xf32>
  %b = nn.param "c1.bias" : tensor<4xf32>
  %c = nn.conv2d %x, %w, %b {strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<2x3x9x9xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<2x4x5x5xf32>
  %g = nn.param "bn1.weight" : tensor<4xf32>
  %h = nn.param "bn1.bias" : tensor<4xf32>
  %m = nn.param "bn1.running_mean" : tensor<4xf32>
  %v = nn.param "bn1.running_var" : tensor<4xf32>
  %n = nn.batch_norm %c, %g, %h, %m, %v {epsilon = 1.0e-05 : f32} : (tensor<2x4x5x5xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<2x4x5x5xf32>
  %r = nn.relu %n : tensor<2x4x5x5xf32>
  return %r : tensor<2x4x5x5xf32>
}

// -----

// Tests that a conv2d without bias gains one, named after its weight (".weight" -> ".bias"), and
// that the batch_norm's layer name comes from its NameLoc when it has one.
// CHECK-LABEL: func.func @conv_without_bias_named_loc
// CHECK-DAG:     %[[W:.*]] = nn.param "c2.weight+norm" : tensor<4x3x1x1xf32>
// CHECK-DAG:     %[[B:.*]] = nn.param "c2.bias+norm" : tensor<4xf32>
// CHECK:         %[[C:.*]] = nn.conv2d %{{.*}}, %[[W]], %[[B]] {{.*}} : (tensor<1x3x5x5xf32>, tensor<4x3x1x1xf32>, tensor<4xf32>) -> tensor<1x4x5x5xf32>
// CHECK-NEXT:    return %[[C]]
func.func @conv_without_bias_named_loc(%x: tensor<1x3x5x5xf32>) -> tensor<1x4x5x5xf32> {
  %w = nn.param "c2.weight" : tensor<4x3x1x1xf32>
  %c = nn.conv2d %x, %w {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x3x5x5xf32>, tensor<4x3x1x1xf32>) -> tensor<1x4x5x5xf32>
  %g = nn.param "stats.gamma" : tensor<4xf32>
  %h = nn.param "stats.beta" : tensor<4xf32>
  %m = nn.param "stats.mean" : tensor<4xf32>
  %v = nn.param "stats.var" : tensor<4xf32>
  %n = nn.batch_norm %c, %g, %h, %m, %v {epsilon = 1.0e-03 : f32} : (tensor<1x4x5x5xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4x5x5xf32> loc("norm"("model.kiln":3:1))
  return %n : tensor<1x4x5x5xf32>
}

// -----

// Tests that a depthwise (groups = channels) conv2d folds like any other: the output channel is
// dimension 0 of the filter whatever the groups.
// CHECK-LABEL: func.func @depthwise
// CHECK-DAG:     %[[W:.*]] = nn.param "dw.weight+bn" : tensor<6x1x3x3xf32>
// CHECK-DAG:     %[[B:.*]] = nn.param "dw.bias+bn" : tensor<6xf32>
// CHECK:         nn.conv2d %{{.*}}, %[[W]], %[[B]] {{{.*}}groups = 6 : i64{{.*}}}
// CHECK-NOT:     nn.batch_norm
func.func @depthwise(%x: tensor<1x6x7x7xf32>) -> tensor<1x6x7x7xf32> {
  %w = nn.param "dw.weight" : tensor<6x1x3x3xf32>
  %c = nn.conv2d %x, %w {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 6 : i64} : (tensor<1x6x7x7xf32>, tensor<6x1x3x3xf32>) -> tensor<1x6x7x7xf32>
  %g = nn.param "bn.weight" : tensor<6xf32>
  %h = nn.param "bn.bias" : tensor<6xf32>
  %m = nn.param "bn.running_mean" : tensor<6xf32>
  %v = nn.param "bn.running_var" : tensor<6xf32>
  %n = nn.batch_norm %c, %g, %h, %m, %v {epsilon = 1.0e-05 : f32} : (tensor<1x6x7x7xf32>, tensor<6xf32>, tensor<6xf32>, tensor<6xf32>, tensor<6xf32>) -> tensor<1x6x7x7xf32>
  return %n : tensor<1x6x7x7xf32>
}

// -----

// Tests that a batch_norm after a dense layer folds into the dense weight and bias.
// CHECK-LABEL: func.func @dense
// CHECK-DAG:     %[[W:.*]] = nn.param "fc.weight+bn" : tensor<5x7xf32>
// CHECK-DAG:     %[[B:.*]] = nn.param "fc.bias+bn" : tensor<5xf32>
// CHECK:         %[[D:.*]] = nn.dense %{{.*}}, %[[W]], %[[B]] : (tensor<2x7xf32>, tensor<5x7xf32>, tensor<5xf32>) -> tensor<2x5xf32>
// CHECK-NEXT:    return %[[D]]
func.func @dense(%x: tensor<2x7xf32>) -> tensor<2x5xf32> {
  %w = nn.param "fc.weight" : tensor<5x7xf32>
  %b = nn.param "fc.bias" : tensor<5xf32>
  %d = nn.dense %x, %w, %b : (tensor<2x7xf32>, tensor<5x7xf32>, tensor<5xf32>) -> tensor<2x5xf32>
  %g = nn.param "bn.weight" : tensor<5xf32>
  %h = nn.param "bn.bias" : tensor<5xf32>
  %m = nn.param "bn.running_mean" : tensor<5xf32>
  %v = nn.param "bn.running_var" : tensor<5xf32>
  %n = nn.batch_norm %d, %g, %h, %m, %v {epsilon = 1.0e-05 : f32} : (tensor<2x5xf32>, tensor<5xf32>, tensor<5xf32>, tensor<5xf32>, tensor<5xf32>) -> tensor<2x5xf32>
  return %n : tensor<2x5xf32>
}

// -----

// Tests that two batch_norms in a row both fold, the second into the result of the first fold.
// CHECK-LABEL: func.func @chain
// CHECK-DAG:     %[[W:.*]] = nn.param "c.weight+a+b" : tensor<2x1x1x1xf32>
// CHECK-DAG:     %[[B:.*]] = nn.param "c.bias+a+b" : tensor<2xf32>
// CHECK:         nn.conv2d %{{.*}}, %[[W]], %[[B]]
// CHECK-NOT:     nn.batch_norm
// CHECK-NOT:     nn.param
func.func @chain(%x: tensor<1x1x3x3xf32>) -> tensor<1x2x3x3xf32> {
  %w = nn.param "c.weight" : tensor<2x1x1x1xf32>
  %c = nn.conv2d %x, %w {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x1x3x3xf32>, tensor<2x1x1x1xf32>) -> tensor<1x2x3x3xf32>
  %g = nn.param "a.weight" : tensor<2xf32>
  %h = nn.param "a.bias" : tensor<2xf32>
  %m = nn.param "a.running_mean" : tensor<2xf32>
  %v = nn.param "a.running_var" : tensor<2xf32>
  %n = nn.batch_norm %c, %g, %h, %m, %v {epsilon = 1.0e-05 : f32} : (tensor<1x2x3x3xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x3x3xf32>
  %g2 = nn.param "b.weight" : tensor<2xf32>
  %h2 = nn.param "b.bias" : tensor<2xf32>
  %m2 = nn.param "b.running_mean" : tensor<2xf32>
  %v2 = nn.param "b.running_var" : tensor<2xf32>
  %n2 = nn.batch_norm %n, %g2, %h2, %m2, %v2 {epsilon = 1.0e-05 : f32} : (tensor<1x2x3x3xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x3x3xf32>
  return %n2 : tensor<1x2x3x3xf32>
}

// -----

// Tests that a batch_norm is not folded when the conv2d result has another user (it would see
// normalised values): the IR is unchanged.
// CHECK-LABEL: func.func @conv_with_other_user
// CHECK:         %[[W:.*]] = nn.param "c.weight" : tensor<2x1x1x1xf32>
// CHECK:         %[[C:.*]] = nn.conv2d %{{.*}}, %[[W]]
// CHECK:         %[[N:.*]] = nn.batch_norm %[[C]]
// CHECK:         nn.add %[[N]], %[[C]]
// CHECK-NOT:     "c.weight+
func.func @conv_with_other_user(%x: tensor<1x1x3x3xf32>) -> tensor<1x2x3x3xf32> {
  %w = nn.param "c.weight" : tensor<2x1x1x1xf32>
  %c = nn.conv2d %x, %w {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x1x3x3xf32>, tensor<2x1x1x1xf32>) -> tensor<1x2x3x3xf32>
  %g = nn.param "bn.weight" : tensor<2xf32>
  %h = nn.param "bn.bias" : tensor<2xf32>
  %m = nn.param "bn.running_mean" : tensor<2xf32>
  %v = nn.param "bn.running_var" : tensor<2xf32>
  %n = nn.batch_norm %c, %g, %h, %m, %v {epsilon = 1.0e-05 : f32} : (tensor<1x2x3x3xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x3x3xf32>
  %a = nn.add %n, %c : tensor<1x2x3x3xf32>
  return %a : tensor<1x2x3x3xf32>
}

// -----

// Tests that a batch_norm whose input is not a conv2d/dense result (here a relu, and a function
// argument) is left alone.
// CHECK-LABEL: func.func @not_after_conv
// CHECK:         %[[R:.*]] = nn.relu
// CHECK:         %[[N:.*]] = nn.batch_norm %[[R]]
// CHECK:         nn.batch_norm %[[N]]
func.func @not_after_conv(%x: tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32> {
  %r = nn.relu %x : tensor<1x2x3x3xf32>
  %g = nn.param "bn.weight" : tensor<2xf32>
  %h = nn.param "bn.bias" : tensor<2xf32>
  %m = nn.param "bn.running_mean" : tensor<2xf32>
  %v = nn.param "bn.running_var" : tensor<2xf32>
  %n = nn.batch_norm %r, %g, %h, %m, %v {epsilon = 1.0e-05 : f32} : (tensor<1x2x3x3xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x3x3xf32>
  %n2 = nn.batch_norm %n, %g, %h, %m, %v {epsilon = 1.0e-05 : f32} : (tensor<1x2x3x3xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x3x3xf32>
  return %n2 : tensor<1x2x3x3xf32>
}

// -----

// Tests that nothing is folded when a parameter is not an nn.param (no data to fold): here the
// conv2d's filter and the batch_norm's scale are function arguments.
// CHECK-LABEL: func.func @not_params
// CHECK-COUNT-2: nn.batch_norm
// CHECK-NOT:     "c.weight+
func.func @not_params(%x: tensor<1x1x3x3xf32>, %wa: tensor<2x1x1x1xf32>, %ga: tensor<2xf32>) -> (tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>) {
  %c = nn.conv2d %x, %wa {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x1x3x3xf32>, tensor<2x1x1x1xf32>) -> tensor<1x2x3x3xf32>
  %g = nn.param "bn.weight" : tensor<2xf32>
  %h = nn.param "bn.bias" : tensor<2xf32>
  %m = nn.param "bn.running_mean" : tensor<2xf32>
  %v = nn.param "bn.running_var" : tensor<2xf32>
  %n = nn.batch_norm %c, %g, %h, %m, %v {epsilon = 1.0e-05 : f32} : (tensor<1x2x3x3xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x3x3xf32>
  %w = nn.param "c.weight" : tensor<2x1x1x1xf32>
  %c2 = nn.conv2d %x, %w {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x1x3x3xf32>, tensor<2x1x1x1xf32>) -> tensor<1x2x3x3xf32>
  %n2 = nn.batch_norm %c2, %ga, %h, %m, %v {epsilon = 1.0e-05 : f32} : (tensor<1x2x3x3xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> (tensor<1x2x3x3xf32>)
  return %n, %n2 : tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>
}

// -----

// Tests that a weight shared with another conv2d stays for that conv while the folded conv gets
// its own copy.
// CHECK-LABEL: func.func @shared_weight
// CHECK-DAG:     %[[W:.*]] = nn.param "c.weight" : tensor<2x1x1x1xf32>
// CHECK-DAG:     %[[WF:.*]] = nn.param "c.weight+bn" : tensor<2x1x1x1xf32>
// CHECK-DAG:     %[[BF:.*]] = nn.param "c.bias+bn" : tensor<2xf32>
// CHECK-DAG:     nn.conv2d %{{.*}}, %[[WF]], %[[BF]]
// CHECK-DAG:     nn.conv2d %{{.*}}, %[[W]] {
func.func @shared_weight(%x: tensor<1x1x3x3xf32>) -> (tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>) {
  %w = nn.param "c.weight" : tensor<2x1x1x1xf32>
  %c = nn.conv2d %x, %w {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x1x3x3xf32>, tensor<2x1x1x1xf32>) -> tensor<1x2x3x3xf32>
  %g = nn.param "bn.weight" : tensor<2xf32>
  %h = nn.param "bn.bias" : tensor<2xf32>
  %m = nn.param "bn.running_mean" : tensor<2xf32>
  %v = nn.param "bn.running_var" : tensor<2xf32>
  %n = nn.batch_norm %c, %g, %h, %m, %v {epsilon = 1.0e-05 : f32} : (tensor<1x2x3x3xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x3x3xf32>
  %c2 = nn.conv2d %x, %w {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x1x3x3xf32>, tensor<2x1x1x1xf32>) -> tensor<1x2x3x3xf32>
  return %n, %c2 : tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>
}
