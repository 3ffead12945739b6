// The MLIR backend: nn -> linalg on tensors -> transform-dialect schedule -> bufferized loops ->
// LLVM dialect -> LLVM IR -> a host object file, all in-process (no mlir-opt / llc).
//
// Expects the module of an nn model (func.func @forward, and with --train @train_step, static f32
// shapes) and its weights. Guarantees (relied on by the library glue, BackendAbi::BarePointers),
// for each compiled function:
//   int <symbol>(void *user_context, float *in_0, ..., float *out_0, ...)
// inputs in argument order (parameters made arguments by nn-params-to-arguments included: the
// training ABI of LibraryEmitter.h), then outputs in result order, each a dense C-order f32 array
// of the static shape; returns 0. Remaining nn.param weights are constant data inside the object. Parallel loops run on
// libomp with the calling thread's OpenMP thread count (omp_set_num_threads); user_context is unused.
#ifndef KILN_LINALG_LINALGBACKEND_H
#define KILN_LINALG_LINALGBACKEND_H

#include "compiler/weights/WeightStore.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LLVM.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mlir {
class DialectRegistry;
}

namespace kiln {

/// Where compileLinalgToObject stops; every stage but Object prints the module (or text) to `os`.
enum class LinalgStage {
  Linalg,          ///< after convert-nn-to-linalg (linalg on tensors, entry on memrefs)
  LinalgScheduled, ///< after the transform-dialect schedule (tiled, fused, vectorised)
  Bufferized,      ///< after one-shot bufferization and buffer deallocation
  LLVMDialect,     ///< after the conversion to the LLVM dialect
  LLVMIR,          ///< LLVM IR after LLVM's -O3 pipeline
  Asm,             ///< host assembly
  Object,          ///< write the object file (the default)
};

/// The knobs of the generated schedules (compiler/linalg/Schedule.cpp). Each is a hint: the
/// schedule picks the largest divisor of the actual extent that is not larger, so tiles are static.
struct LinalgScheduleOptions {
  int64_t vectorWidth = 16;       ///< f32 lanes of elementwise / pooling tiles (16 = one zmm).
  int64_t convPixelBlock = 14;    ///< output pixels along W per conv tile.
  int64_t convChannelBlock = 32;  ///< output channels per conv tile.
  int64_t convReductionBlock = 4; ///< input channels per step of the conv's reduction loop.
  int64_t denseBlock = 16;        ///< output features per dense tile.
  int64_t denseReductionBlock = 16; ///< input features per dense reduction step.
};

/// One function of the module to compile: its name ("forward", "train_step") and the symbol of
/// the entry point it becomes.
struct LinalgEntry {
  std::string function, symbol;
};

/// The inputs and outputs of the (first) entry function, in order, for the generated header.
struct LinalgInterface {
  std::vector<std::string> inputNames, outputNames;
  std::vector<std::vector<int64_t>> inputShapes, outputShapes;
};

/// Registers every dialect, interface and translation the backend uses (call before parsing).
void registerLinalgBackendDialects(mlir::DialectRegistry &registry);

/// Phase 1: binds each nn.param to an arith.constant holding its data from `weights`, runs
/// convert-nn-to-linalg, and turns each entry's function into its symbol with the bare-pointer
/// signature above (inputs via bufferization.to_tensor restrict, results written with
/// materialize_in_destination). Fills `interface` from the first entry. On failure sets `error`
/// (naming the function, op or parameter).
mlir::LogicalResult lowerToLinalg(mlir::ModuleOp module, const WeightStore &weights,
                                  llvm::ArrayRef<LinalgEntry> entries, LinalgInterface &interface,
                                  std::string &error);

/// The transform-dialect script that schedules `module` (as text), generated per op from `options`.
std::string generateSchedule(mlir::ModuleOp module, const LinalgScheduleOptions &options);

/// Phase 2: generates the schedule and applies it with the transform interpreter.
mlir::LogicalResult scheduleLinalg(mlir::ModuleOp module, const LinalgScheduleOptions &options, std::string &error);

/// Phase 3 (Pipeline.cpp): bufferizes and lowers a scheduled module to LLVM and compiles it for the
/// host CPU. Stops after `stopAfter`, printing that stage to `os`; with Object writes `objectPath`.
mlir::LogicalResult compileLinalgToObject(mlir::ModuleOp module, LinalgStage stopAfter, const std::string &objectPath,
                                          llvm::raw_ostream &os, std::string &error);

} // namespace kiln

#endif
