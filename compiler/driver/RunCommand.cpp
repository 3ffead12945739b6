// `kiln run` (see RunCommand.h): loads inputs, runs the library or the interpreter, checks and
// writes outputs, and optionally times repeated calls.
#include "compiler/driver/RunCommand.h"

#include "compiler/driver/ModelLoader.h"
#include "compiler/reference/Interpreter.h"
#include "compiler/runner/LoadedModel.h"
#include "compiler/weights/WeightStore.h"

#include "llvm/Support/raw_ostream.h"

#include <cstdio>

using namespace mlir;

namespace kiln {

static int fail(const std::string &message) {
  llvm::errs() << "kiln: error: " << message << "\n";
  return 1;
}

static void printTiming(const Timing &t, int repeat, int threads) {
  std::printf("kiln: %d runs", repeat);
  if (threads > 0)
    std::printf(", %d threads", threads);
  std::printf(": min %.3f ms, median %.3f ms, max %.3f ms\n", t.minMs, t.medianMs, t.maxMs);
}

static TensorSpec specOf(Type type, StringAttr name) {
  ArrayRef<int64_t> shape = cast<RankedTensorType>(type).getShape();
  return {name ? name.str() : "", std::vector<int64_t>(shape.begin(), shape.end())};
}

/// The model's inputs and outputs as named by their `nn.name` attributes.
static std::pair<std::vector<TensorSpec>, std::vector<TensorSpec>> interfaceOf(func::FuncOp fn) {
  std::pair<std::vector<TensorSpec>, std::vector<TensorSpec>> specs;
  for (unsigned i = 0; i < fn.getNumArguments(); ++i)
    specs.first.push_back(specOf(fn.getArgument(i).getType(), fn.getArgAttrOfType<StringAttr>(i, "nn.name")));
  for (unsigned i = 0; i < fn.getNumResults(); ++i)
    specs.second.push_back(specOf(fn.getResultTypes()[i], fn.getResultAttrOfType<StringAttr>(i, "nn.name")));
  return specs;
}

static int runReference(const RunOptions &options) {
  MLIRContext context;
  WeightStore embedded;
  OwningOpRef<ModuleOp> module = loadModel(options.referenceModel, context, options.batch, &embedded);
  if (!module)
    return 1;
  std::string error;
  WeightStore weights;
  if (failed(bindModelWeights(*module, options.weightsPath, embedded, options.seed, weights, error)))
    return fail(error);
  func::FuncOp fn = getForward(*module);
  auto [inputSpecs, outputSpecs] = interfaceOf(fn);
  std::vector<HostTensor> inputs;
  if (!loadInputs(options.inputs, inputSpecs, inputs, error))
    return fail(error);
  FailureOr<std::vector<HostTensor>> outputs = interpret(fn, weights, inputs, error);
  if (failed(outputs))
    return fail(error);
  if (!writeOutputs(options.outputs, outputSpecs, *outputs, error))
    return fail(error);
  return 0;
}

static int runLibrary(const RunOptions &options) {
  std::string error;
  std::unique_ptr<LoadedModel> model = LoadedModel::open(options.libraryPath, error);
  if (!model)
    return fail(error);
  if (options.threads > 0 && !model->setThreads(options.threads, error))
    return fail(error);
  std::vector<HostTensor> inputs, outputs;
  if (!loadInputs(options.inputs, model->inputs(), inputs, error))
    return fail(error);
  if (!model->run(inputs, outputs, error))
    return fail(error);
  if (options.repeat > 0) {
    Timing timing = timeRuns([&] { return model->run(inputs, outputs, error); }, options.repeat);
    if (!error.empty())
      return fail(error);
    printTiming(timing, options.repeat, options.threads);
  }
  if (!writeOutputs(options.outputs, model->outputs(), outputs, error))
    return fail(error);
  return 0;
}

int runModel(const RunOptions &options) {
  if (options.referenceModel.empty() == options.libraryPath.empty())
    return fail("give either a compiled library (kiln run libNAME.so ...) or --reference MODEL, not both");
  return options.referenceModel.empty() ? runLibrary(options) : runReference(options);
}

} // namespace kiln
