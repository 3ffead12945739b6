// The compile pipeline, phase by phase (see CompilePipeline.h).
#include "compiler/driver/CompilePipeline.h"

#include "compiler/driver/GraphPasses.h"
#include "compiler/driver/ModelLoader.h"
#include "compiler/emit/LibraryEmitter.h"
#include "compiler/halide/HalideBackend.h"
#include "compiler/linalg/LinalgBackend.h"
#include "compiler/passes/Passes.h"
#include "compiler/passes/SplitFunction.h"
#include "compiler/tune/TuningRecords.h"
#include "compiler/weights/WeightStore.h"

#include "mlir/Pass/PassManager.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <cctype>
#include <deque>
#include <fstream>

using namespace mlir;

namespace kiln {

std::optional<EmitPhase> parseEmitPhase(const std::string &text) {
  if (text == "nn")
    return EmitPhase::NN;
  if (text == "nn-opt")
    return EmitPhase::NNOpt;
  if (text == "halide-stmt")
    return EmitPhase::HalideStmt;
  if (text == "halide-html")
    return EmitPhase::HalideHtml;
  if (text == "library")
    return EmitPhase::Library;
  if (text == "linalg")
    return EmitPhase::Linalg;
  if (text == "linalg-scheduled")
    return EmitPhase::LinalgScheduled;
  if (text == "bufferized")
    return EmitPhase::Bufferized;
  if (text == "llvm-dialect")
    return EmitPhase::LLVMDialect;
  if (text == "llvm-ir")
    return EmitPhase::LLVMIR;
  if (text == "asm")
    return EmitPhase::Asm;
  return std::nullopt;
}

std::string defaultModelName(const std::string &modelPath) {
  std::string name = llvm::sys::path::stem(modelPath).str();
  for (char &c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)))
      c = '_';
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0])))
    name = "model_" + name;
  return name;
}

static int fail(const std::string &message) {
  llvm::errs() << "kiln: error: " << message << "\n";
  return 1;
}

/// The inputs and outputs of `fn` (@forward) as the generated header names them.
static ModelInterface describeInterface(const std::string &name, func::FuncOp fn) {
  ModelInterface interface{name, {}, {}};
  for (unsigned i = 0; i < fn.getNumArguments(); ++i)
    interface.inputs.push_back(
        {boundaryName(fn, i, false), cast<RankedTensorType>(fn.getArgument(i).getType()).getShape().vec()});
  for (unsigned i = 0; i < fn.getNumResults(); ++i)
    interface.outputs.push_back(
        {boundaryName(fn, i, true), cast<RankedTensorType>(fn.getResultTypes()[i]).getShape().vec()});
  return interface;
}

/// Default ops per pipeline. Cuts cost a copy of what crosses them (2-4% of ResNet-18 224's
/// latency at 8 ops per part); a training step ran faster in small parts (ResNet-18-32 b8: 74-76
/// ms at 8, 88-90 ms at 40) and compiles much faster (47 s at 8, 165 s at 40).
constexpr size_t kInferencePipelineOps = 24, kTrainingPipelineOps = 8;

/// Halide pipelines and the name of each.
using Pipelines = std::vector<std::pair<HalideModel *, std::string>>;

/// Lowers `fn` as Halide pipelines of about `pipelineOps` ops each (SplitFunction.h; 0, or a
/// function too short to cut: one pipeline named `function`), keeping them in `models` and listing
/// them in `pipelines`; `parts` describes the cut for the glue. Returns failure with `error`.
static LogicalResult lowerPipelines(func::FuncOp fn, const WeightStore &weights, const HalideScheduleOptions &schedule,
                                    size_t pipelineOps, const std::string &function, std::deque<HalideModel> &models,
                                    Pipelines &pipelines, FunctionParts &parts, std::string &error) {
  SplitFunction split;
  if (pipelineOps > 0)
    split = splitFunction(fn, pipelineOps);
  if (split.parts.size() <= 1) {
    for (FunctionPart &part : split.parts)
      part.fn.erase();
    FailureOr<HalideModel> model = lowerToHalide(fn, weights, schedule, error);
    if (failed(model))
      return failure();
    models.push_back(std::move(*model));
    pipelines.push_back({&models.back(), function});
    return success();
  }
  const size_t numArguments = fn.getNumArguments();
  for (size_t k = 0; k < split.parts.size(); ++k) {
    const FunctionPart &part = split.parts[k];
    FailureOr<HalideModel> model = lowerToHalide(part.fn, weights, schedule, error);
    if (failed(model))
      return failure();
    models.push_back(std::move(*model));
    FunctionParts::Part described{function + "_part" + std::to_string(k), {}, part.arguments.size()};
    for (const std::vector<PartValue> *values : {&part.arguments, &part.results})
      for (PartValue value : *values)
        described.arguments.push_back({value.kind == PartValue::Kind::Temporary,
                                       value.kind == PartValue::Kind::Result ? numArguments + value.index
                                                                             : value.index});
    pipelines.push_back({&models.back(), described.function});
    parts.parts.push_back(std::move(described));
  }
  for (size_t t = 0; t < split.temporaries.size(); ++t)
    parts.temporaries.push_back({"temporary" + std::to_string(t), split.temporaries[t]});
  return success();
}

/// Fails (with a message) when `--emit` names a phase the chosen backend does not produce.
static LogicalResult checkEmitPhase(const CompileOptions &options) {
  bool mlirPhase = options.emit >= EmitPhase::Linalg && options.emit <= EmitPhase::Asm;
  if (mlirPhase == (options.backend == Backend::MLIR) || options.emit == EmitPhase::Library)
    return success();
  fail("--emit phase is not produced by the " + std::string(options.backend == Backend::MLIR ? "mlir" : "halide") +
       " backend: pass --backend " + (mlirPhase ? "mlir" : "halide"));
  return failure();
}

static int reportWritten(const CompileOptions &options) {
  llvm::outs() << "kiln: wrote " << options.outDir << "/lib" << options.name << ".so, lib" << options.name
               << ".a and " << options.name << ".h\n";
  return 0;
}

/// Compiles each Halide pipeline to an object under its function name and links them with one
/// Halide runtime into the library, whose glue calls `interface`'s functions (`entry` for
/// inference, or its parts).
static int emitHalideLibrary(const Pipelines &pipelines, const std::string &entry, const ModelInterface &interface,
                             const CompileOptions &options) {
  if (llvm::sys::fs::create_directories(options.outDir))
    return fail("cannot create output directory '" + options.outDir + "'");
  llvm::SmallString<128> scratch;
  if (llvm::sys::fs::createUniqueDirectory("kiln-objects", scratch))
    return fail("cannot create a temporary directory");
  std::string error;
  FailureOr<std::vector<std::string>> objects = compileToObjects(pipelines, scratch.str().str(), error);
  bool ok = succeeded(objects);
  ok = ok && emitLibrary(interface, *objects, entry, options.outDir, error);
  llvm::sys::fs::remove_directories(scratch);
  if (!ok)
    return fail(error);
  return reportWritten(options);
}

/// Phases 4-5 for --backend mlir: nn -> linalg -> schedule -> LLVM -> one object holding every
/// entry -> library. The first entry is the inference function; `interface` is the library's
/// (with --train), or unset to describe the first entry's inputs and outputs.
static int compileWithMlir(ModuleOp module, const WeightStore &weights, ArrayRef<LinalgEntry> entries,
                           std::optional<ModelInterface> interface, const CompileOptions &options) {
  std::string error;
  DialectRegistry registry;
  registerLinalgBackendDialects(registry);
  module.getContext()->appendDialectRegistry(registry);
  const std::string &functionName = entries.front().symbol;
  LinalgInterface linalgInterface;
  if (failed(lowerToLinalg(module, weights, entries, linalgInterface, error)))
    return fail(error);
  if (options.emit == EmitPhase::Linalg) {
    module.print(llvm::outs());
    return 0;
  }
  if (failed(scheduleLinalg(module, LinalgScheduleOptions{}, error)))
    return fail(error);
  std::optional<LinalgStage> stop;
  switch (options.emit) {
  case EmitPhase::LinalgScheduled: stop = LinalgStage::LinalgScheduled; break;
  case EmitPhase::Bufferized: stop = LinalgStage::Bufferized; break;
  case EmitPhase::LLVMDialect: stop = LinalgStage::LLVMDialect; break;
  case EmitPhase::LLVMIR: stop = LinalgStage::LLVMIR; break;
  case EmitPhase::Asm: stop = LinalgStage::Asm; break;
  default: break;
  }
  if (stop)
    return failed(compileLinalgToObject(module, *stop, "", llvm::outs(), error)) ? fail(error) : 0;

  if (llvm::sys::fs::create_directories(options.outDir))
    return fail("cannot create output directory '" + options.outDir + "'");
  llvm::SmallString<128> scratch;
  if (llvm::sys::fs::createUniqueDirectory("kiln-objects", scratch))
    return fail("cannot create a temporary directory");
  std::string object = (scratch + "/" + functionName + ".o").str();
  if (!interface) {
    interface = ModelInterface{options.name, {}, {}};
    for (size_t i = 0; i < linalgInterface.inputNames.size(); ++i)
      interface->inputs.push_back({linalgInterface.inputNames[i], linalgInterface.inputShapes[i]});
    for (size_t i = 0; i < linalgInterface.outputNames.size(); ++i)
      interface->outputs.push_back({linalgInterface.outputNames[i], linalgInterface.outputShapes[i]});
  }
  interface->abi = BackendAbi::BarePointers;
  bool ok = succeeded(compileLinalgToObject(module, LinalgStage::Object, object, llvm::outs(), error)) &&
            emitLibrary(*interface, {object}, functionName, options.outDir, error);
  llvm::sys::fs::remove_directories(scratch);
  if (!ok)
    return fail(error);
  return reportWritten(options);
}

/// The value of a string argument attribute of `fn`, or "".
static std::string argAttr(func::FuncOp fn, unsigned i, StringRef name) {
  auto attr = fn.getArgAttrOfType<StringAttr>(i, name);
  return attr ? attr.str() : "";
}

static std::vector<int64_t> shapeOf(Type type) { return cast<RankedTensorType>(type).getShape().vec(); }

/// The interface of a training library: @forward's inputs (arguments without nn.param) and
/// outputs, its parameters, and @train_step's labels and optimizer state.
static ModelInterface describeTraining(const std::string &name, func::FuncOp forward, func::FuncOp step,
                                       const CompileOptions &options) {
  ModelInterface interface{name, {}, {}};
  TrainingInterface training;
  for (unsigned i = 0; i < forward.getNumArguments(); ++i) {
    std::string param = argAttr(forward, i, "nn.param");
    TensorSpec spec{param.empty() ? argAttr(forward, i, "nn.name") : param, shapeOf(forward.getArgument(i).getType())};
    (param.empty() ? interface.inputs : training.params).push_back(spec);
  }
  for (unsigned i = 0; i < forward.getNumResults(); ++i) {
    auto resultName = forward.getResultAttrOfType<StringAttr>(i, "nn.name");
    interface.outputs.push_back({resultName ? resultName.str() : "output" + std::to_string(i),
                                 shapeOf(forward.getResultTypes()[i])});
  }
  for (unsigned i = 0; i < step.getNumArguments(); ++i) {
    std::string state = argAttr(step, i, "nn.state");
    if (!state.empty())
      training.state.push_back({state, shapeOf(step.getArgument(i).getType())});
    else if (argAttr(step, i, "nn.name") == "labels")
      training.labels = {"labels", shapeOf(step.getArgument(i).getType())};
  }
  training.optimizer = options.training.optimizer;
  training.learningRate = options.learningRate;
  training.trainFunction = name + "_train_pipeline";
  interface.training = std::move(training);
  return interface;
}

/// Writes every parameter's data, in interface order, to `path` (the library's initial values).
static LogicalResult writeInitialParams(const TrainingInterface &training, const WeightStore &weights,
                                        const std::string &path, std::string &error) {
  std::ofstream out(path, std::ios::binary);
  for (const TensorSpec &param : training.params) {
    auto it = weights.find(param.name);
    if (it == weights.end()) {
      error = "no data for parameter '" + param.name + "'";
      return failure();
    }
    out.write(reinterpret_cast<const char *>(it->second.data.data()),
              static_cast<std::streamsize>(it->second.data.size() * sizeof(float)));
  }
  if (!out.flush()) {
    error = "cannot write the initial parameters to '" + path + "'";
    return failure();
  }
  return success();
}

/// Runs `emit` with `interface.training->initialParams` naming a temporary file that holds the
/// initial parameters (removed afterwards); returns its exit code.
static int withInitialParams(ModelInterface &interface, const WeightStore &weights, llvm::function_ref<int()> emit) {
  llvm::SmallString<128> blob;
  if (llvm::sys::fs::createTemporaryFile("kiln-params", "bin", blob))
    return fail("cannot create a temporary file");
  interface.training->initialParams = blob.str().str();
  std::string error;
  int status = failed(writeInitialParams(*interface.training, weights, interface.training->initialParams, error))
                   ? fail(error)
                   : emit();
  llvm::sys::fs::remove(blob);
  return status;
}

/// `--train`: nn-params-to-arguments and nn-autodiff, then @forward and @train_step each become a
/// backend function of one library (Halide pipelines, or entries of one object with --backend
/// mlir), with the parameters as run-time data in its context.
static int compileTraining(ModuleOp module, const WeightStore &embedded, const CompileOptions &options) {
  std::string error;
  WeightStore weights;
  if (failed(bindModelWeights(module, options.weightsPath, embedded, options.seed, weights, error)))
    return fail(error);
  ScopedDiagnosticHandler handler(module.getContext(), [](Diagnostic &diag) {
    printModelDiagnostic(diag);
    return success();
  });
  module.getContext()->printOpOnDiagnostic(false);
  PassManager pm(module.getContext());
  pm.addPass(createParamsToArgumentsPass());
  pm.addPass(createAutodiffPass(options.training));
  if (failed(pm.run(module)) || failed(runGraphPasses(module)))
    return 1;
  if (options.emit == EmitPhase::NNOpt) {
    module.print(llvm::outs());
    return 0;
  }
  if (options.emit == EmitPhase::HalideHtml)
    return fail("with --train, --emit takes nn, nn-opt, halide-stmt (halide), a linalg stage (mlir) or library");
  if (failed(checkEmitPhase(options)))
    return 1;
  func::FuncOp forward = getForward(module), step = module.lookupSymbol<func::FuncOp>("train_step");
  if (options.backend == Backend::MLIR) {
    ModelInterface interface = describeTraining(options.name, forward, step, options);
    std::vector<LinalgEntry> entries = {{"forward", options.name + "_pipeline"},
                                        {"train_step", interface.training->trainFunction}};
    return withInitialParams(interface, weights, [&] {
      return compileWithMlir(module, weights, entries, interface, options);
    });
  }
  // Each function in parts, each its own pipeline: Halide's compile time grows faster than
  // linearly with a pipeline's size, and the parts compile in parallel.
  ModelInterface interface = describeTraining(options.name, forward, step, options);
  TrainingInterface &training = *interface.training;
  std::deque<HalideModel> models;
  Pipelines pipelines;
  const std::string entry = options.name + "_pipeline";
  if (failed(lowerPipelines(forward, weights, {}, options.pipelineOps.value_or(kInferencePipelineOps), entry, models,
                            pipelines, interface.runParts, error)) ||
      failed(lowerPipelines(step, weights, {}, options.pipelineOps.value_or(kTrainingPipelineOps),
                            training.trainFunction, models, pipelines, training.stepParts, error)))
    return fail(error);
  if (options.emit == EmitPhase::HalideStmt) {
    for (HalideModel &model : models)
      if (failed(emitStmt(model, "/dev/stdout", false, error)))
        return fail(error);
    return 0;
  }
  return withInitialParams(interface, weights,
                           [&] { return emitHalideLibrary(pipelines, entry, interface, options); });
}

int runCompile(CompileOptions options) {
  if (options.name.empty())
    options.name = defaultModelName(options.modelPath);

  // 1. Import the model into the nn dialect (verified, shapes inferred).
  MLIRContext context;
  WeightStore embedded;
  OwningOpRef<ModuleOp> module = loadModel(options.modelPath, context, options.batch, &embedded);
  if (!module)
    return 1;
  if (options.emit == EmitPhase::NN) {
    module->print(llvm::outs());
    return 0;
  }
  if (options.train)
    return compileTraining(*module, embedded, options);

  // 2. Graph passes on nn.
  if (failed(runGraphPasses(*module)))
    return 1;
  if (options.emit == EmitPhase::NNOpt) {
    module->print(llvm::outs());
    return 0;
  }

  // 3. Parameters: from the weights file, else the seeded initialisation.
  std::string error;
  WeightStore weights;
  if (failed(bindModelWeights(*module, options.weightsPath, embedded, options.seed, weights, error)))
    return fail(error);
  // ... and folded where the graph allows: batch_norm into the conv2d/dense before it.
  if (failed(runWeightPasses(*module, weights)))
    return 1;

  if (failed(checkEmitPhase(options)))
    return 1;
  if (options.backend == Backend::MLIR)
    return compileWithMlir(*module, weights, {{"forward", options.name + "_forward"}}, std::nullopt, options);

  // 4. Lower to a Halide pipeline with the default schedule, or a layer's tuned one (--tuning).
  HalideScheduleOptions schedule;
  schedule.autoscheduler = options.autoscheduler;
  if (options.winograd)
    schedule.convAlgorithm = *options.winograd ? ConvAlgorithm::Winograd : ConvAlgorithm::Direct;
  if (!options.tuningPath.empty() && failed(readTunedSchedules(options.tuningPath, schedule, error))) {
    llvm::errs() << error << "\n";
    return 1;
  }
  //    In parts of about --pipeline-ops ops that compile in parallel, unless an autoscheduler
  //    schedules the whole pipeline or --emit shows it.
  func::FuncOp forward = getForward(*module);
  auto tunedChoice = schedule.tunedPipelines.find(pipelineSignature(forward));
  const bool tunedDefaults = tunedChoice != schedule.tunedPipelines.end() && tunedChoice->second == kDefaultSchedules;
  const bool autoscheduled = !options.autoscheduler.empty() ||
                             (tunedChoice != schedule.tunedPipelines.end() && !tunedChoice->second.empty() &&
                              !tunedDefaults);
  const bool inParts = !autoscheduled && options.emit == EmitPhase::Library;
  ModelInterface interface = describeInterface(options.name, forward);
  std::deque<HalideModel> models;
  Pipelines pipelines;
  const std::string entry = options.name + "_pipeline";
  if (failed(lowerPipelines(forward, weights, schedule, inParts ? options.pipelineOps.value_or(kInferencePipelineOps) : 0,
                            entry, models, pipelines, interface.runParts, error)))
    return fail(error);
  if (autoscheduled)
    llvm::errs() << "kiln: the pipeline is scheduled by Halide's " << models.front().autoscheduler << " autoscheduler"
                 << (options.autoscheduler.empty() ? " (chosen by kiln tune in " + options.tuningPath + ")" : "")
                 << "\n";
  else if (!options.tuningPath.empty()) {
    size_t layers = 0, tuned = 0;
    for (const HalideModel &model : models) {
      layers += model.layers.size();
      tuned += llvm::count_if(model.layers, [](const HalideLayer &l) { return l.tuned; });
    }
    llvm::errs() << "kiln: " << tuned << " of " << layers << " conv/dense layers use tuned schedules from "
                 << options.tuningPath
                 << (tunedDefaults ? " (its whole-pipeline record found Kiln's default schedules faster)" : "") << "\n";
  }
  if (options.emit == EmitPhase::HalideStmt || options.emit == EmitPhase::HalideHtml) {
    bool html = options.emit == EmitPhase::HalideHtml;
    std::string path = html ? options.outDir + "/" + options.name + ".stmt.html" : "/dev/stdout";
    if (html && llvm::sys::fs::create_directories(options.outDir))
      return fail("cannot create output directory '" + options.outDir + "'");
    return failed(emitStmt(models.front(), path, html, error)) ? fail(error) : 0;
  }

  // 5. Compile to objects and link the library, all-or-nothing.
  return emitHalideLibrary(pipelines, entry, interface, options);
}

} // namespace kiln
