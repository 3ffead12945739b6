// RUN: kiln-opt %s -split-input-file -convert-nn-to-linalg | FileCheck %s

// Tests that momentum's new parameter reads lr from hyper[0] outside the loop and computes
// p - lr * (momentum * v + g) elementwise, and its new state slot momentum * v + g.
// CHECK-LABEL: func.func @momentum
// CHECK: %[[LR:.*]] = tensor.extract %arg2[%c0]
// CHECK: linalg.generic {{.*}} ins(%arg0, %arg1, %arg3 : tensor<6xf32>, tensor<6xf32>, tensor<6xf32>)
// CHECK-NEXT: ^bb0(%[[P:.*]]: f32, %[[G:.*]]: f32, %[[VIN:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[MV:.*]] = arith.mulf %{{.*}}, %[[VIN]]
// CHECK: %[[V:.*]] = arith.addf %[[MV]], %[[G]]
// CHECK: %[[STEP:.*]] = arith.mulf %[[LR]], %[[V]]
// CHECK: %[[NEW:.*]] = arith.subf %[[P]], %[[STEP]]
// CHECK: linalg.yield %[[NEW]]
// CHECK: linalg.generic {{.*}} ins(%arg0, %arg1, %arg3
// CHECK-NEXT: ^bb0(%{{.*}}: f32, %[[G2:.*]]: f32, %[[VIN2:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[MV2:.*]] = arith.mulf %{{.*}}, %[[VIN2]]
// CHECK: %[[V2:.*]] = arith.addf %[[MV2]], %[[G2]]
// CHECK: linalg.yield %[[V2]]
func.func @momentum(%w: tensor<6xf32>, %dw: tensor<6xf32>, %hyper: tensor<2xf32>, %v: tensor<6xf32>)
    -> (tensor<6xf32>, tensor<6xf32>) {
  %w1 = nn.optimizer_update %w, %dw, %hyper, %v {optimizer = "momentum", which = 0 : i64, momentum = 9.0e-01 : f32}
        : (tensor<6xf32>, tensor<6xf32>, tensor<2xf32>, tensor<6xf32>) -> tensor<6xf32>
  %v1 = nn.optimizer_update %w, %dw, %hyper, %v {optimizer = "momentum", which = 1 : i64, momentum = 9.0e-01 : f32}
        : (tensor<6xf32>, tensor<6xf32>, tensor<2xf32>, tensor<6xf32>) -> tensor<6xf32>
  return %w1, %v1 : tensor<6xf32>, tensor<6xf32>
}

// -----

// Tests that adam computes its bias corrections 1 - beta^t once, in double, from t = hyper[1].
// CHECK-LABEL: func.func @adam
// CHECK: %[[T:.*]] = tensor.extract %arg2[%c1]
// CHECK: %[[TD:.*]] = arith.extf %[[T]] : f32 to f64
// CHECK: math.powf %{{.*}}, %[[TD]] : f64
// CHECK: arith.truncf %{{.*}} : f64 to f32
// CHECK: math.powf %{{.*}}, %{{.*}} : f64
// CHECK: linalg.generic {{.*}} ins(%arg0, %arg1, %arg3, %arg4 : tensor<6xf32>, tensor<6xf32>, tensor<6xf32>, tensor<6xf32>)
// CHECK: math.sqrt
func.func @adam(%w: tensor<6xf32>, %dw: tensor<6xf32>, %hyper: tensor<2xf32>, %m: tensor<6xf32>, %v: tensor<6xf32>)
    -> tensor<6xf32> {
  %w1 = nn.optimizer_update %w, %dw, %hyper, %m, %v {optimizer = "adam", which = 0 : i64}
        : (tensor<6xf32>, tensor<6xf32>, tensor<2xf32>, tensor<6xf32>, tensor<6xf32>) -> tensor<6xf32>
  return %w1 : tensor<6xf32>
}
