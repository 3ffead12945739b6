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

/// The model's inputs and outputs as the generated header names them.
static ModelInterface describeInterface(const std::string &name, const HalideModel &model) {
  ModelInterface interface{name, {}, {}};
  for (size_t i = 0; i < model.inputNames.size(); ++i)
    interface.inputs.push_back({model.inputNames[i], model.inputShapes[i]});
  for (size_t i = 0; i < model.outputNames.size(); ++i)
    interface.outputs.push_back({model.outputNames[i], model.outputShapes[i]});
  return interface;
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

/// Compiles each Halide pipeline to an object under its function name (the first one's is the
/// library's entry point) and links them with one Halide runtime into the library.
static int emitHalideLibrary(const std::vector<std::pair<HalideModel *, std::string>> &pipelines,
                             const ModelInterface &interface, const CompileOptions &options) {
  if (llvm::sys::fs::create_directories(options.outDir))
    return fail("cannot create output directory '" + options.outDir + "'");
  llvm::SmallString<128> scratch;
  if (llvm::sys::fs::createUniqueDirectory("kiln-objects", scratch))
    return fail("cannot create a temporary directory");
  std::string error;
  FailureOr<std::vector<std::string>> objects = compileToObjects(pipelines, scratch.str().str(), error);
  bool ok = succeeded(objects);
  ok = ok && emitLibrary(interface, *objects, pipelines.front().second, options.outDir, error);
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

/// The glue's view of `split`: part k is the backend function "<trainFunction>_part<k>"; the
/// step's results follow its `numArguments` arguments.
static std::vector<StepPart> stepParts(const SplitFunction &split, const std::string &trainFunction,
                                       size_t numArguments) {
  std::vector<StepPart> parts;
  for (size_t k = 0; k < split.parts.size(); ++k) {
    const FunctionPart &part = split.parts[k];
    StepPart described{trainFunction + "_part" + std::to_string(k), {}, part.arguments.size()};
    for (const std::vector<PartValue> *values : {&part.arguments, &part.results})
      for (PartValue value : *values)
        described.arguments.push_back({value.kind == PartValue::Kind::Temporary,
                                       value.kind == PartValue::Kind::Result ? numArguments + value.index
                                                                             : value.index});
    parts.push_back(described);
  }
  return parts;
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
  // The step in parts, each its own pipeline: Halide's lowering time grows faster than linearly
  // with a pipeline's size.
  ModelInterface interface = describeTraining(options.name, forward, step, options);
  SplitFunction split = splitFunction(step, options.pipelineOps);
  std::vector<HalideModel> models;
  std::vector<std::pair<HalideModel *, std::string>> pipelines;
  for (size_t k = 0; k <= split.parts.size(); ++k) {
    func::FuncOp fn = k == 0 ? forward : split.parts[k - 1].fn;
    FailureOr<HalideModel> model = lowerToHalide(fn, weights, HalideScheduleOptions{}, error);
    if (failed(model))
      return fail(error);
    models.push_back(std::move(*model));
  }
  if (options.emit == EmitPhase::HalideStmt) {
    for (HalideModel &model : models)
      if (failed(emitStmt(model, "/dev/stdout", false, error)))
        return fail(error);
    return 0;
  }
  TrainingInterface &training = *interface.training;
  training.stepParts = stepParts(split, training.trainFunction, step.getNumArguments());
  for (size_t t = 0; t < split.temporaries.size(); ++t)
    training.stepTemporaries.push_back({"temporary" + std::to_string(t), split.temporaries[t]});
  pipelines.push_back({&models[0], options.name + "_pipeline"});
  for (size_t k = 0; k < split.parts.size(); ++k)
    pipelines.push_back({&models[k + 1], training.stepParts[k].function});
  return withInitialParams(interface, weights, [&] { return emitHalideLibrary(pipelines, interface, options); });
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
  FailureOr<HalideModel> halide = lowerToHalide(getForward(*module), weights, schedule, error);
  if (failed(halide))
    return fail(error);
  if (!halide->autoscheduler.empty())
    llvm::errs() << "kiln: the pipeline is scheduled by Halide's " << halide->autoscheduler << " autoscheduler"
                 << (options.autoscheduler.empty() ? " (chosen by kiln tune in " + options.tuningPath + ")" : "")
                 << "\n";
  else if (!options.tuningPath.empty()) {
    auto choice = schedule.tunedPipelines.find(pipelineSignature(getForward(*module)));
    bool defaults = choice != schedule.tunedPipelines.end() && choice->second == kDefaultSchedules;
    llvm::errs() << "kiln: " << llvm::count_if(halide->layers, [](const HalideLayer &l) { return l.tuned; }) << " of "
                 << halide->layers.size() << " conv/dense layers use tuned schedules from " << options.tuningPath
                 << (defaults ? " (its whole-pipeline record found Kiln's default schedules faster)" : "") << "\n";
  }
  if (options.emit == EmitPhase::HalideStmt || options.emit == EmitPhase::HalideHtml) {
    bool html = options.emit == EmitPhase::HalideHtml;
    std::string path = html ? options.outDir + "/" + options.name + ".stmt.html" : "/dev/stdout";
    if (html && llvm::sys::fs::create_directories(options.outDir))
      return fail("cannot create output directory '" + options.outDir + "'");
    return failed(emitStmt(*halide, path, html, error)) ? fail(error) : 0;
  }

  // 5. Compile to objects and link the library, all-or-nothing.
  return emitHalideLibrary({{&*halide, options.name + "_pipeline"}}, describeInterface(options.name, *halide), options);
}

} // namespace kiln
