// kiln-parallelize-foralls: the outermost scf.forall of each scheduled op becomes an OpenMP
// worksharing loop (omp.parallel + omp.wsloop, via scf.parallel and convert-scf-to-openmp) when
// it has at least two iterations and enough work to repay waking the threads; every other
// scf.forall is left for scf-forall-to-for.
//
// Expects bufferized IR (foralls without shared outputs). The work of a forall is an estimate in
// element operations: every op counts the lanes of its widest vector operand or result (1 for a
// scalar), an scf.for or scf.forall multiplies its body by its static trip count, and a linalg op
// left on memrefs counts its loop iterations times its body. A tile's static stack buffers
// (memref.alloca, scratch that each tile writes before reading) move to the start of the
// omp.parallel region: one per thread, reused by each of its tiles, so the per-iteration alloca
// scope becomes empty and canonicalization inlines it (its region could not hold the branches
// that convert-scf-to-cf makes of the tile's loops).
#include "compiler/linalg/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/OpenMP/OpenMPDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Pass/PassManager.h"

using namespace mlir;

namespace kiln {
namespace {

/// The number of iterations of `forall` (1 for a dimension whose bounds are not constants).
int64_t iterationsOf(scf::ForallOp forall) {
  int64_t iterations = 1;
  for (auto [lb, ub, step] : llvm::zip(forall.getMixedLowerBound(), forall.getMixedUpperBound(), forall.getMixedStep())) {
    std::optional<int64_t> l = getConstantIntValue(lb), u = getConstantIntValue(ub), s = getConstantIntValue(step);
    if (l && u && s && *s > 0)
      iterations *= std::max<int64_t>(0, llvm::divideCeil(*u - *l, *s));
  }
  return iterations;
}

int64_t workOf(Block &block);

int64_t workOf(Operation &op) {
  if (auto forall = dyn_cast<scf::ForallOp>(op))
    return iterationsOf(forall) * workOf(*forall.getBody());
  if (auto loop = dyn_cast<scf::ForOp>(op)) {
    std::optional<APInt> trips = loop.getStaticTripCount();
    return (trips ? trips->getSExtValue() : 1) * workOf(*loop.getBody());
  }
  if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op)) {
    int64_t iterations = 1;
    for (int64_t range : linalgOp.getStaticLoopRanges())
      iterations *= ShapedType::isDynamic(range) ? 1 : range;
    return iterations * workOf(*linalgOp.getBlock());
  }
  int64_t lanes = 1;
  for (Type type : llvm::concat<Type>(op.getOperandTypes(), op.getResultTypes()))
    if (auto vector = dyn_cast<VectorType>(type))
      lanes = std::max(lanes, vector.getNumElements());
  for (Region &region : op.getRegions())
    for (Block &block : region)
      lanes += workOf(block);
  return lanes;
}

int64_t workOf(Block &block) {
  int64_t work = 0;
  for (Operation &op : block)
    work += workOf(op);
  return work;
}

struct ParallelizeForallsPass : PassWrapper<ParallelizeForallsPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(ParallelizeForallsPass)

  ParallelizeForallsPass() = default;
  ParallelizeForallsPass(const ParallelizeForallsPass &other) : PassWrapper(other) {}

  Option<int64_t> minWork{*this, "min-work", llvm::cl::desc("Fewest estimated element operations worth threads"),
                          llvm::cl::init(1 << 17)};

  StringRef getArgument() const override { return "kiln-parallelize-foralls"; }
  StringRef getDescription() const override {
    return "Turn each outermost scf.forall with enough work into an OpenMP worksharing loop";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<scf::SCFDialect, omp::OpenMPDialect, LLVM::LLVMDialect, memref::MemRefDialect>();
  }

  void runOnOperation() override {
    SmallVector<scf::ForallOp> outermost;
    getOperation()->walk([&](scf::ForallOp forall) {
      if (!forall->getParentOfType<scf::ForallOp>() && forall.getNumResults() == 0)
        outermost.push_back(forall);
    });
    IRRewriter rewriter(&getContext());
    for (scf::ForallOp forall : outermost) {
      int64_t iterations = iterationsOf(forall);
      if (iterations < 2 || workOf(*forall) < minWork)
        continue;
      rewriter.setInsertionPoint(forall);
      if (failed(scf::forallToParallelLoop(rewriter, forall)))
        return signalPassFailure();
    }
    OpPassManager toOpenMP(ModuleOp::getOperationName());
    toOpenMP.addPass(createConvertSCFToOpenMPPass());
    if (failed(runPipeline(toOpenMP, getOperation())))
      return signalPassFailure();
    getOperation()->walk([](omp::ParallelOp parallel) {
      SmallVector<memref::AllocaOp> buffers;
      parallel->walk([&](memref::AllocaOp alloca) {
        if (alloca->getNumOperands() == 0)
          buffers.push_back(alloca);
      });
      Block &entry = parallel.getRegion().front();
      for (memref::AllocaOp alloca : buffers)
        alloca->moveBefore(&entry, entry.begin());
    });
  }
};

} // namespace

std::unique_ptr<Pass> createParallelizeForallsPass() { return std::make_unique<ParallelizeForallsPass>(); }

void registerParallelizeForallsPass() { PassRegistration<ParallelizeForallsPass>(); }

} // namespace kiln
