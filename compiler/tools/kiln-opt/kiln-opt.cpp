// kiln-opt: the lit tool for nn IR (parse, verify, print; canonicalize, cse and Kiln's graph
// passes, e.g. -nn-drop-identities, -nn-fold-batch-norm), like mlir-opt.
#include "compiler/linalg/Passes.h"
#include "compiler/passes/Passes.h"
#include "kiln/Dialect/NN/NNDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  kiln::registerKilnPasses();
  kiln::registerLinalgBackendPasses(); // -convert-nn-to-linalg
  kiln::registerParallelizeForallsPass();
  mlir::DialectRegistry registry;
  registry.insert<kiln::nn::NNDialect, mlir::func::FuncDialect>();
  registry.insert<mlir::linalg::LinalgDialect, mlir::tensor::TensorDialect, mlir::arith::ArithDialect,
                  mlir::math::MathDialect, mlir::memref::MemRefDialect, mlir::scf::SCFDialect>();
  return mlir::asMainReturnCode(mlir::MlirOptMain(argc, argv, "Kiln optimizer driver\n", registry));
}
