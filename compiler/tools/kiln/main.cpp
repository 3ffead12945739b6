// The kiln command line: `kiln compile`, `kiln run`, `kiln inspect`, `kiln train` and `kiln tune`.
#include "compiler/analysis/InspectCommand.h"
#include "compiler/driver/CompilePipeline.h"
#include "compiler/driver/RunCommand.h"
#include "compiler/driver/TrainCommand.h"
#include "compiler/driver/TuneCommand.h"
#include "compiler/halide/HalideBackend.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <map>

using namespace kiln;

/// Halide's autoscheduler names, each accepted in any case (--autoscheduler adams2019).
static std::map<std::string, std::string> autoschedulerNames() {
  std::map<std::string, std::string> names;
  for (const std::string &name : halideAutoschedulers())
    names[name] = name;
  return names;
}

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
  compileCmd->add_option("--tuning", compile.tuningPath, "kiln tune records: tuned schedules per layer (halide backend)");
  std::string winograd = "auto";
  compileCmd->add_option("--winograd", winograd, "auto (default: where the layer's shape favours it), on or off: "
                                                  "Winograd F(2x2,3x3) for 3x3 stride-1 convs (halide backend)")
      ->check(CLI::IsMember({"auto", "on", "off"}));
  compileCmd->add_option("--autoscheduler", compile.autoscheduler,
                         "schedule the whole pipeline with Halide's Adams2019, Mullapudi2016 or Li2018 "
                         "autoscheduler instead of Kiln's schedules (halide backend)")
      ->transform(CLI::CheckedTransformer(autoschedulerNames(), CLI::ignore_case));
  compileCmd->add_flag("--train", compile.train, "also compile a training step (<N>_train_step, docs/training.md)");
  compileCmd->add_option("--loss", compile.training.loss, "with --train: softmax_cross_entropy (default) or mse")
      ->check(CLI::IsMember({"softmax_cross_entropy", "mse"}));
  compileCmd->add_option("--optimizer", compile.training.optimizer, "with --train: sgd (default), momentum, nesterov, rmsprop or adam")
      ->check(CLI::IsMember({"sgd", "momentum", "nesterov", "rmsprop", "adam"}));
  compileCmd->add_option("--lr", compile.learningRate, "with --train: initial learning rate (default 0.01)")
      ->check(CLI::PositiveNumber);
  size_t pipelineOpsValue = 0;
  CLI::Option *pipelineOps = compileCmd->add_option(
      "--pipeline-ops", pipelineOpsValue,
      "halide backend: compile each function as pipelines of about this many ops, in parallel (default 24 for "
      "inference, 8 for a training step; 0: one pipeline, whose compile time grows fast with its size)");
  compileCmd->add_option("--momentum", compile.training.momentum, "with --train: momentum/nesterov factor (default 0.9)");
  compileCmd->add_option("--weight-decay", compile.training.weightDecay, "with --train: L2 weight decay (default 0)");
  compileCmd->add_option("--alpha", compile.training.alpha, "with --train: rmsprop smoothing constant (default 0.99)");
  compileCmd->add_option("--beta1", compile.training.beta1, "with --train: adam's beta1 (default 0.9)");
  compileCmd->add_option("--beta2", compile.training.beta2, "with --train: adam's beta2 (default 0.999)");
  compileCmd->add_option("--eps", compile.training.epsilon, "with --train: rmsprop/adam epsilon (default 1e-8)");

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

  TrainOptions train;
  int64_t trainBatch = 0;
  float trainLearningRate = 0;
  bool noShuffle = false;
  CLI::App *trainCmd = app.add_subcommand("train", "train a library compiled with --train on .npy data");
  trainCmd->add_option("library", train.libraryPath, "lib<N>.so made by kiln compile --train")->required();
  trainCmd->add_option("--x", train.inputsPath, "float32 inputs [samples, <input shape without the batch>]")
      ->required();
  trainCmd->add_option("--y", train.labelsPath, "int32/int64 class indices [samples], or float32 targets")
      ->required();
  trainCmd->add_option("--epochs", train.epochs, "passes over the data (default 1)")->check(CLI::PositiveNumber);
  trainCmd->add_option("--batch", trainBatch, "must equal the library's compiled batch")->check(CLI::PositiveNumber);
  CLI::Option *lrOption = trainCmd->add_option("--lr", trainLearningRate, "learning rate (default: the library's, "
                                               "or the checkpoint's with --load)");
  trainCmd->add_flag("--no-shuffle", noShuffle, "take the samples in file order");
  trainCmd->add_option("--seed", train.seed, "seed of the shuffling (default 0)");
  trainCmd->add_option("--load", train.loadPath, "checkpoint to continue from (safetensors)");
  trainCmd->add_option("--save", train.savePath, "checkpoint written atomically after each epoch")->required();
  trainCmd->add_option("--threads", train.threads, "worker threads")->check(CLI::PositiveNumber);

  InspectOptions inspect;
  int64_t inspectBatch = 0;
  CLI::App *inspectCmd = app.add_subcommand("inspect", "print a model's layers: output shapes, parameters, FLOPs");
  inspectCmd->add_option("model", inspect.modelPath, "model file (.kiln)")->required();
  inspectCmd->add_option("--batch", inspectBatch, "batch size replacing dimension 0 of every input")
      ->check(CLI::PositiveNumber);
  inspectCmd->add_option("--dot", inspect.dotPath, "also write the layer graph as Graphviz to this file");
  inspectCmd->add_option("--tuning", inspect.tuningPath, "also print each conv/dense layer's schedule with these records");

  TuneCommandOptions tune;
  int64_t tuneBatch = 0;
  CLI::App *tuneCmd = app.add_subcommand("tune", "measure schedules for each distinct layer, keep the best (docs/tuning.md)");
  tuneCmd->add_option("model", tune.modelPath, "model file (.kiln or .onnx)")->required();
  tuneCmd->add_option("--weights", tune.weightsPath, "safetensors parameters (default: embedded or seeded)");
  tuneCmd->add_option("--batch", tuneBatch, "batch size replacing dimension 0 of every input")->check(CLI::PositiveNumber);
  tuneCmd->add_option("--budget", tune.budget, "wall-clock time for the search: 90s, 5m, 1h (default 5m)");
  tuneCmd->add_option("--threads", tune.threads, "Halide threads to time with (default: every core)")
      ->check(CLI::PositiveNumber);
  tuneCmd->add_option("-o,--output", tune.outputPath, "JSON-lines records, merged into (default tuning.json)");
  tuneCmd->add_option("--seed", tune.seed, "seed of the search, the inputs and the default initialisation");
  tuneCmd->add_flag("--refine", tune.refine, "also search layers whose record is complete");

  CLI11_PARSE(app, argc, argv);

  if (compileCmd->parsed()) {
    compile.emit = *parseEmitPhase(emit);
    compile.backend = backend == "mlir" ? Backend::MLIR : Backend::Halide;
    if (winograd != "auto")
      compile.winograd = winograd == "on";
    for (auto [given, option] : {std::pair{!compile.tuningPath.empty(), "--tuning"},
                                 std::pair{compile.winograd.has_value(), "--winograd"},
                                 std::pair{!compile.autoscheduler.empty(), "--autoscheduler"}})
      if (given && (compile.backend == Backend::MLIR || compile.train)) {
        std::fprintf(stderr, "kiln: error: %s applies to inference compiles with the halide backend\n", option);
        return 1;
      }
    if (pipelineOps->count() > 0 && compile.backend == Backend::MLIR) {
      std::fprintf(stderr, "kiln: error: --pipeline-ops applies to the halide backend\n");
      return 1;
    }
    if (pipelineOps->count() > 0)
      compile.pipelineOps = pipelineOpsValue;
    if (compileBatch > 0)
      compile.batch = compileBatch;
    return runCompile(compile);
  }
  if (trainCmd->parsed()) {
    if (trainBatch > 0)
      train.batch = trainBatch;
    if (lrOption->count() > 0)
      train.learningRate = trainLearningRate;
    train.shuffle = !noShuffle;
    return runTrain(train);
  }
  if (tuneCmd->parsed()) {
    if (tuneBatch > 0)
      tune.batch = tuneBatch;
    return runTune(tune);
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
