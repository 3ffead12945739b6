// The Halide backend's driver: walks the function (@forward, @train_step, ...) once in order,
// lowers each op through the per-category files, adds the boundary Funcs (every argument an input,
// every result an output, in C order with dims reversed),
// schedules, and runs (JIT) or compiles (AOT) the pipeline. Halide exceptions become error strings.
#include "compiler/halide/HalideBackend.h"
#include "compiler/halide/Lowering.h"
#include "compiler/support/ForkJobs.h"

#include "kiln/Dialect/NN/NNOps.h"
#include "kiln/Dialect/NN/ShapeRules.h"

#include "llvm/ADT/TypeSwitch.h"

#include <cstring>
#include <exception>
#include <filesystem>
#include <limits>
#include <thread>

using namespace mlir;

namespace kiln::halide {

std::vector<int> storagePerm(int rank) {
  if (rank == 4)
    return {1, 3, 2, 0};
  std::vector<int> perm(rank);
  for (int i = 0; i < rank; ++i)
    perm[i] = rank - 1 - i;
  return perm;
}

std::vector<Halide::Var> storageVars(int rank) {
  if (rank == 4)
    return {Halide::Var("c"), Halide::Var("x"), Halide::Var("y"), Halide::Var("n")};
  std::vector<Halide::Var> vars;
  for (int i = 0; i < rank; ++i)
    vars.emplace_back("i" + std::to_string(i));
  return vars;
}

std::vector<Halide::Expr> logicalOf(const std::vector<Halide::Var> &vars) {
  std::vector<int> perm = storagePerm(static_cast<int>(vars.size()));
  std::vector<Halide::Expr> logical(vars.size());
  for (size_t i = 0; i < vars.size(); ++i)
    logical[perm[i]] = vars[i];
  return logical;
}

std::vector<int64_t> storageExtents(const std::vector<int64_t> &shape) {
  std::vector<int> perm = storagePerm(static_cast<int>(shape.size()));
  std::vector<int64_t> extents(shape.size());
  for (size_t i = 0; i < shape.size(); ++i)
    extents[i] = shape[perm[i]];
  return extents;
}

Halide::Expr TensorRef::at(const std::vector<Halide::Expr> &logical) const {
  std::vector<int> perm = storagePerm(rank());
  std::vector<Halide::Expr> args(logical.size());
  for (size_t i = 0; i < logical.size(); ++i)
    args[i] = logical[perm[i]];
  return func(args);
}

Halide::Buffer<float> toStorageBuffer(const HostTensor &tensor) {
  std::vector<int64_t> extents = storageExtents(tensor.shape);
  std::vector<int> sizes(extents.begin(), extents.end());
  Halide::Buffer<float> buffer(sizes);
  // Element at logical index L lives at C-order offset sum(L[j] * stride[j]).
  int rank = static_cast<int>(tensor.shape.size());
  std::vector<int64_t> cStride(rank, 1);
  for (int j = rank - 2; j >= 0; --j)
    cStride[j] = cStride[j + 1] * tensor.shape[j + 1];
  std::vector<int> perm = storagePerm(rank);
  buffer.for_each_element([&](const int *pos) {
    int64_t offset = 0;
    for (int i = 0; i < rank; ++i)
      offset += pos[i] * cStride[perm[i]];
    buffer(pos) = tensor.data[offset];
  });
  return buffer;
}

/// Follows nn.dropout (the identity) back to the value it forwards.
static Value lookThroughDropout(Value value) {
  while (auto dropout = value.getDefiningOp<nn::DropoutOp>())
    value = dropout.getInput();
  return value;
}

std::vector<int64_t> shapeOf(Value value) {
  auto type = cast<RankedTensorType>(value.getType());
  return std::vector<int64_t>(type.getShape().begin(), type.getShape().end());
}

bool LoweringState::isConstant(Value value) {
  return static_cast<bool>(lookThroughDropout(value).getDefiningOp<nn::ParamOp>());
}

FailureOr<const HostTensor *> LoweringState::constant(Value value, std::string &error) {
  auto param = lookThroughDropout(value).getDefiningOp<nn::ParamOp>();
  if (!param) {
    error = "expected an nn.param operand (weights must be parameters for the Halide backend)";
    return failure();
  }
  auto found = weights.find(param.getName().str());
  if (found == weights.end()) {
    error = "no weights for parameter '" + param.getName().str() + "'";
    return failure();
  }
  std::vector<int64_t> shape = shapeOf(param.getResult());
  if (found->second.shape != shape || found->second.size() != HostTensor::numElements(shape)) {
    error = "parameter '" + param.getName().str() + "' is declared " + nn::formatShape(shape) +
            " but its data is " + nn::formatShape(found->second.shape);
    return failure();
  }
  return &found->second;
}

FailureOr<TensorRef> LoweringState::tensor(Value value, std::string &error) {
  value = lookThroughDropout(value);
  auto found = values.find(value);
  if (found != values.end())
    return found->second;
  if (auto param = value.getDefiningOp<nn::ParamOp>()) {
    auto data = constant(value, error);
    if (failed(data))
      return failure();
    TensorRef ref;
    ref.shape = (*data)->shape;
    ref.func = embed(freshName("param"), toStorageBuffer(**data));
    values[value] = ref;
    return ref;
  }
  error = "internal error: operand used before it was lowered";
  return failure();
}

LayerLowering LoweringState::lowering(Operation *op, const HalideStageSchedule &e, bool dense) const {
  auto chosen = chosenLowerings.find(op);
  return chosen != chosenLowerings.end() ? chosen->second : loweringFor(e, dense);
}

Halide::Func LoweringState::embed(const std::string &name, const Halide::Buffer<float> &data, int block) {
  std::vector<Halide::Var> vars;
  for (int d = 0; d < data.dimensions(); ++d)
    vars.emplace_back("e" + std::to_string(d));
  Halide::Func func(name);
  const int64_t count = static_cast<int64_t>(data.number_of_elements());
  if (constantPoolUsed + count > constantPool.width()) {
    func(vars) = data(std::vector<Halide::Expr>(vars.begin(), vars.end()));
    return func;
  }
  // Pool strides: dimension 0 within a block, then the other dimensions, then the blocks.
  const int rank = data.dimensions();
  const int extent0 = rank > 0 ? data.dim(0).extent() : 1;
  const bool blocked = block > 0 && block < extent0 && extent0 % block == 0;
  const int inner = blocked ? block : extent0;
  std::vector<int64_t> strides(rank, 1);
  int64_t slab = inner;
  for (int d = 1; d < rank; ++d) {
    strides[d] = slab;
    slab *= data.dim(d).extent();
  }
  const int64_t offset = constantPoolUsed;
  float *pool = constantPool.data() + offset;
  data.for_each_element([&](const int *pos) {
    int64_t at = 0;
    for (int d = 0; d < rank; ++d) {
      const int64_t i = pos[d] - data.dim(d).min();
      at += d == 0 ? i % inner + i / inner * slab : i * strides[d];
    }
    pool[at] = data(pos);
  });
  Halide::Expr index = static_cast<int>(offset);
  for (int d = 0; d < rank; ++d) {
    Halide::Expr i = vars[d] - data.dim(d).min();
    index += d > 0 ? i * static_cast<int>(strides[d]) : blocked ? i % inner + i / inner * static_cast<int>(slab) : i;
  }
  constexpr int64_t lineFloats = 16;
  constantPoolUsed = (offset + count + lineFloats - 1) / lineFloats * lineFloats;
  func(vars) = constantPool(index);
  return func;
}

void LoweringState::finishConstants() {
  constantPool.crop(0, 0, static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(constantPoolUsed, constantPool.width()))));
}

TensorRef LoweringState::addStage(StageKind kind, Halide::Func func, const std::vector<int64_t> &shape) {
  Stage stage;
  stage.kind = kind;
  stage.output = func;
  stage.extents = storageExtents(shape);
  stages.push_back(stage);
  TensorRef ref;
  ref.func = func;
  ref.shape = shape;
  ref.stage = static_cast<int>(stages.size()) - 1;
  return ref;
}

int LoweringState::fusableStage(Value operand) {
  operand = lookThroughDropout(operand);
  auto found = values.find(operand);
  if (found == values.end() || found->second.stage < 0)
    return -1;
  return uses.lookup(operand) == 1 ? found->second.stage : -1;
}

void LoweringState::bindElementwise(Value result, Halide::Func func, const std::vector<int64_t> &shape,
                                    int stage) {
  if (stage < 0) {
    values[result] = addStage(StageKind::Pointwise, func, shape);
    return;
  }
  stages[stage].output = func;
  stages[stage].fused = true;
  if (!stages[stage].ops.empty()) {
    Operation *op = result.getDefiningOp();
    stages[stage].ops.push_back(op);
    stages[stage].signature += " +" + opSignature(op);
  }
  TensorRef ref;
  ref.func = func;
  ref.shape = shape;
  ref.stage = stage;
  values[result] = ref;
}

/// Row-major strides of a shape, in Halide dimension order (dimension 0 = last tensor dimension).
static std::vector<int64_t> halideStrides(const std::vector<int64_t> &shape) {
  std::vector<int64_t> strides(shape.size(), 1);
  for (size_t d = 1; d < shape.size(); ++d)
    strides[d] = strides[d - 1] * shape[shape.size() - d];
  return strides;
}

/// Floats of constant pool `fn` needs: room for each parameter twice (as stored and repacked), and
/// for the tap tables of each resize (up to 4 taps, a position and a weight each, per output row
/// and column) and resize gradient (transposed: at most 4 * (out + 2 * in) entries per axis),
/// aligned.
static int64_t constantCapacity(func::FuncOp fn) {
  int64_t constantFloats = 1;
  for (Operation &op : fn.getBody().front()) {
    if (auto param = dyn_cast<nn::ParamOp>(op))
      constantFloats += 2 * (HostTensor::numElements(shapeOf(param.getResult())) + 16);
    if (isa<nn::ResizeOp, nn::ResizeGradOp>(op)) {
      std::vector<int64_t> in = shapeOf(op.getOperand(0)), out = shapeOf(op.getResult(0));
      constantFloats += 2 * 4 * (out[2] + out[3] + 2 * (in[2] + in[3])) + 4 * 16;
    }
  }
  return std::min<int64_t>(constantFloats, std::numeric_limits<int>::max());
}

/// Lowers every op of `fn` into `state`, filling `model`'s inputs and outputs (not its layers,
/// schedule or pipeline) and `outputs`.
static LogicalResult lowerOps(func::FuncOp fn, LoweringState &state, HalideModel &model,
                              std::vector<Halide::Func> &outputs, std::string &error) {
  Block &body = fn.getBody().front();

  // Inputs: ImageParam in_i with Halide dims reversed, constrained to the static shape.
  for (BlockArgument arg : body.getArguments()) {
    auto type = dyn_cast<RankedTensorType>(arg.getType());
    unsigned index = arg.getArgNumber();
    if (!type || !type.getElementType().isF32() || !type.hasStaticShape()) {
      error = "argument " + std::to_string(index) + " of @" + fn.getName().str() + " must be a static f32 tensor";
      return failure();
    }
    std::vector<int64_t> shape = shapeOf(arg);
    int rank = static_cast<int>(shape.size());
    Halide::ImageParam param(Halide::Float(32), rank, "in_" + std::to_string(index));
    std::vector<int64_t> strides = halideStrides(shape);
    for (int d = 0; d < rank; ++d) {
      int extent = static_cast<int>(shape[rank - 1 - d]);
      param.dim(d).set_bounds(0, extent).set_stride(static_cast<int>(strides[d])).set_estimate(0, extent);
    }
    TensorRef ref;
    ref.shape = shape;
    ref.memoryInner = rank == 4 ? 1 : 0; // read in place: C order, W innermost
    ref.func = Halide::Func("input_" + std::to_string(index));
    std::vector<Halide::Var> vars = storageVars(rank);
    std::vector<Halide::Expr> logical = logicalOf(vars);
    ref.func(vars) = param(std::vector<Halide::Expr>(logical.rbegin(), logical.rend()));
    state.values[arg] = ref;
    model.inputs.push_back(param);
    model.inputNames.push_back(kiln::boundaryName(fn, index, false));
    model.inputShapes.push_back(shape);
  }

  // Consumers of each value, looking through dropout, so fusion knows when a result is used once.
  for (Operation &op : body) {
    if (isa<nn::DropoutOp>(op))
      continue;
    for (Value operand : op.getOperands())
      state.uses[lookThroughDropout(operand)]++;
  }

  for (Operation &op : body) {
    LogicalResult result = success();
    bool handled = true;
    llvm::TypeSwitch<Operation *>(&op)
        .Case<nn::ParamOp, nn::DropoutOp>([&](Operation *) {})
        .Case<nn::Conv2DOp>([&](Operation *o) { result = lowerConv2D(o, state, error); })
        .Case<nn::DenseOp>([&](Operation *o) { result = lowerDense(o, state, error); })
        .Case<nn::MaxPool2DOp>([&](Operation *o) { result = lowerMaxPool2D(o, state, error); })
        .Case<nn::AvgPool2DOp>([&](Operation *o) { result = lowerAvgPool2D(o, state, error); })
        .Case<nn::ConvTranspose2DOp>([&](Operation *o) { result = lowerConvTranspose2D(o, state, error); })
        .Case<nn::GlobalAvgPoolOp, nn::GlobalMaxPoolOp>([&](Operation *o) { result = lowerGlobalPool(o, state, error); })
        .Case<nn::LRNOp>([&](Operation *o) { result = lowerLRN(o, state, error); })
        .Case<nn::BatchNormOp>([&](Operation *o) { result = lowerBatchNorm(o, state, error); })
        .Case<nn::ReluOp, nn::TanhOp, nn::SigmoidOp, nn::LeakyReluOp, nn::ClipOp, nn::HardSigmoidOp,
              nn::HardSwishOp>([&](Operation *o) { result = lowerActivation(o, state, error); })
        .Case<nn::AddOp, nn::SubOp, nn::MulOp, nn::DivOp, nn::MaxOp, nn::MinOp, nn::PowOp, nn::PReluOp>(
            [&](Operation *o) { result = lowerBinary(o, state, error); })
        .Case<nn::SumOp, nn::MeanOp>([&](Operation *o) { result = lowerSumMean(o, state, error); })
        .Case<nn::SoftmaxOp, nn::LogSoftmaxOp>([&](Operation *o) { result = lowerSoftmax(o, state, error); })
        .Case<nn::ReshapeOp>([&](Operation *o) { result = lowerReshape(o, state, error); })
        .Case<nn::PadOp>([&](Operation *o) { result = lowerPad(o, state, error); })
        .Case<nn::ResizeOp>([&](Operation *o) { result = lowerResize(o, state, error); })
        .Case<nn::ResizeGradOp>([&](Operation *o) { result = lowerResizeGrad(o, state, error); })
        .Case<nn::FlattenOp>([&](Operation *o) { result = lowerFlatten(o, state, error); })
        .Case<nn::ConcatOp>([&](Operation *o) { result = lowerConcat(o, state, error); })
        .Case<nn::Conv2DGradFilterOp>([&](Operation *o) { result = lowerConv2DGradFilter(o, state, error); })
        .Case<nn::DenseGradInputOp>([&](Operation *o) { result = lowerDenseGradInput(o, state, error); })
        .Case<nn::DenseGradWeightOp>([&](Operation *o) { result = lowerDenseGradWeight(o, state, error); })
        .Case<nn::BiasGradOp>([&](Operation *o) { result = lowerBiasGrad(o, state, error); })
        .Case<nn::MaxPool2DGradOp>([&](Operation *o) { result = lowerMaxPool2DGrad(o, state, error); })
        .Case<nn::AvgPool2DGradOp>([&](Operation *o) { result = lowerAvgPool2DGrad(o, state, error); })
        .Case<nn::GlobalAvgPoolGradOp>([&](Operation *o) { result = lowerGlobalAvgPoolGrad(o, state, error); })
        .Case<nn::SoftmaxCrossEntropyOp>([&](Operation *o) { result = lowerSoftmaxCrossEntropy(o, state, error); })
        .Case<nn::SoftmaxCrossEntropyGradOp>(
            [&](Operation *o) { result = lowerSoftmaxCrossEntropyGrad(o, state, error); })
        .Case<nn::MseLossOp>([&](Operation *o) { result = lowerMseLoss(o, state, error); })
        .Case<nn::MseLossGradOp>([&](Operation *o) { result = lowerMseLossGrad(o, state, error); })
        .Case<nn::ActivationGradOp>([&](Operation *o) { result = lowerActivationGrad(o, state, error); })
        .Case<nn::DropoutTrainOp>([&](Operation *o) { result = lowerDropoutTrain(o, state, error); })
        .Case<nn::BatchNormTrainOp>([&](Operation *o) { result = lowerBatchNormTrain(o, state, error); })
        .Case<nn::BatchNormGradInputOp>([&](Operation *o) { result = lowerBatchNormGradInput(o, state, error); })
        .Case<nn::BatchNormGradScaleOp>([&](Operation *o) { result = lowerBatchNormGradScale(o, state, error); })
        .Case<nn::RunningStatUpdateOp>([&](Operation *o) { result = lowerRunningStatUpdate(o, state, error); })
        .Case<nn::SliceOp>([&](Operation *o) { result = lowerSlice(o, state, error); })
        .Case<nn::UnaryOp>([&](Operation *o) { result = lowerUnary(o, state, error); })
        .Case<nn::TransposeOp>([&](Operation *o) { result = lowerTranspose(o, state, error); })
        .Case<nn::BroadcastOp>([&](Operation *o) { result = lowerBroadcast(o, state, error); })
        .Case<nn::ReduceOp>([&](Operation *o) { result = lowerReduce(o, state, error); })
        .Case<nn::MatMulOp>([&](Operation *o) { result = lowerMatMul(o, state, error); })
        .Case<nn::SliceGradOp>([&](Operation *o) { result = lowerSliceGrad(o, state, error); })
        .Case<nn::UnaryGradOp>([&](Operation *o) { result = lowerUnaryGrad(o, state, error); })
        .Case<nn::ReduceGradOp>([&](Operation *o) { result = lowerReduceGrad(o, state, error); })
        .Case<nn::OptimizerUpdateOp>([&](Operation *o) { result = lowerOptimizerUpdate(o, state, error); })
        .Case<func::ReturnOp>([&](Operation *o) {
          // Outputs: out_i with Halide dims reversed, reading the internal layout.
          for (auto [index, operand] : llvm::enumerate(o->getOperands())) {
            auto ref = state.tensor(operand, error);
            if (failed(ref)) {
              result = failure();
              return;
            }
            int rank = ref->rank();
            // A pointwise result only returned is computed by the output, not stored and copied
            // (an optimizer update: the new parameter of a large weight).
            if (ref->stage >= 0 && state.uses.lookup(lookThroughDropout(operand)) == 1) {
              Stage &source = state.stages[ref->stage];
              if (source.kind == StageKind::Pointwise && source.output.name() == ref->func.name())
                source.kind = StageKind::Inline;
            }
            Halide::Func out("out_" + std::to_string(index));
            std::vector<Halide::Var> vars;
            for (int d = 0; d < rank; ++d)
              vars.emplace_back("d" + std::to_string(d));
            std::vector<Halide::Expr> logical(vars.rbegin(), vars.rend());
            Stage stage = copyStage(state, operand, out, vars, *ref, logical,
                                    std::vector<int64_t>(ref->shape.rbegin(), ref->shape.rend()));
            std::vector<int64_t> strides = halideStrides(ref->shape);
            for (int d = 0; d < rank; ++d) {
              int extent = static_cast<int>(ref->shape[rank - 1 - d]);
              out.output_buffer().dim(d).set_bounds(0, extent).set_stride(static_cast<int>(strides[d]));
              out.set_estimate(vars[d], 0, extent);
            }
            state.stages.push_back(stage);
            outputs.push_back(out);
            model.outputNames.push_back(kiln::boundaryName(fn, static_cast<unsigned>(index), true));
            model.outputShapes.push_back(ref->shape);
          }
        })
        .Default([&](Operation *o) { handled = false; });
    if (!handled) {
      error = "the Halide backend does not support '" + op.getName().getStringRef().str() + "'";
      return failure();
    }
    // A new conv or dense stage: the layer kiln tune measures, its signature grown by fusions.
    if (succeeded(result) && op.getNumResults() == 1) {
      auto bound = state.values.find(op.getResult(0));
      if (bound != state.values.end() && bound->second.stage >= 0) {
        Stage &stage = state.stages[bound->second.stage];
        if ((stage.kind == StageKind::Conv || stage.kind == StageKind::WinogradConv || stage.kind == StageKind::Dense) &&
            stage.ops.empty()) {
          stage.ops.push_back(&op);
          stage.name = layerName(&op);
          stage.signature = opSignature(&op);
        }
      }
    }
    if (failed(result)) {
      std::string where;
      llvm::raw_string_ostream os(where);
      op.getLoc().print(os);
      error = op.getName().getStringRef().str() + " at " + os.str() + ": " + error;
      return failure();
    }
  }
  if (outputs.empty()) {
    error = "@" + fn.getName().str() + " returns nothing";
    return failure();
  }
  return success();
}

/// Records in `chosen` the lowering of each layer whose schedule asks for another one than it was
/// lowered with (conv algorithm, weight block); returns whether there was any.
static bool chooseLowerings(const std::vector<Stage> &stages, const std::vector<HalideLayer> &layers,
                            llvm::DenseMap<Operation *, LayerLowering> &chosen) {
  llvm::DenseMap<Operation *, LayerLowering> lowered;
  for (const Stage &stage : stages)
    if (!stage.ops.empty() && stage.lowering)
      lowered[stage.ops.front()] = *stage.lowering;
  bool changed = false;
  for (const HalideLayer &layer : layers) {
    Operation *op = layer.ops.front();
    auto was = lowered.find(op);
    LayerLowering wanted = loweringFor(layer.schedule, layer.kind == HalideLayer::Kind::Dense);
    if (was != lowered.end() && was->second != wanted) {
      chosen[op] = wanted;
      changed = true;
    }
  }
  return changed;
}

/// The autoscheduler for `fn`: the one asked for, else kiln tune's choice for its signature
/// (possibly kDefaultSchedules).
static std::string autoschedulerFor(func::FuncOp fn, const HalideScheduleOptions &options) {
  if (!options.autoscheduler.empty() || options.tunedPipelines.empty())
    return options.autoscheduler;
  auto tuned = options.tunedPipelines.find(pipelineSignature(fn));
  return tuned == options.tunedPipelines.end() ? "" : tuned->second;
}

/// Lowers and schedules `fn`. A conv's algorithm is decided when it is lowered, before the ops
/// fused into it (and so its layer's signature, the key of tuned schedules) are known: when a
/// tuned schedule asks for the other algorithm, the function is lowered once more with it.
static FailureOr<HalideModel> lower(func::FuncOp fn, const WeightStore &weights,
                                    const HalideScheduleOptions &options, std::string &error) {
  const std::string choice = autoschedulerFor(fn, options);
  if (choice == kDefaultSchedules) {
    HalideScheduleOptions defaults = options;
    defaults.tuned.clear();
    defaults.tunedPipelines.clear();
    return lower(fn, weights, defaults, error);
  }
  llvm::DenseMap<Operation *, LayerLowering> chosen;
  for (;;) {
    LoweringState state(weights, options, chosen, constantCapacity(fn));
    HalideModel model;
    std::vector<Halide::Func> outputs;
    if (failed(lowerOps(fn, state, model, outputs, error)))
      return failure();
    state.finishConstants();
    model.layers = describeLayers(state.stages, options);
    if (chooseLowerings(state.stages, model.layers, chosen))
      continue;
    model.pipeline = Halide::Pipeline(outputs);
    model.autoscheduler = choice;
    if (model.autoscheduler.empty())
      scheduleStages(state.stages, model.layers, options);
    else
      applyAutoscheduler(model.pipeline, model.autoscheduler, options.autoschedulerThreads);
    return model;
  }
}

/// Runs `body`, turning any Halide (or other C++) exception into `error`.
template <typename Body>
static LogicalResult guarded(std::string &error, Body body) {
  try {
    return body();
  } catch (const Halide::Error &e) {
    error = std::string("Halide: ") + e.what();
  } catch (const std::exception &e) {
    error = e.what();
  }
  return failure();
}

} // namespace kiln::halide

namespace kiln {

std::string boundaryName(func::FuncOp fn, unsigned index, bool result) {
  for (const char *kind : {"nn.name", "nn.param", "nn.state"})
    if (StringAttr name = result ? fn.getResultAttrOfType<StringAttr>(index, kind)
                                 : fn.getArgAttrOfType<StringAttr>(index, kind))
      return name.str();
  return (result ? "out_" : "in_") + std::to_string(index);
}


FailureOr<HalideModel> lowerToHalide(func::FuncOp fn, const WeightStore &weights,
                                     const HalideScheduleOptions &options, std::string &error) {
  FailureOr<HalideModel> model = failure();
  if (failed(halide::guarded(error, [&] {
        model = halide::lower(fn, weights, options, error);
        return failed(model) ? failure() : success();
      })))
    return failure();
  return model;
}

FailureOr<std::vector<HostTensor>> runJit(HalideModel &model, const std::vector<HostTensor> &inputs,
                                          std::string &error) {
  if (inputs.size() != model.inputs.size()) {
    error = "expected " + std::to_string(model.inputs.size()) + " inputs, got " + std::to_string(inputs.size());
    return failure();
  }
  std::vector<HostTensor> results;
  LogicalResult ok = halide::guarded(error, [&]() -> LogicalResult {
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (inputs[i].shape != model.inputShapes[i] ||
          inputs[i].size() != HostTensor::numElements(inputs[i].shape)) {
        error = "input '" + model.inputNames[i] + "' must be " + nn::formatShape(model.inputShapes[i]) +
                ", got " + nn::formatShape(inputs[i].shape);
        return failure();
      }
      std::vector<int> sizes(inputs[i].shape.rbegin(), inputs[i].shape.rend());
      Halide::Buffer<float> buffer(sizes);
      std::memcpy(buffer.data(), inputs[i].data.data(), inputs[i].data.size() * sizeof(float));
      model.inputs[i].set(buffer);
    }
    std::vector<Halide::Buffer<>> buffers;
    for (const auto &shape : model.outputShapes) {
      std::vector<int> sizes(shape.rbegin(), shape.rend());
      buffers.push_back(Halide::Buffer<float>(sizes));
    }
    Halide::Realization realization(buffers);
    model.pipeline.realize(realization);
    for (size_t i = 0; i < buffers.size(); ++i) {
      HostTensor tensor(model.outputShapes[i]);
      std::memcpy(tensor.data.data(), buffers[i].data(), tensor.data.size() * sizeof(float));
      results.push_back(std::move(tensor));
    }
    return success();
  });
  if (failed(ok))
    return failure();
  return results;
}

static std::vector<Halide::Argument> arguments(HalideModel &model) {
  return std::vector<Halide::Argument>(model.inputs.begin(), model.inputs.end());
}

FailureOr<std::vector<std::string>>
compileToObjects(const std::vector<std::pair<HalideModel *, std::string>> &pipelines, const std::string &directory,
                 std::string &error) {
  Halide::Target target = Halide::get_host_target().with_feature(Halide::Target::UserContext);
  std::filesystem::path dir(directory);
  std::vector<std::string> objects;
  for (auto &[model, functionName] : pipelines)
    objects.push_back((dir / (functionName + ".o")).string());
  objects.push_back((dir / "halide_runtime.o").string());
  // Task i < pipelines.size() compiles pipeline i, the last one the runtime.
  auto compile = [&](size_t i, std::string &message) {
    return succeeded(halide::guarded(message, [&]() -> LogicalResult {
      if (i == pipelines.size()) {
        Halide::compile_standalone_runtime(objects[i], target);
        return success();
      }
      HalideModel &model = *pipelines[i].first;
      try {
        model.pipeline.compile_to_object(objects[i], arguments(model), pipelines[i].second,
                                         target.with_feature(Halide::Target::NoRuntime));
      } catch (const Halide::Error &e) {
        if (model.autoscheduler.empty())
          throw;
        message = std::string("Halide: ") + e.what() + "(with the schedule of Halide's " + model.autoscheduler +
                  " autoscheduler: try another --autoscheduler, or none for Kiln's schedules)";
        return failure();
      }
      return success();
    }));
  };
  if (!runForked(objects.size(), std::thread::hardware_concurrency(), compile, error))
    return failure();
  return objects;
}

LogicalResult emitStmt(HalideModel &model, const std::string &path, bool html, std::string &error) {
  return halide::guarded(error, [&]() -> LogicalResult {
    Halide::Target target = Halide::get_host_target().with_feature(Halide::Target::UserContext)
                                .with_feature(Halide::Target::NoRuntime);
    model.pipeline.compile_to_lowered_stmt(path, arguments(model), html ? Halide::HTML : Halide::Text, target);
    return success();
  });
}

} // namespace kiln
