// RUN: kiln-opt %s -split-input-file -convert-nn-to-linalg | FileCheck %s

// Tests that softmax_cross_entropy takes the row max, the row sum of exp(x - max) and the label's
// logit (the label clamped into [0, K)) as row reductions, sums logsumexp - logit over the batch
// into a 0-d tensor and divides it by N into the tensor<1xf32> loss.
// CHECK-LABEL: func.func @cross_entropy
// CHECK: %[[MAX:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%arg0 : tensor<4x10xf32>) outs(%{{.*}} : tensor<4xf32>)
// CHECK: arith.maximumf
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}} ins(%arg0, %[[MAX]] : tensor<4x10xf32>, tensor<4xf32>) outs(%{{.*}} : tensor<4xf32>)
// CHECK: math.exp
// CHECK: %[[PICK:.*]] = linalg.generic {{.*}} ins(%arg0, %arg1 : tensor<4x10xf32>, tensor<4xf32>) outs(%{{.*}} : tensor<4xf32>)
// CHECK: arith.fptosi
// CHECK: arith.maxsi
// CHECK: arith.minsi
// CHECK: linalg.index 1
// CHECK: %[[TOTAL:.*]] = linalg.generic {{.*}} iterator_types = ["reduction"]} ins(%[[SUM]], %[[MAX]], %[[PICK]] : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) outs(%{{.*}} : tensor<f32>)
// CHECK: math.log
// CHECK: linalg.generic {{.*}} ins(%[[TOTAL]] : tensor<f32>) outs(%{{.*}} : tensor<1xf32>)
// CHECK: arith.constant 4.000000e+00 : f32
func.func @cross_entropy(%z: tensor<4x10xf32>, %labels: tensor<4xf32>) -> tensor<1xf32> {
  %loss = nn.softmax_cross_entropy %z, %labels : (tensor<4x10xf32>, tensor<4xf32>) -> tensor<1xf32>
  return %loss : tensor<1xf32>
}

// -----

// Tests that the cross-entropy gradient is (softmax - onehot(label)) / N, elementwise over the logits
// with the row statistics and labels broadcast along the rows.
// CHECK-DAG: #[[ROW:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func @cross_entropy_grad
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[ROW]], #[[ROW]], #[[ROW]], #{{.*}}], iterator_types = ["parallel", "parallel"]}
// CHECK: math.exp
// CHECK: arith.select
// CHECK: arith.subf
// CHECK: arith.divf
func.func @cross_entropy_grad(%z: tensor<4x10xf32>, %labels: tensor<4xf32>) -> tensor<4x10xf32> {
  %dz = nn.softmax_cross_entropy_grad %z, %labels : (tensor<4x10xf32>, tensor<4xf32>) -> tensor<4x10xf32>
  return %dz : tensor<4x10xf32>
}

// -----

// Tests that mse_loss sums squared differences over every element and divides by their count, and
// that its gradient is (prediction - target) * 2 / count.
// CHECK-LABEL: func.func @mse
// CHECK: linalg.generic {{.*}} iterator_types = ["reduction", "reduction"]} ins(%arg0, %arg1 : tensor<4x3xf32>, tensor<4x3xf32>) outs(%{{.*}} : tensor<f32>)
// CHECK: arith.constant 1.200000e+01 : f32
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]} ins(%arg0, %arg1
// CHECK: arith.constant 0.166666672 : f32
func.func @mse(%y: tensor<4x3xf32>, %t: tensor<4x3xf32>) -> (tensor<1xf32>, tensor<4x3xf32>) {
  %loss = nn.mse_loss %y, %t : (tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<1xf32>
  %dy = nn.mse_loss_grad %y, %t : (tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<4x3xf32>
  return %loss, %dy : tensor<1xf32>, tensor<4x3xf32>
}
