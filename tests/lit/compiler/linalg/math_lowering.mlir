// Tests that every math op nn.unary uses reaches LLVM: pow as llvm.intr.pow (libm's powf, exact
// for a negative base with an integer exponent, not the exp(y log x) expansion), erf as a call
// to libm's erff, round as llvm.intr.roundeven, tanh expanded to exp; no math op is left.
// RUN: kiln compile %s -o %t --backend mlir --emit llvm-dialect | FileCheck %s --implicit-check-not=math.

// CHECK-DAG: llvm.func @erff(f32) -> f32
// CHECK-DAG: llvm.intr.pow
// CHECK-DAG: llvm.call @erff
// CHECK-DAG: llvm.intr.roundeven
// CHECK-DAG: llvm.intr.floor
// CHECK-DAG: llvm.intr.ceil
// CHECK-DAG: llvm.intr.fabs
// CHECK-DAG: llvm.intr.sqrt
// CHECK-DAG: llvm.intr.log
// CHECK-DAG: llvm.intr.exp
func.func @forward(%x: tensor<4x16xf32> {nn.name = "x"}) -> tensor<4x16xf32> {
  %a = nn.unary %x {fn = "pow", alpha = 3.0 : f32} : tensor<4x16xf32>
  %b = nn.unary %a {fn = "erf"} : tensor<4x16xf32>
  %c = nn.unary %b {fn = "round"} : tensor<4x16xf32>
  %d = nn.unary %c {fn = "mish"} : tensor<4x16xf32>
  %e = nn.unary %d {fn = "floor"} : tensor<4x16xf32>
  %f = nn.unary %e {fn = "ceil"} : tensor<4x16xf32>
  %g = nn.unary %f {fn = "sqrt"} : tensor<4x16xf32>
  return %g : tensor<4x16xf32>
}
