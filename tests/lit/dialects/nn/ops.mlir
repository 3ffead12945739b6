// Tests that every nn op prints and parses back unchanged (round trip through kiln-opt twice).
// RUN: kiln-opt %s | kiln-opt | FileCheck %s
// RUN: kiln-opt %s --canonicalize --cse | FileCheck %s --check-prefix=PASSES
// PASSES: nn.softmax

// CHECK-LABEL: func.func @forward
func.func @forward(%x: tensor<1x1x32x32xf32> {nn.name = "x"}) -> (tensor<1x10xf32> {nn.name = "out"}) {
  // CHECK: nn.param "c1.weight" : tensor<6x1x5x5xf32>
  %w = nn.param "c1.weight" : tensor<6x1x5x5xf32>
  %b = nn.param "c1.bias" : tensor<6xf32>
  // CHECK: nn.conv2d %{{.*}}, %{{.*}}, %{{.*}} {dilations = array<i64: 1, 1>, groups = 1 : i64, padding = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x1x32x32xf32>, tensor<6x1x5x5xf32>, tensor<6xf32>) -> tensor<1x6x28x28xf32>
  %c = nn.conv2d %x, %w, %b {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x1x32x32xf32>, tensor<6x1x5x5xf32>, tensor<6xf32>) -> tensor<1x6x28x28xf32>
  // CHECK: nn.conv2d %{{.*}}, %{{.*}} {{{.*}}} : (tensor<1x6x28x28xf32>, tensor<6x1x3x3xf32>) -> tensor<1x6x28x28xf32>
  %dw = nn.param "dw.weight" : tensor<6x1x3x3xf32>
  %d = nn.conv2d %c, %dw {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 6 : i64} : (tensor<1x6x28x28xf32>, tensor<6x1x3x3xf32>) -> tensor<1x6x28x28xf32>
  // CHECK: nn.relu %{{.*}} : tensor<1x6x28x28xf32>
  %r = nn.relu %d : tensor<1x6x28x28xf32>
  // CHECK: nn.tanh
  %t = nn.tanh %r : tensor<1x6x28x28xf32>
  // CHECK: nn.sigmoid
  %s = nn.sigmoid %t : tensor<1x6x28x28xf32>
  // CHECK: nn.leaky_relu %{{.*}} {alpha = 0.00999999977 : f32} : tensor<1x6x28x28xf32>
  %l = nn.leaky_relu %s {alpha = 0.01 : f32} : tensor<1x6x28x28xf32>
  // CHECK: nn.dropout %{{.*}} {rate = 5.000000e-01 : f32} : tensor<1x6x28x28xf32>
  %dr = nn.dropout %l {rate = 0.5 : f32} : tensor<1x6x28x28xf32>
  // CHECK: nn.add %{{.*}}, %{{.*}} : tensor<1x6x28x28xf32>
  %a = nn.add %dr, %c : tensor<1x6x28x28xf32>
  %g = nn.param "bn.weight" : tensor<6xf32>
  %h = nn.param "bn.bias" : tensor<6xf32>
  %m = nn.param "bn.running_mean" : tensor<6xf32>
  %v = nn.param "bn.running_var" : tensor<6xf32>
  // CHECK: nn.batch_norm %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {epsilon = 9.99999974E-6 : f32} : (tensor<1x6x28x28xf32>, tensor<6xf32>, tensor<6xf32>, tensor<6xf32>, tensor<6xf32>) -> tensor<1x6x28x28xf32>
  %bn = nn.batch_norm %a, %g, %h, %m, %v {epsilon = 1.0e-05 : f32} : (tensor<1x6x28x28xf32>, tensor<6xf32>, tensor<6xf32>, tensor<6xf32>, tensor<6xf32>) -> tensor<1x6x28x28xf32>
  // CHECK: nn.max_pool2d %{{.*}} {kernel = array<i64: 2, 2>, padding = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x6x28x28xf32>) -> tensor<1x6x14x14xf32>
  %mp = nn.max_pool2d %bn {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, padding = array<i64: 0, 0, 0, 0>} : (tensor<1x6x28x28xf32>) -> tensor<1x6x14x14xf32>
  // CHECK: nn.avg_pool2d %{{.*}} {count_include_pad = true, kernel = array<i64: 3, 3>, padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<1x6x14x14xf32>) -> tensor<1x6x14x14xf32>
  %ap = nn.avg_pool2d %mp {kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, count_include_pad = true} : (tensor<1x6x14x14xf32>) -> tensor<1x6x14x14xf32>
  // CHECK: nn.concat %{{.*}}, %{{.*}} {axis = 1 : i64} : (tensor<1x6x14x14xf32>, tensor<1x6x14x14xf32>) -> tensor<1x12x14x14xf32>
  %cat = nn.concat %mp, %ap {axis = 1 : i64} : (tensor<1x6x14x14xf32>, tensor<1x6x14x14xf32>) -> tensor<1x12x14x14xf32>
  // CHECK: nn.global_avg_pool %{{.*}} : (tensor<1x12x14x14xf32>) -> tensor<1x12x1x1xf32>
  %gp = nn.global_avg_pool %cat : (tensor<1x12x14x14xf32>) -> tensor<1x12x1x1xf32>
  // CHECK: nn.flatten %{{.*}} : (tensor<1x12x1x1xf32>) -> tensor<1x12xf32>
  %f = nn.flatten %gp : (tensor<1x12x1x1xf32>) -> tensor<1x12xf32>
  %fw = nn.param "fc.weight" : tensor<10x12xf32>
  %fb = nn.param "fc.bias" : tensor<10xf32>
  // CHECK: nn.dense %{{.*}}, %{{.*}}, %{{.*}} : (tensor<1x12xf32>, tensor<10x12xf32>, tensor<10xf32>) -> tensor<1x10xf32>
  %fc = nn.dense %f, %fw, %fb : (tensor<1x12xf32>, tensor<10x12xf32>, tensor<10xf32>) -> tensor<1x10xf32>
  // CHECK: nn.dense %{{.*}}, %{{.*}} : (tensor<1x10xf32>, tensor<10x10xf32>) -> tensor<1x10xf32>
  %fw2 = nn.param "fc2.weight" : tensor<10x10xf32>
  %fc2 = nn.dense %fc, %fw2 : (tensor<1x10xf32>, tensor<10x10xf32>) -> tensor<1x10xf32>
  // CHECK: nn.softmax %{{.*}} {axis = 1 : i64} : tensor<1x10xf32>
  %sm = nn.softmax %fc2 {axis = 1 : i64} : tensor<1x10xf32>
  return %sm : tensor<1x10xf32>
}

// Tests that the ops ONNX import needs round-trip: conv_transpose2d, resize, lrn, the broadcasting
// binary ops (short form when all types agree), sum / mean, pad, clip, hard_sigmoid, hard_swish,
// log_softmax, global_max_pool, ceil_mode on the pools, and reshape.
// CHECK-LABEL: func.func @onnx_ops
func.func @onnx_ops(%x: tensor<2x4x7x7xf32>, %s: tensor<4x1x1xf32>) -> tensor<2x3xf32> {
  %w = nn.param "up.weight" : tensor<4x3x3x3xf32>
  %b = nn.param "up.bias" : tensor<3xf32>
  // CHECK: nn.conv_transpose2d %{{.*}}, %{{.*}}, %{{.*}} {dilations = array<i64: 1, 1>, groups = 1 : i64, output_padding = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<2x4x7x7xf32>, tensor<4x3x3x3xf32>, tensor<3xf32>) -> tensor<2x3x14x14xf32>
  %ct = nn.conv_transpose2d %x, %w, %b {strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>, output_padding = array<i64: 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<2x4x7x7xf32>, tensor<4x3x3x3xf32>, tensor<3xf32>) -> tensor<2x3x14x14xf32>
  // CHECK: nn.resize %{{.*}} {coordinate_mode = "asymmetric", mode = "nearest", size = array<i64: 14, 14>} : (tensor<2x4x7x7xf32>) -> tensor<2x4x14x14xf32>
  %rn = nn.resize %x {mode = "nearest", size = array<i64: 14, 14>, coordinate_mode = "asymmetric"} : (tensor<2x4x7x7xf32>) -> tensor<2x4x14x14xf32>
  // CHECK: nn.resize %{{.*}} {coordinate_mode = "align_corners", mode = "bilinear", size = array<i64: 9, 11>} : (tensor<2x4x7x7xf32>) -> tensor<2x4x9x11xf32>
  %rb = nn.resize %x {mode = "bilinear", size = array<i64: 9, 11>, coordinate_mode = "align_corners"} : (tensor<2x4x7x7xf32>) -> tensor<2x4x9x11xf32>
  // CHECK: nn.resize %{{.*}} {cubic_coeff_a = -5.000000e-01 : f32, exclude_outside = true, mode = "bicubic", nearest_mode = "round_prefer_ceil", scales = array<f32: 1.500000e+00, 2.000000e+00>, size = array<i64: 10, 14>}
  %rc = nn.resize %x {mode = "bicubic", size = array<i64: 10, 14>, nearest_mode = "round_prefer_ceil", cubic_coeff_a = -0.5 : f32, exclude_outside = true, scales = array<f32: 1.5, 2.0>} : (tensor<2x4x7x7xf32>) -> tensor<2x4x10x14xf32>
  // CHECK: nn.lrn %{{.*}} {alpha = 9.99999974E-5 : f32, beta = 7.500000e-01 : f32, bias = 1.000000e+00 : f32, size = 3 : i64} : (tensor<2x4x7x7xf32>) -> tensor<2x4x7x7xf32>
  %l = nn.lrn %x {size = 3 : i64, alpha = 1.0e-4 : f32, beta = 0.75 : f32, bias = 1.0 : f32} : (tensor<2x4x7x7xf32>) -> tensor<2x4x7x7xf32>
  // CHECK: nn.add %{{.*}}, %{{.*}} : (tensor<2x4x7x7xf32>, tensor<4x1x1xf32>) -> tensor<2x4x7x7xf32>
  %a = nn.add %l, %s : (tensor<2x4x7x7xf32>, tensor<4x1x1xf32>) -> tensor<2x4x7x7xf32>
  // CHECK: nn.sub %{{.*}}, %{{.*}} : tensor<2x4x7x7xf32>
  %sb = nn.sub %a, %x : tensor<2x4x7x7xf32>
  // CHECK: nn.mul %{{.*}}, %{{.*}} : (tensor<4x1x1xf32>, tensor<2x4x7x7xf32>) -> tensor<2x4x7x7xf32>
  %m = nn.mul %s, %sb : (tensor<4x1x1xf32>, tensor<2x4x7x7xf32>) -> tensor<2x4x7x7xf32>
  // CHECK: nn.div
  %d = nn.div %m, %x : tensor<2x4x7x7xf32>
  // CHECK: nn.max
  %mx = nn.max %d, %x : tensor<2x4x7x7xf32>
  // CHECK: nn.min
  %mn = nn.min %mx, %s : (tensor<2x4x7x7xf32>, tensor<4x1x1xf32>) -> tensor<2x4x7x7xf32>
  // CHECK: nn.sum %{{.*}}, %{{.*}}, %{{.*}} : (tensor<2x4x7x7xf32>, tensor<2x4x7x7xf32>, tensor<2x4x7x7xf32>) -> tensor<2x4x7x7xf32>
  %sm = nn.sum %mn, %x, %l : (tensor<2x4x7x7xf32>, tensor<2x4x7x7xf32>, tensor<2x4x7x7xf32>) -> tensor<2x4x7x7xf32>
  // CHECK: nn.mean %{{.*}} : (tensor<2x4x7x7xf32>) -> tensor<2x4x7x7xf32>
  %me = nn.mean %sm : (tensor<2x4x7x7xf32>) -> tensor<2x4x7x7xf32>
  // CHECK: nn.clip %{{.*}} {max = 6.000000e+00 : f32, min = 0.000000e+00 : f32} : tensor<2x4x7x7xf32>
  %c = nn.clip %me {min = 0.0 : f32, max = 6.0 : f32} : tensor<2x4x7x7xf32>
  // CHECK: nn.hard_sigmoid %{{.*}} {alpha = 2.000000e-01 : f32, beta = 5.000000e-01 : f32} : tensor<2x4x7x7xf32>
  %hs = nn.hard_sigmoid %c {alpha = 0.2 : f32, beta = 0.5 : f32} : tensor<2x4x7x7xf32>
  // CHECK: nn.hard_swish %{{.*}} : tensor<2x4x7x7xf32>
  %hw = nn.hard_swish %hs : tensor<2x4x7x7xf32>
  // CHECK: nn.pad %{{.*}} {pads = array<i64: 0, 0, 1, 2, 0, 0, 0, 1>, value = 0.000000e+00 : f32} : (tensor<2x4x7x7xf32>) -> tensor<2x4x8x10xf32>
  %p = nn.pad %hw {pads = array<i64: 0, 0, 1, 2, 0, 0, 0, 1>, value = 0.0 : f32} : (tensor<2x4x7x7xf32>) -> tensor<2x4x8x10xf32>
  // CHECK: nn.max_pool2d %{{.*}} {ceil_mode = true, kernel = array<i64: 3, 3>, padding = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<2x4x8x10xf32>) -> tensor<2x4x4x5xf32>
  %mp = nn.max_pool2d %p {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, padding = array<i64: 0, 0, 0, 0>, ceil_mode = true} : (tensor<2x4x8x10xf32>) -> tensor<2x4x4x5xf32>
  // CHECK: nn.avg_pool2d %{{.*}} {ceil_mode = true, count_include_pad = true, kernel = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<2x4x4x5xf32>) -> tensor<2x4x3x3xf32>
  %ap = nn.avg_pool2d %mp {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>, count_include_pad = true, ceil_mode = true} : (tensor<2x4x4x5xf32>) -> tensor<2x4x3x3xf32>
  // CHECK: nn.global_max_pool %{{.*}} : (tensor<2x4x3x3xf32>) -> tensor<2x4x1x1xf32>
  %gm = nn.global_max_pool %ap : (tensor<2x4x3x3xf32>) -> tensor<2x4x1x1xf32>
  // CHECK: nn.reshape %{{.*}} {shape = array<i64: 2, 4>} : (tensor<2x4x1x1xf32>) -> tensor<2x4xf32>
  %r = nn.reshape %gm {shape = array<i64: 2, 4>} : (tensor<2x4x1x1xf32>) -> tensor<2x4xf32>
  // CHECK: nn.log_softmax %{{.*}} {axis = 1 : i64} : tensor<2x4xf32>
  %ls = nn.log_softmax %r {axis = 1 : i64} : tensor<2x4xf32>
  %fw = nn.param "fc.weight" : tensor<3x4xf32>
  %fc = nn.dense %ls, %fw : (tensor<2x4xf32>, tensor<3x4xf32>) -> tensor<2x3xf32>
  return %fc : tensor<2x3xf32>
}
