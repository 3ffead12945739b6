// RUN: kiln-opt %s -split-input-file -nn-autodiff="loss=mse" | FileCheck %s

// Tests that a broadcast operand gets the gradient summed over the dimensions it was broadcast
// along, then reshaped to its own shape, and the other operand the gradient itself.
// CHECK-LABEL: func.func @train_step
// CHECK-SAME:    %[[X:[^:]*]]: tensor<2x3xf32> {nn.name = "x"}
// CHECK-SAME:    %[[W:[^:]*]]: tensor<3x3xf32> {nn.param = "d.weight"}, %[[B:[^:]*]]: tensor<3xf32> {nn.param = "shift"}
// CHECK:         %[[DY:.*]] = nn.mse_loss_grad
// CHECK-NEXT:    %[[SUM:.*]] = nn.reduce %[[DY]] {axes = array<i64: 0>, kind = "sum"} : (tensor<2x3xf32>) -> tensor<1x3xf32>
// CHECK-NEXT:    %[[DB:.*]] = nn.reshape %[[SUM]] {shape = array<i64: 3>} : (tensor<1x3xf32>) -> tensor<3xf32>
// CHECK-NEXT:    %[[DW:.*]] = nn.dense_grad_weight %[[X]], %[[DY]]
// CHECK:         nn.optimizer_update %[[W]], %[[DW]]
// CHECK:         nn.optimizer_update %[[B]], %[[DB]]
func.func @forward(%x: tensor<2x3xf32> {nn.name = "x"}, %w: tensor<3x3xf32> {nn.param = "d.weight"},
                   %b: tensor<3xf32> {nn.param = "shift"}) -> (tensor<2x3xf32> {nn.name = "y"}) {
  %z = nn.dense %x, %w : (tensor<2x3xf32>, tensor<3x3xf32>) -> tensor<2x3xf32>
  %y = nn.add %z, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

// Tests that matmul's gradients are matmuls with a transposed operand, and that the operand whose
// batch dimension was broadcast gets its gradient summed over it.
// CHECK-LABEL: func.func @train_step
// CHECK-SAME:    %[[A:[^:]*]]: tensor<2x3x4xf32> {nn.param = "a"}, %[[B:[^:]*]]: tensor<4x5xf32> {nn.param = "b"}
// CHECK:         %[[DY:.*]] = nn.mse_loss_grad
// CHECK-NEXT:    %[[BT:.*]] = nn.transpose %[[B]] {perm = array<i64: 1, 0>} : (tensor<4x5xf32>) -> tensor<5x4xf32>
// CHECK-NEXT:    %[[DA:.*]] = nn.matmul %[[DY]], %[[BT]] : (tensor<2x3x5xf32>, tensor<5x4xf32>) -> tensor<2x3x4xf32>
// CHECK-NEXT:    %[[AT:.*]] = nn.transpose %[[A]] {perm = array<i64: 0, 2, 1>} : (tensor<2x3x4xf32>) -> tensor<2x4x3xf32>
// CHECK-NEXT:    %[[DBS:.*]] = nn.matmul %[[AT]], %[[DY]] : (tensor<2x4x3xf32>, tensor<2x3x5xf32>) -> tensor<2x4x5xf32>
// CHECK-NEXT:    %[[SUM:.*]] = nn.reduce %[[DBS]] {axes = array<i64: 0>, kind = "sum"}
// CHECK-NEXT:    %[[DB:.*]] = nn.reshape %[[SUM]] {shape = array<i64: 4, 5>}
// CHECK:         nn.optimizer_update %[[A]], %[[DA]]
// CHECK:         nn.optimizer_update %[[B]], %[[DB]]
func.func @forward(%a: tensor<2x3x4xf32> {nn.param = "a"}, %b: tensor<4x5xf32> {nn.param = "b"})
    -> (tensor<2x3x5xf32> {nn.name = "y"}) {
  %y = nn.matmul %a, %b : (tensor<2x3x4xf32>, tensor<4x5xf32>) -> tensor<2x3x5xf32>
  return %y : tensor<2x3x5xf32>
}

// -----

// Tests that a softmax inside the network (not folded into the loss) gets
// dx = y * (dy - sum(dy * y)) along its axis.
// CHECK-LABEL: func.func @train_step
// CHECK:         %[[S:.*]] = nn.softmax %{{.*}} {axis = 1 : i64}
// CHECK:         %[[DY:.*]] = nn.mse_loss_grad
// CHECK-NEXT:    %[[DS:.*]] = nn.mul %[[DY]], %{{.*}} : (tensor<2x5xf32>, tensor<5xf32>) -> tensor<2x5xf32>
// CHECK:         %[[P:.*]] = nn.mul %[[DS]], %[[S]] : tensor<2x5xf32>
// CHECK-NEXT:    %[[SUM:.*]] = nn.reduce %[[P]] {axes = array<i64: 1>, kind = "sum"} : (tensor<2x5xf32>) -> tensor<2x1xf32>
// CHECK-NEXT:    %[[D:.*]] = nn.sub %[[DS]], %[[SUM]] : (tensor<2x5xf32>, tensor<2x1xf32>) -> tensor<2x5xf32>
// CHECK-NEXT:    %[[DX:.*]] = nn.mul %[[S]], %[[D]] : tensor<2x5xf32>
// CHECK:         nn.optimizer_update %{{.*}}, %[[DX]]
func.func @forward(%x: tensor<2x5xf32> {nn.param = "x"}, %w: tensor<5xf32> {nn.param = "w"})
    -> (tensor<2x5xf32> {nn.name = "y"}) {
  %s = nn.softmax %x {axis = 1 : i64} : tensor<2x5xf32>
  %y = nn.mul %s, %w : (tensor<2x5xf32>, tensor<5xf32>) -> tensor<2x5xf32>
  return %y : tensor<2x5xf32>
}

// -----

// Tests that max routes the gradient with the step of the operands' difference: the lhs where
// it is larger, the rhs the rest (ties included, as the forward op takes the rhs).
// CHECK-LABEL: func.func @train_step
// CHECK-SAME:    %[[A:[^:]*]]: tensor<2x3xf32> {nn.param = "a"}, %[[B:[^:]*]]: tensor<2x3xf32> {nn.param = "b"}
// CHECK:         %[[DY:.*]] = nn.mse_loss_grad
// CHECK-NEXT:    %[[D:.*]] = nn.sub %[[A]], %[[B]]
// CHECK-NEXT:    %[[STEP:.*]] = nn.unary %[[D]] {fn = "step"}
// CHECK-NEXT:    %[[DA:.*]] = nn.mul %[[DY]], %[[STEP]]
// CHECK-NEXT:    %[[DB:.*]] = nn.sub %[[DY]], %[[DA]]
// CHECK:         nn.optimizer_update %[[A]], %[[DA]]
// CHECK:         nn.optimizer_update %[[B]], %[[DB]]
func.func @forward(%a: tensor<2x3xf32> {nn.param = "a"}, %b: tensor<2x3xf32> {nn.param = "b"})
    -> (tensor<2x3xf32> {nn.name = "y"}) {
  %y = nn.max %a, %b : tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

// Tests the rules of variadic mean (the mean of dy and zeros, once per use), slice (slice_grad
// with the slice's starts and steps), transpose (the inverse permutation), unary (unary_grad of
// the op's input) and clip (dy kept where min < x < max, with thresholded_relu's derivative).
// CHECK-LABEL: func.func @train_step
// CHECK-SAME:    %[[X:[^:]*]]: tensor<4x6xf32> {nn.param = "x"}
// CHECK:         %[[C:.*]] = nn.clip %[[X]]
// CHECK:         %[[DY:.*]] = nn.mse_loss_grad
// CHECK-NEXT:    %[[ZERO:.*]] = nn.sub %[[DY]], %[[DY]]
// CHECK-NEXT:    %[[SHARE:.*]] = nn.mean %[[DY]], %[[ZERO]], %[[ZERO]]
// CHECK-NEXT:    %[[TWO:.*]] = nn.add %[[SHARE]], %[[SHARE]]
// CHECK-NEXT:    %[[DS:.*]] = nn.add %[[TWO]], %[[SHARE]]
// CHECK-NEXT:    %[[DT:.*]] = nn.slice_grad %[[DS]] {starts = array<i64: 5, 0>, steps = array<i64: -2, 3>} : (tensor<3x2xf32>) -> tensor<6x4xf32>
// CHECK-NEXT:    %[[DG:.*]] = nn.transpose %[[DT]] {perm = array<i64: 1, 0>} : (tensor<6x4xf32>) -> tensor<4x6xf32>
// CHECK-NEXT:    %[[DC:.*]] = nn.unary_grad %[[C]], %[[DG]] {fn = "gelu"}
// CHECK-NEXT:    %[[ABOVE:.*]] = nn.unary_grad %[[X]], %[[DC]] {alpha = 0.000000e+00 : f32, fn = "thresholded_relu"}
// CHECK-NEXT:    %[[NEG:.*]] = nn.unary %[[X]] {fn = "neg"}
// CHECK-NEXT:    %[[DX:.*]] = nn.unary_grad %[[NEG]], %[[ABOVE]] {alpha = -6.000000e+00 : f32, fn = "thresholded_relu"}
// CHECK:         nn.optimizer_update %[[X]], %[[DX]]
func.func @forward(%x: tensor<4x6xf32> {nn.param = "x"}) -> (tensor<3x2xf32> {nn.name = "y"}) {
  %c = nn.clip %x {min = 0.0 : f32, max = 6.0 : f32} : tensor<4x6xf32>
  %g = nn.unary %c {fn = "gelu"} : tensor<4x6xf32>
  %t = nn.transpose %g {perm = array<i64: 1, 0>} : (tensor<4x6xf32>) -> tensor<6x4xf32>
  %s = nn.slice %t {starts = array<i64: 5, 0>, steps = array<i64: -2, 3>} : (tensor<6x4xf32>) -> tensor<3x2xf32>
  %m = nn.mean %s, %s, %s : (tensor<3x2xf32>, tensor<3x2xf32>, tensor<3x2xf32>) -> tensor<3x2xf32>
  return %m : tensor<3x2xf32>
}
