// `kiln compile`: the pipeline from a model file to lib<N>.so, lib<N>.a and <N>.h, as a
// straight list of phases; --emit stops after any phase and prints what it has.
#ifndef KILN_DRIVER_COMPILEPIPELINE_H
#define KILN_DRIVER_COMPILEPIPELINE_H

#include "compiler/passes/Passes.h"

#include <cstdint>
#include <optional>
#include <string>

namespace kiln {

enum class EmitPhase {
  NN,         // nn dialect as imported
  NNOpt,      // nn dialect after the graph passes
  HalideStmt, // Halide's lowered statement (text)
  HalideHtml, // the same as HTML, written to <out>/<name>.stmt.html
  // --backend mlir (compiler/linalg/LinalgBackend.h):
  Linalg,          // linalg on tensors, after convert-nn-to-linalg
  LinalgScheduled, // after the transform-dialect schedule (tiled, fused, vectorised)
  Bufferized,      // after one-shot bufferization
  LLVMDialect,     // the LLVM dialect
  LLVMIR,          // LLVM IR after -O3
  Asm,             // host assembly
  Library,    // lib<name>.so, lib<name>.a, <name>.h (the default)
};

/// Which backend compiles the model; both produce libraries with the same header and API.
enum class Backend { Halide, MLIR };

/// Parses an --emit value; nullopt for an unknown one.
std::optional<EmitPhase> parseEmitPhase(const std::string &text);

struct CompileOptions {
  std::string modelPath;
  std::string outDir;
  std::string name;        // C prefix and library name; default: the model file's stem
  std::string weightsPath; // safetensors; empty: seeded initialisation
  std::optional<int64_t> batch;
  uint64_t seed = 0;
  EmitPhase emit = EmitPhase::Library;
  Backend backend = Backend::Halide;
  bool train = false;          // also compile a training step (docs/training.md)
  AutodiffOptions training;    // with train: loss, optimizer and its constants
  float learningRate = 0.01f;  // with train: the context's initial learning rate
  std::optional<size_t> pipelineOps; // halide backend: each function compiles as Halide pipelines of
                                     // about this many ops (SplitFunction.h), in parallel; 0: one
                                     // pipeline; unset: 24 for inference, 8 for a training step
  std::string tuningPath;      // kiln tune records: tuned Halide schedules by layer signature
  std::optional<bool> winograd; // --winograd on/off: Winograd F(2x2,3x3) for every conv it applies to,
                                // or none; unset: where the layer's shape favours it
  std::string autoscheduler;   // Halide autoscheduler for the whole pipeline; empty: Kiln's schedules
};

/// Runs the pipeline; reports errors on stderr and returns the process exit code.
int runCompile(CompileOptions options);

/// The default library name for a model path: its stem made into a C identifier.
std::string defaultModelName(const std::string &modelPath);

} // namespace kiln

#endif
