// RUN: kiln-opt %s -nn-params-to-arguments -nn-autodiff="loss=mse optimizer=adam" | FileCheck %s

// Tests the training forms and the rules of a DAG: dropout gets a seeded mask (the same op on
// the gradient), batch_norm uses batch statistics and updates its running statistics (which get
// no optimizer state), concat's gradient is sliced, a value used twice sums its gradients, avg
// pool and tanh have their rules, and mse's labels have the output's shape. Adam keeps exp_avg
// and exp_avg_sq per trained parameter.
// CHECK-LABEL: func.func @train_step
// CHECK-SAME:    %[[T:[a-z0-9]+]]: tensor<2x8x2x2xf32> {nn.name = "labels"}, %[[H:[a-z0-9]+]]: tensor<2xf32> {nn.name = "hyper"}
// CHECK-SAME:    %[[G:[a-z0-9]+]]: tensor<4xf32> {nn.param = "bn.weight"}, %[[S:[a-z0-9]+]]: tensor<4xf32> {nn.param = "bn.bias"},
// CHECK-SAME:    %[[M:[a-z0-9]+]]: tensor<4xf32> {nn.param = "bn.running_mean"}, %[[VAR:[a-z0-9]+]]: tensor<4xf32> {nn.param = "bn.running_var"},
// CHECK-SAME:    {nn.state = "bn.weight.exp_avg"}
// CHECK-SAME:    {nn.state = "bn.bias.exp_avg_sq"})
// CHECK-NOT:     running_mean.exp_avg
// CHECK:         %[[BN:.*]] = nn.batch_norm_train %{{.*}}, %[[G]], %[[S]]
// CHECK:         %[[M1:.*]] = nn.running_stat_update %[[M]], {{.*}}statistic = "mean"
// CHECK:         %[[V1:.*]] = nn.running_stat_update %[[VAR]], {{.*}}statistic = "var"
// CHECK:         %[[D:.*]] = nn.dropout_train %[[BN]], %[[H]] {rate = 5.000000e-01 : f32, seed = 0 : i64}
// CHECK:         %[[A:.*]] = nn.tanh %[[D]]
// CHECK:         %[[CAT:.*]] = nn.concat %[[A]], %[[A]]
// CHECK:         %[[Y:.*]] = nn.avg_pool2d %[[CAT]]
// CHECK:         nn.mse_loss %[[Y]], %[[T]]
// CHECK:         %[[DY:.*]] = nn.mse_loss_grad %[[Y]], %[[T]]
// CHECK:         %[[DCAT:.*]] = nn.avg_pool2d_grad %[[DY]]
// CHECK:         %[[DA1:.*]] = nn.slice %[[DCAT]] {starts = array<i64: 0, 0, 0, 0>, steps = array<i64: 1, 1, 1, 1>}
// CHECK:         %[[DA2:.*]] = nn.slice %[[DCAT]] {starts = array<i64: 0, 4, 0, 0>, steps = array<i64: 1, 1, 1, 1>}
// CHECK:         %[[DA:.*]] = nn.add %[[DA1]], %[[DA2]]
// CHECK:         %[[DD:.*]] = nn.activation_grad %[[A]], %[[DA]] {activation = "tanh"
// CHECK:         %[[DBN:.*]] = nn.dropout_train %[[DD]], %[[H]] {rate = 5.000000e-01 : f32, seed = 0 : i64}
// CHECK:         nn.batch_norm_grad_scale %{{.*}}, %[[DBN]]
// CHECK:         nn.bias_grad %[[DBN]]
// CHECK:         nn.batch_norm_grad_input
// CHECK:         nn.optimizer_update %[[G]], {{.*}}optimizer = "adam"{{.*}}which = 0
// CHECK:         return {{.*}}, %[[M1]], %[[V1]],
func.func @forward(%x: tensor<2x4x4x4xf32> {nn.name = "x"}) -> (tensor<2x8x2x2xf32> {nn.name = "y"}) {
  %w = nn.param "c.weight" : tensor<4x4x1x1xf32>
  %c = nn.conv2d %x, %w {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>,
         dilations = array<i64: 1, 1>, groups = 1 : i64}
       : (tensor<2x4x4x4xf32>, tensor<4x4x1x1xf32>) -> tensor<2x4x4x4xf32>
  %g = nn.param "bn.weight" : tensor<4xf32>
  %s = nn.param "bn.bias" : tensor<4xf32>
  %m = nn.param "bn.running_mean" : tensor<4xf32>
  %v = nn.param "bn.running_var" : tensor<4xf32>
  %bn = nn.batch_norm %c, %g, %s, %m, %v {epsilon = 1.0e-05 : f32}
        : (tensor<2x4x4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<2x4x4x4xf32>
  %d = nn.dropout %bn {rate = 0.5 : f32} : tensor<2x4x4x4xf32>
  %a = nn.tanh %d : tensor<2x4x4x4xf32>
  %cat = nn.concat %a, %a {axis = 1 : i64} : (tensor<2x4x4x4xf32>, tensor<2x4x4x4xf32>) -> tensor<2x8x4x4xf32>
  %y = nn.avg_pool2d %cat {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, padding = array<i64: 0, 0, 0, 0>,
         count_include_pad = false} : (tensor<2x8x4x4xf32>) -> tensor<2x8x2x2xf32>
  return %y : tensor<2x8x2x2xf32>
}
