// The linalg backend's lowering pipeline, a straight list: scheduled linalg on tensors ->
// bufferized loops -> LLVM dialect -> LLVM IR (-O3) -> host object, in-process. Each stage of
// LinalgStage can be printed by stopping there (kiln compile --backend mlir --emit ...). Parallel
// tiles become OpenMP parallel loops: the object calls libomp, which runs them on the calling
// thread's OpenMP thread count (the glue sets it from the context, see GlueText.cpp).
#include "compiler/linalg/LinalgBackend.h"
#include "compiler/linalg/Passes.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Bufferization/Transforms/OneShotAnalysis.h"
#include "mlir/Dialect/Bufferization/Transforms/OneShotModuleBufferize.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVMIR/Export.h"

#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/SubtargetFeature.h"

#include <mutex>

using namespace mlir;

namespace kiln {
namespace {

/// Runs a textual pass list (mlir-opt syntax, anchored on the module) and collects diagnostics.
LogicalResult runPasses(ModuleOp module, const std::string &passes, std::string &error) {
  static std::once_flag registered;
  std::call_once(registered, [] {
    registerAllPasses();
    registerParallelizeForallsPass();
  });
  std::string diagnostics;
  ScopedDiagnosticHandler handler(module.getContext(), [&](Diagnostic &diag) {
    diagnostics += (diagnostics.empty() ? "" : "; ") + diag.str();
    return success();
  });
  PassManager pm(module.getContext());
  std::string parseError;
  llvm::raw_string_ostream errs(parseError);
  if (failed(parsePassPipeline(passes, pm, errs))) {
    error = "internal error: bad pass list '" + passes + "': " + parseError;
    return failure();
  }
  if (failed(pm.run(module))) {
    error = "'" + passes + "' failed: " + diagnostics;
    return failure();
  }
  return success();
}

/// One-shot bufferization of the whole module. Function boundaries keep identity layouts (the
/// entry takes dense arrays); copies are linalg.copy, which later become plain loops (memref.copy
/// of a strided view would need MLIR's C runner library at link time).
LogicalResult bufferize(ModuleOp module, std::string &error) {
  bufferization::OneShotBufferizationOptions options;
  options.bufferizeFunctionBoundaries = true;
  options.setFunctionBoundaryTypeConversion(bufferization::LayoutMapOption::IdentityLayoutMap);
  options.memCpyFn = [](OpBuilder &b, Location loc, Value from, Value to) {
    linalg::CopyOp::create(b, loc, from, to);
    return success();
  };
  bufferization::BufferizationState state;
  std::string diagnostics;
  ScopedDiagnosticHandler handler(module.getContext(), [&](Diagnostic &diag) {
    diagnostics += (diagnostics.empty() ? "" : "; ") + diag.str();
    return success();
  });
  if (failed(bufferization::runOneShotModuleBufferize(module, options, state))) {
    error = "bufferization failed: " + diagnostics;
    return failure();
  }
  return success();
}

/// A TargetMachine for the host CPU with all its features, position-independent, -O3.
std::unique_ptr<llvm::TargetMachine> hostMachine(std::string &error) {
  static std::once_flag initialised;
  std::call_once(initialised, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
  llvm::Triple triple(llvm::sys::getDefaultTargetTriple());
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return nullptr;
  llvm::SubtargetFeatures features;
  for (const auto &feature : llvm::sys::getHostCPUFeatures())
    features.AddFeature(feature.first(), feature.second);
  return std::unique_ptr<llvm::TargetMachine>(target->createTargetMachine(
      triple, llvm::sys::getHostCPUName(), features.getString(), llvm::TargetOptions(), llvm::Reloc::PIC_,
      std::nullopt, llvm::CodeGenOptLevel::Aggressive));
}

} // namespace

LogicalResult compileLinalgToObject(ModuleOp module, LinalgStage stopAfter, const std::string &objectPath,
                                    llvm::raw_ostream &os, std::string &error) {
  auto stopHere = [&](LinalgStage stage) {
    if (stage != stopAfter)
      return false;
    module.print(os);
    return true;
  };
  if (stopHere(LinalgStage::Linalg) || stopHere(LinalgStage::LinalgScheduled))
    return success();

  // 1. Clean up after the schedule; let tensor.empty reuse the buffers they are inserted into.
  if (failed(runPasses(module, "canonicalize,cse,eliminate-empty-tensors", error)))
    return failure();
  // 2. One-shot bufferization (no copies at the function boundary: inputs are restrict to_tensor,
  //    results materialize_in_destination into the caller's arrays).
  if (failed(bufferize(module, error)))
    return failure();
  // 3. Small buffers onto the stack, free the rest where they die.
  if (failed(runPasses(module,
                       "canonicalize,func.func(promote-buffers-to-stack{max-alloc-size-in-bytes=4096}),"
                       "buffer-deallocation-pipeline,canonicalize,cse",
                       error)))
    return failure();
  if (stopHere(LinalgStage::Bufferized))
    return success();

  // 4. Loops: the outermost forall of each op, if it has enough work, becomes an OpenMP parallel
  //    loop (static schedule: each thread a contiguous range of tiles, so results do not depend
  //    on the thread count); other foralls run serially as scf.for; linalg ops the schedule did
  //    not vectorise (copies, grouped convs) become plain loops; vector transfers are unrolled
  //    (no allocas inside loops).
  if (failed(runPasses(module,
                       "kiln-parallelize-foralls,canonicalize,scf-forall-to-for,convert-linalg-to-loops,"
                       "convert-vector-to-scf{full-unroll=true},lower-affine,convert-scf-to-cf",
                       error)))
    return failure();
  // 5. Math: tanh expanded to an exp-based formula; exp, log, sqrt, pow, floor, ceil, roundeven and
  //    abs become LLVM intrinsics (pow keeps libm's powf semantics: a negative base with an integer
  //    exponent is real, where the exp(y * log(x)) expansion gives NaN); erf calls libm's erff.
  if (failed(runPasses(module, "math-expand-ops{ops=tanh},convert-math-to-llvm,convert-math-to-libm", error)))
    return failure();
  // 6. To the LLVM dialect. The entry takes bare pointers (static shapes, identity layouts); heap
  //    buffers call _mlir_memref_to_llvm_{alloc,free}, which the glue serves from the context's
  //    kept blocks (kiln/glue.h).
  if (failed(runPasses(module,
                       "convert-vector-to-llvm{vector-contract-lowering=outerproduct},expand-strided-metadata,"
                       "lower-affine,finalize-memref-to-llvm{use-generic-functions=true},convert-arith-to-llvm,convert-index-to-llvm,"
                       "convert-ub-to-llvm,convert-func-to-llvm{use-bare-ptr-memref-call-conv=true},"
                       "convert-cf-to-llvm,convert-openmp-to-llvm,reconcile-unrealized-casts",
                       error)))
    return failure();
  if (stopHere(LinalgStage::LLVMDialect))
    return success();

  // 7. LLVM IR for the host CPU, optimised at -O3.
  std::unique_ptr<llvm::TargetMachine> machine = hostMachine(error);
  if (!machine)
    return failure();
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule = translateModuleToLLVMIR(module, llvmContext);
  if (!llvmModule) {
    error = "translation to LLVM IR failed";
    return failure();
  }
  llvmModule->setDataLayout(machine->createDataLayout());
  llvmModule->setTargetTriple(machine->getTargetTriple());
  if (llvm::Error e = makeOptimizingTransformer(3, 0, machine.get())(llvmModule.get())) {
    error = "LLVM optimisation failed: " + llvm::toString(std::move(e));
    return failure();
  }
  if (stopAfter == LinalgStage::LLVMIR) {
    llvmModule->print(os, nullptr);
    return success();
  }

  // 8. Assembly or the object file, with LLVM's code generator in-process.
  llvm::SmallString<0> buffer;
  llvm::raw_svector_ostream out(buffer);
  llvm::legacy::PassManager codegen;
  auto kind = stopAfter == LinalgStage::Asm ? llvm::CodeGenFileType::AssemblyFile : llvm::CodeGenFileType::ObjectFile;
  if (machine->addPassesToEmitFile(codegen, out, nullptr, kind)) {
    error = "the host target cannot emit this file type";
    return failure();
  }
  codegen.run(*llvmModule);
  if (stopAfter == LinalgStage::Asm) {
    os << buffer;
    return success();
  }
  std::error_code ec;
  llvm::raw_fd_ostream file(objectPath, ec, llvm::sys::fs::OF_None);
  if (ec) {
    error = "cannot write '" + objectPath + "': " + ec.message();
    return failure();
  }
  file << buffer;
  return success();
}

} // namespace kiln
