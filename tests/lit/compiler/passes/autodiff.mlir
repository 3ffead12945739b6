// RUN: kiln-opt %s -nn-params-to-arguments \
// RUN:   -nn-autodiff="loss=softmax_cross_entropy optimizer=momentum momentum=0.9" | FileCheck %s

// Tests the train step of conv -> relu -> max-pool -> flatten -> dense -> softmax: the softmax
// joins the loss (cross-entropy of the logits), each op gets its backward rule, the input gets no
// gradient, and each parameter one optimizer update per result (parameter, momentum buffer).
// CHECK-LABEL: func.func @train_step
// CHECK-SAME:    (%[[X:.*]]: tensor<2x1x7x7xf32> {nn.name = "x"}, %[[L:.*]]: tensor<2xf32> {nn.name = "labels"},
// CHECK-SAME:     %[[H:.*]]: tensor<2xf32> {nn.name = "hyper"}, %[[W:.*]]: tensor<4x1x3x3xf32> {nn.param = "c.weight"},
// CHECK-SAME:     %[[B:.*]]: tensor<4xf32> {nn.param = "c.bias"}, %[[DW:.*]]: tensor<3x36xf32> {nn.param = "d.weight"},
// CHECK-SAME:     %[[V:.*]]: tensor<4x1x3x3xf32> {nn.state = "c.weight.momentum_buffer"}
// CHECK-SAME:    -> (tensor<1xf32> {nn.name = "loss"}, tensor<4x1x3x3xf32> {nn.param = "c.weight"}
// CHECK:         %[[C:.*]] = nn.conv2d %[[X]], %[[W]], %[[B]] {{.*}}strides = array<i64: 2, 2>
// CHECK:         %[[R:.*]] = nn.relu %[[C]]
// CHECK:         %[[P:.*]] = nn.max_pool2d %[[R]]
// CHECK:         %[[F:.*]] = nn.flatten %[[P]]
// CHECK:         %[[Z:.*]] = nn.dense %[[F]], %[[DW]]
// CHECK-NOT:     nn.softmax
// CHECK:         %[[LOSS:.*]] = nn.softmax_cross_entropy %[[Z]], %[[L]]
// CHECK:         %[[DZ:.*]] = nn.softmax_cross_entropy_grad %[[Z]], %[[L]]
// CHECK:         %[[DDW:.*]] = nn.dense_grad_weight %[[F]], %[[DZ]]
// CHECK:         %[[DF:.*]] = nn.dense_grad_input %[[DZ]], %[[DW]]
// CHECK:         %[[DP:.*]] = nn.reshape %[[DF]] {shape = array<i64: 2, 4, 3, 3>}
// CHECK:         %[[DR:.*]] = nn.max_pool2d_grad %[[R]], %[[DP]]
// CHECK:         %[[DC:.*]] = nn.activation_grad %[[R]], %[[DR]] {activation = "relu"
// CHECK:         %[[DWC:.*]] = nn.conv2d_grad_filter %[[X]], %[[DC]]
// CHECK:         %[[DB:.*]] = nn.bias_grad %[[DC]]
// CHECK-NOT:     nn.conv_transpose2d
// CHECK:         %[[W1:.*]] = nn.optimizer_update %[[W]], %[[DWC]], %[[H]], %[[V]] {momentum = 0.899999976 : f32, optimizer = "momentum", which = 0 : i64}
// CHECK:         %[[V1:.*]] = nn.optimizer_update %[[W]], %[[DWC]], %[[H]], %[[V]] {{.*}}which = 1
// CHECK:         return %[[LOSS]], %[[W1]], {{.*}}, %[[V1]],

func.func @forward(%x: tensor<2x1x7x7xf32> {nn.name = "x"}) -> (tensor<2x3xf32> {nn.name = "y"}) {
  %w = nn.param "c.weight" : tensor<4x1x3x3xf32>
  %b = nn.param "c.bias" : tensor<4xf32>
  %c = nn.conv2d %x, %w, %b {strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>,
         dilations = array<i64: 1, 1>, groups = 1 : i64}
       : (tensor<2x1x7x7xf32>, tensor<4x1x3x3xf32>, tensor<4xf32>) -> tensor<2x4x4x4xf32>
  %r = nn.relu %c : tensor<2x4x4x4xf32>
  %p = nn.max_pool2d %r {kernel = array<i64: 2, 2>, strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>}
       : (tensor<2x4x4x4xf32>) -> tensor<2x4x3x3xf32>
  %f = nn.flatten %p : (tensor<2x4x3x3xf32>) -> tensor<2x36xf32>
  %dw = nn.param "d.weight" : tensor<3x36xf32>
  %z = nn.dense %f, %dw : (tensor<2x36xf32>, tensor<3x36xf32>) -> tensor<2x3xf32>
  %s = nn.softmax %z {axis = 1 : i64} : tensor<2x3xf32>
  return %s : tensor<2x3xf32>
}
