// Extracting, compiling and timing one layer for kiln tune (see LayerBench.h).
#include "compiler/tune/LayerBench.h"

#include "kiln/Dialect/NN/NNOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <random>

using namespace mlir;

namespace kiln {

LayerBench::LayerBench(const HalideLayer &layer, const WeightStore &weights, uint64_t seed)
    : layer(layer), weights(weights) {
  Operation *first = layer.ops.front();
  OpBuilder builder(first->getContext());
  module = ModuleOp::create(first->getLoc());
  // Run-time operands (defined outside the layer, not parameters) become arguments, in first-use order.
  llvm::SetVector<Value> external;
  llvm::SmallPtrSet<Operation *, 8> inside(layer.ops.begin(), layer.ops.end());
  for (Operation *op : layer.ops)
    for (Value operand : op->getOperands())
      if (!operand.getDefiningOp<nn::ParamOp>() && !inside.contains(operand.getDefiningOp()))
        external.insert(operand);
  Value result = layer.ops.back()->getResult(0);
  builder.setInsertionPointToEnd(module->getBody());
  auto type = builder.getFunctionType(llvm::to_vector(llvm::map_range(external, [](Value v) { return v.getType(); })),
                                      {result.getType()});
  auto fn = func::FuncOp::create(builder, first->getLoc(), "forward", type);
  Block *body = fn.addEntryBlock();
  builder.setInsertionPointToEnd(body);
  IRMapping mapping;
  std::vector<std::vector<int64_t>> shapes;
  for (auto [i, value] : llvm::enumerate(external)) {
    mapping.map(value, body->getArgument(i));
    shapes.push_back(cast<RankedTensorType>(value.getType()).getShape().vec());
  }
  inputData = randomInputs(shapes, seed);
  for (Operation *op : layer.ops) {
    for (Value operand : op->getOperands())
      if (auto param = operand.getDefiningOp<nn::ParamOp>(); param && !mapping.contains(operand))
        builder.clone(*param, mapping);
    builder.clone(*op, mapping);
  }
  func::ReturnOp::create(builder, first->getLoc(), mapping.lookup(result));
}

FailureOr<std::unique_ptr<CompiledCandidate>> LayerBench::compile(const HalideStageSchedule &schedule,
                                                                  std::string &error) {
  HalideScheduleOptions options;
  options.tuned[layer.signature] = schedule;
  auto fn = module->lookupSymbol<func::FuncOp>("forward");
  FailureOr<HalideModel> model = lowerToHalide(fn, weights, options, error);
  if (failed(model))
    return failure();
  if (model->layers.size() != 1 || model->layers[0].signature != layer.signature) {
    error = "the layer alone lowers to a different signature";
    return failure();
  }
  return compileForTiming(std::move(*model), inputData, error);
}

std::vector<HostTensor> randomInputs(const std::vector<std::vector<int64_t>> &shapes, uint64_t seed) {
  std::mt19937 rng(static_cast<uint32_t>(seed));
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<HostTensor> inputs;
  for (const std::vector<int64_t> &shape : shapes) {
    HostTensor data(shape);
    for (float &x : data.data)
      x = uniform(rng);
    inputs.push_back(std::move(data));
  }
  return inputs;
}

FailureOr<std::unique_ptr<CompiledCandidate>> compileForTiming(HalideModel model, const std::vector<HostTensor> &inputs,
                                                               std::string &error) {
  auto candidate = std::make_unique<CompiledCandidate>();
  candidate->model = std::move(model);
  try {
    for (size_t i = 0; i < inputs.size(); ++i) {
      const HostTensor &data = inputs[i];
      Halide::Buffer<float> buffer(std::vector<int>(data.shape.rbegin(), data.shape.rend()));
      std::memcpy(buffer.data(), data.data.data(), data.data.size() * sizeof(float));
      candidate->model.inputs[i].set(buffer);
      candidate->inputs.push_back(buffer);
    }
    for (const auto &shape : candidate->model.outputShapes)
      candidate->outputs.emplace_back(std::vector<int>(shape.rbegin(), shape.rend()));
    candidate->model.pipeline.compile_jit(Halide::get_jit_target_from_environment());
    // One run, so a schedule that fails at run time (an autoscheduler's) fails here.
    std::vector<Halide::Buffer<>> outputs(candidate->outputs.begin(), candidate->outputs.end());
    Halide::Realization realization(outputs);
    candidate->model.pipeline.realize(realization);
  } catch (const Halide::Error &e) {
    error = std::string("Halide: ") + e.what();
    return failure();
  }
  return candidate;
}

double LayerBench::time(CompiledCandidate &candidate, int minRuns, double minMilliseconds, double cutoffMs) {
  std::vector<Halide::Buffer<>> buffers(candidate.outputs.begin(), candidate.outputs.end());
  Halide::Realization realization(buffers);
  auto run = [&] {
    auto start = std::chrono::steady_clock::now();
    candidate.model.pipeline.realize(realization);
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  };
  run(); // warm-up: caches, thread pool
  std::vector<double> times;
  double total = 0;
  while (times.size() < 60 && (static_cast<int>(times.size()) < minRuns || total < minMilliseconds)) {
    times.push_back(run());
    total += times.back();
    if (times.size() == 3 && *std::min_element(times.begin(), times.end()) > cutoffMs)
      break;
  }
  std::nth_element(times.begin(), times.begin() + times.size() / 2, times.end());
  return times[times.size() / 2];
}

} // namespace kiln
