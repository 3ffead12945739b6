// RUN: kiln-opt %s -split-input-file -nn-params-to-arguments -nn-autodiff -verify-diagnostics

// Tests that an op without a backward rule is an error naming the op (the driver prefixes the
// layer's name and position: tests/e2e/test_training.py). Every forward op has a rule; a training
// op such as resize_grad in @forward has none.
func.func @forward(%x: tensor<1x4x5x5xf32> {nn.name = "x"}) -> (tensor<1x100xf32> {nn.name = "y"}) {
  %w = nn.param "c.weight" : tensor<4x4x1x1xf32>
  %c = nn.conv2d %x, %w {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>,
         dilations = array<i64: 1, 1>, groups = 1 : i64}
       : (tensor<1x4x5x5xf32>, tensor<4x4x1x1xf32>) -> tensor<1x4x5x5xf32>
  // expected-error @+1 {{nn-autodiff: cannot train through nn.resize_grad: it has no backward rule}}
  %n = nn.resize_grad %c {mode = "nearest"} : (tensor<1x4x5x5xf32>) -> tensor<1x4x5x5xf32>
  %f = nn.flatten %n : (tensor<1x4x5x5xf32>) -> tensor<1x100xf32>
  return %f : tensor<1x100xf32>
}

// -----

// Tests that cross-entropy needs a [N, classes] output.
// expected-error @+1 {{softmax_cross_entropy needs a [N, classes] output}}
func.func @forward(%x: tensor<1x4x5x5xf32> {nn.name = "x"}) -> (tensor<1x4x5x5xf32> {nn.name = "y"}) {
  %r = nn.relu %x : tensor<1x4x5x5xf32>
  return %r : tensor<1x4x5x5xf32>
}
