// The kiln command line: `kiln compile`, `kiln run` and `kiln inspect`.
#include "compiler/analysis/InspectCommand.h"
#include "compiler/driver/CompilePipeline.h"
#include "compiler/driver/RunCommand.h"

#include <CLI/CLI.hpp>

#include <cstdio>

using namespace kiln;

int main(int argc, char **argv) {
  CLI::App app{"Kiln: ahead-of-time compiler for convolutional networks"};
  app.require_subcommand(1);

  CompileOptions compile;
  std::string emit = "library";
  int64_t compileBatch = 0;
  CLI::App *compileCmd = app.add_subcommand("compile", "compile a model into lib<N>.so, lib<N>.a and <N>.h");
  compileCmd->add_option("model", compile.modelPath, "model file (.kiln)")->required();
  compileCmd->add_option("-o,--output", compile.outDir, "output directory")->required();
  compileCmd->add_option("--name", compile.name, "library and C prefix (default: the model file's stem)");
  compileCmd->add_option("--batch", compileBatch, "batch size replacing dimension 0 of every input")
      ->check(CLI::PositiveNumber);
  compileCmd->add_option("--weights", compile.weightsPath, "safetensors file with the parameters, by layer name");
  compileCmd->add_option("--seed", compile.seed, "seed of the default initialisation when --weights is not given");
  compileCmd->add_option("--emit", emit, "stop after a phase and print it")
      ->check(CLI::IsMember({"nn", "nn-opt", "halide-stmt", "halide-html", "library", "linalg", "linalg-scheduled",
                             "bufferized", "llvm-dialect", "llvm-ir", "asm"}));
  std::string backend = "halide";
  compileCmd->add_option("--backend", backend, "halide (default) or mlir (linalg + transform-dialect schedule)")
      ->check(CLI::IsMember({"halide", "mlir"}));

  RunOptions run;
  int64_t runBatch = 0;
  CLI::App *runCmd = app.add_subcommand("run", "run a compiled library (or the reference interpreter) on .npy files");
  runCmd->add_option("library", run.libraryPath, "lib<N>.so made by kiln compile");
  runCmd->add_option("--reference", run.referenceModel, "run this model file with the reference interpreter instead");
  runCmd->add_option("--weights", run.weightsPath, "with --reference: safetensors parameters");
  runCmd->add_option("--seed", run.seed, "with --reference: seed of the default initialisation");
  runCmd->add_option("--batch", runBatch, "with --reference: batch size")->check(CLI::PositiveNumber);
  runCmd->add_option("-i,--input", run.inputs, "[NAME=]x.npy, float32 in C order")->required();
  runCmd->add_option("-o,--output", run.outputs, "[NAME=]y.npy to write");
  runCmd->add_option("--threads", run.threads, "worker threads")->check(CLI::PositiveNumber);
  runCmd->add_option("--repeat", run.repeat, "time this many calls after a warm-up: min/median/max ms")
      ->check(CLI::PositiveNumber);

  InspectOptions inspect;
  int64_t inspectBatch = 0;
  CLI::App *inspectCmd = app.add_subcommand("inspect", "print a model's layers: output shapes, parameters, FLOPs");
  inspectCmd->add_option("model", inspect.modelPath, "model file (.kiln)")->required();
  inspectCmd->add_option("--batch", inspectBatch, "batch size replacing dimension 0 of every input")
      ->check(CLI::PositiveNumber);
  inspectCmd->add_option("--dot", inspect.dotPath, "also write the layer graph as Graphviz to this file");

  CLI11_PARSE(app, argc, argv);

  if (compileCmd->parsed()) {
    compile.emit = *parseEmitPhase(emit);
    compile.backend = backend == "mlir" ? Backend::MLIR : Backend::Halide;
    if (compileBatch > 0)
      compile.batch = compileBatch;
    return runCompile(compile);
  }
  if (inspectCmd->parsed()) {
    if (inspectBatch > 0)
      inspect.batch = inspectBatch;
    return runInspect(inspect);
  }
  if (runBatch > 0)
    run.batch = runBatch;
  return runModel(run);
}
