// The nn-opt pass pipeline: a straight list of passes, a comment each.
#include "compiler/driver/GraphPasses.h"

#include "compiler/passes/Passes.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"

namespace kiln {

mlir::LogicalResult runGraphPasses(mlir::ModuleOp module) {
  mlir::PassManager pm(module.getContext());
  pm.addPass(createDropIdentitiesPass());      // dropout and no-op layers pass their input through
  pm.addPass(mlir::createCanonicalizerPass()); // fold and drop dead layers
  pm.addPass(mlir::createCSEPass());           // share identical parameters and layers
  return pm.run(module);
}

mlir::LogicalResult runWeightPasses(mlir::ModuleOp module, WeightStore &weights) {
  mlir::PassManager pm(module.getContext());
  pm.addPass(createFoldBatchNormPass(&weights)); // batch_norm into the conv/dense before it
  pm.addPass(createTrimPaddingTapsPass(&weights)); // conv taps that only meet padding
  return pm.run(module);
}

} // namespace kiln
