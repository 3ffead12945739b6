// RUN: kiln-opt %s -split-input-file -nn-drop-identities | FileCheck %s

// Tests that nn.dropout (the identity at inference) is replaced by its input.
// CHECK-LABEL: func.func @dropout
// CHECK-SAME:    (%[[X:.*]]: tensor<1x4x5x5xf32>)
// CHECK-NEXT:    %[[R:.*]] = nn.relu %[[X]]
// CHECK-NEXT:    %[[T:.*]] = nn.tanh %[[R]]
// CHECK-NEXT:    return %[[T]]
func.func @dropout(%x: tensor<1x4x5x5xf32>) -> tensor<1x4x5x5xf32> {
  %r = nn.relu %x : tensor<1x4x5x5xf32>
  %d = nn.dropout %r {rate = 0.5 : f32} : tensor<1x4x5x5xf32>
  %t = nn.tanh %d : tensor<1x4x5x5xf32>
  return %t : tensor<1x4x5x5xf32>
}

// -----

// Tests that a dropout returned as a model output, and dropouts in a row, go too.
// CHECK-LABEL: func.func @dropout_output
// CHECK-SAME:    (%[[X:.*]]: tensor<2x3xf32>)
// CHECK-NEXT:    return %[[X]], %[[X]]
func.func @dropout_output(%x: tensor<2x3xf32>) -> (tensor<2x3xf32> {nn.name = "y"}, tensor<2x3xf32>) {
  %a = nn.dropout %x {rate = 0.1 : f32} : tensor<2x3xf32>
  %b = nn.dropout %a {rate = 0.2 : f32} : tensor<2x3xf32>
  return %b, %a : tensor<2x3xf32>, tensor<2x3xf32>
}

// -----

// Tests that pools with a 1x1 window, stride 1 and no padding, a flatten of a rank-2 value, a
// one-input concat, sum and mean, and a reshape to the same shape are identities too.
// CHECK-LABEL: func.func @no_op_layers
// CHECK-SAME:    (%[[X:.*]]: tensor<1x3x4x4xf32>, %[[Y:.*]]: tensor<1x6xf32>)
// CHECK-NEXT:    return %[[X]], %[[Y]]
func.func @no_op_layers(%x: tensor<1x3x4x4xf32>, %y: tensor<1x6xf32>) -> (tensor<1x3x4x4xf32>, tensor<1x6xf32>) {
  %m = nn.max_pool2d %x {kernel = array<i64: 1, 1>, strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>} : (tensor<1x3x4x4xf32>) -> tensor<1x3x4x4xf32>
  %a = nn.avg_pool2d %m {kernel = array<i64: 1, 1>, strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, count_include_pad = true} : (tensor<1x3x4x4xf32>) -> tensor<1x3x4x4xf32>
  %c = nn.concat %a {axis = 1 : i64} : (tensor<1x3x4x4xf32>) -> tensor<1x3x4x4xf32>
  %s = nn.sum %c : (tensor<1x3x4x4xf32>) -> tensor<1x3x4x4xf32>
  %n = nn.mean %s : (tensor<1x3x4x4xf32>) -> tensor<1x3x4x4xf32>
  %f = nn.flatten %y : (tensor<1x6xf32>) -> tensor<1x6xf32>
  %r = nn.reshape %f {shape = array<i64: 1, 6>} : (tensor<1x6xf32>) -> tensor<1x6xf32>
  return %n, %r : tensor<1x3x4x4xf32>, tensor<1x6xf32>
}

// -----

// Tests that layers which only look alike stay: a 1x1 pool with stride 2, a 2x2 pool with
// stride 1, a flatten or reshape that changes the shape, a two-input concat or sum, and the
// other unary ops.
// CHECK-LABEL: func.func @not_identities
// CHECK:         nn.max_pool2d
// CHECK:         nn.avg_pool2d
// CHECK:         nn.flatten
// CHECK:         nn.concat
// CHECK:         nn.sum
// CHECK:         nn.reshape
// CHECK:         nn.relu
// CHECK:         nn.softmax
func.func @not_identities(%x: tensor<1x3x4x4xf32>) -> (tensor<1x3x2x2xf32>, tensor<1x3x3x3xf32>, tensor<1x48xf32>, tensor<1x6x4x4xf32>, tensor<3x4x4xf32>, tensor<1x3x4x4xf32>) {
  %m = nn.max_pool2d %x {kernel = array<i64: 1, 1>, strides = array<i64: 2, 2>, padding = array<i64: 0, 0, 0, 0>} : (tensor<1x3x4x4xf32>) -> tensor<1x3x2x2xf32>
  %a = nn.avg_pool2d %x {kernel = array<i64: 2, 2>, strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, count_include_pad = true} : (tensor<1x3x4x4xf32>) -> tensor<1x3x3x3xf32>
  %f = nn.flatten %x : (tensor<1x3x4x4xf32>) -> tensor<1x48xf32>
  %c = nn.concat %x, %x {axis = 1 : i64} : (tensor<1x3x4x4xf32>, tensor<1x3x4x4xf32>) -> tensor<1x6x4x4xf32>
  %u = nn.sum %x, %x : (tensor<1x3x4x4xf32>, tensor<1x3x4x4xf32>) -> tensor<1x3x4x4xf32>
  %h = nn.reshape %u {shape = array<i64: 3, 4, 4>} : (tensor<1x3x4x4xf32>) -> tensor<3x4x4xf32>
  %r = nn.relu %x : tensor<1x3x4x4xf32>
  %s = nn.softmax %r {axis = 1 : i64} : tensor<1x3x4x4xf32>
  return %m, %a, %f, %c, %h, %s : tensor<1x3x2x2xf32>, tensor<1x3x3x3xf32>, tensor<1x48xf32>, tensor<1x6x4x4xf32>, tensor<3x4x4xf32>, tensor<1x3x4x4xf32>
}
