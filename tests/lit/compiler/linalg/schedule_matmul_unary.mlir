// Tests that the MLIR backend's schedule fuses nn.unary consumers into the tiles of the conv and of
// the matmul (linalg.contract) that produce them, and tiles and vectorises the contract like a
// matmul: one batch element and one row per tile, 16 columns, FMAs on vector<16xf32>; with
// batched operands and with a 2-D rhs alike.
// RUN: split-file %s %t
// RUN: kiln compile %t/conv.mlir -o %t/conv --backend mlir --emit linalg-scheduled | FileCheck %s --check-prefix=CONV
// RUN: kiln compile %t/matmul.mlir -o %t/matmul --backend mlir --emit linalg-scheduled | FileCheck %s --check-prefix=MATMUL
// RUN: kiln compile %t/rows.mlir -o %t/rows --backend mlir --emit linalg-scheduled | FileCheck %s --check-prefix=MATMUL

// The conv's forall holds the FMAs and both functions (elu: exp and log for expm1; gelu: erf),
// and no generic is left after it.
// CONV: func.func @conv_forward
// CONV: scf.forall
// CONV: vector.fma
// CONV: math.exp {{.*}} : vector<
// CONV: math.erf {{.*}} : vector<
// CONV: scf.forall.in_parallel
// CONV-NOT: linalg.generic
// CONV: bufferization.materialize_in_destination

// MATMUL: func.func @{{matmul|rows}}_forward
// MATMUL: scf.forall {{.*}} in (3, 9, 2)
// MATMUL: vector.fma {{.*}} : vector<16xf32>
// MATMUL: math.exp {{.*}} : vector<1x1x16xf32>
// MATMUL: scf.forall.in_parallel
// MATMUL-NOT: linalg.
// MATMUL: bufferization.materialize_in_destination

//--- conv.mlir
func.func @forward(%x: tensor<1x16x8x8xf32> {nn.name = "x"}) -> tensor<1x32x8x8xf32> {
  %w = nn.param "c.weight" : tensor<32x16x3x3xf32>
  %c = nn.conv2d %x, %w {dilations = array<i64: 1, 1>, groups = 1 : i64, padding = array<i64: 1, 1, 1, 1>,
                         strides = array<i64: 1, 1>} : (tensor<1x16x8x8xf32>, tensor<32x16x3x3xf32>) -> tensor<1x32x8x8xf32>
  %e = nn.unary %c {fn = "elu", alpha = 0.5 : f32} : tensor<1x32x8x8xf32>
  %y = nn.unary %e {fn = "gelu"} : tensor<1x32x8x8xf32>
  return %y : tensor<1x32x8x8xf32>
}

//--- matmul.mlir
func.func @forward(%a: tensor<3x9x16xf32> {nn.name = "a"}, %b: tensor<3x16x32xf32> {nn.name = "b"}) -> tensor<3x9x32xf32> {
  %m = nn.matmul %a, %b : (tensor<3x9x16xf32>, tensor<3x16x32xf32>) -> tensor<3x9x32xf32>
  %y = nn.unary %m {fn = "silu"} : tensor<3x9x32xf32>
  return %y : tensor<3x9x32xf32>
}

//--- rows.mlir
func.func @forward(%a: tensor<3x9x16xf32> {nn.name = "a"}, %b: tensor<16x32xf32> {nn.name = "b"}) -> tensor<3x9x32xf32> {
  %m = nn.matmul %a, %b : (tensor<3x9x16xf32>, tensor<16x32xf32>) -> tensor<3x9x32xf32>
  %y = nn.unary %m {fn = "silu"} : tensor<3x9x32xf32>
  return %y : tensor<3x9x32xf32>
}
