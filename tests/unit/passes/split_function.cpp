// Tests splitFunction: the parts of a training step (autodiff of a random conv/batch-norm/residual
// model, batch 2, odd sizes), run one after another by the reference interpreter with their
// arguments and results routed as the split says, give exactly the whole step's results, for cuts
// at every fused group, every few groups and none; and a hand-written function whose parameter,
// returned argument and returned value read by a later part take the paths they must.
#include "pass_model.h"

#include "compiler/passes/Passes.h"
#include "compiler/passes/SplitFunction.h"

namespace kiln::test {
namespace {

/// Runs the parts of `split` in order on the split function's `inputs`; returns its results.
std::vector<HostTensor> runParts(const SplitFunction &split, const WeightStore &weights,
                                 const std::vector<HostTensor> &inputs, size_t numResults) {
  std::vector<HostTensor> results(numResults), temporaries(split.temporaries.size());
  auto at = [&](PartValue v) -> HostTensor & {
    return v.kind == PartValue::Kind::Argument ? const_cast<HostTensor &>(inputs.at(v.index))
           : v.kind == PartValue::Kind::Result ? results.at(v.index)
                                               : temporaries.at(v.index);
  };
  for (FunctionPart part : split.parts) {
    std::vector<HostTensor> arguments;
    for (PartValue v : part.arguments) {
      EXPECT_FALSE(at(v).data.empty()) << "part @" << part.fn.getName().str() << " reads a value not yet written";
      arguments.push_back(at(v));
    }
    std::string error;
    auto outputs = interpret(part.fn, weights, arguments, error);
    EXPECT_TRUE(mlir::succeeded(outputs)) << error;
    if (mlir::failed(outputs))
      return {};
    EXPECT_EQ(outputs->size(), part.results.size());
    for (size_t k = 0; k < part.results.size(); ++k) {
      if (part.results[k].kind == PartValue::Kind::Temporary)
        EXPECT_EQ((*outputs)[k].shape, split.temporaries[part.results[k].index]);
      at(part.results[k]) = (*outputs)[k];
    }
  }
  return results;
}

/// Whether the first op of `part` that is not a parameter starts a fused group.
bool startsWithFusedGroup(mlir::func::FuncOp part) {
  for (mlir::Operation &op : part.getBody().front())
    if (op.getNumOperands() > 0 && !mlir::isa<nn::OptimizerUpdateOp, nn::RunningStatUpdateOp>(op))
      return mlir::isa<nn::Conv2DOp, nn::ConvTranspose2DOp, nn::Conv2DGradFilterOp, nn::DenseOp, nn::DenseGradInputOp,
                 nn::DenseGradWeightOp>(op);
  return false;
}

TEST(SplitFunction, PartsOfATrainingStepGiveTheWholeStepsResults) {
  std::mt19937 rng = testRng();
  Model m(rng, {2, 3, 9, 7});
  auto c1 = m.unary("nn.relu", m.batchNorm("bn1", m.conv("c1", m.x, 5, 3, 1, {1, 1, 1, 1}, 1, 1, false)));
  auto c2 = m.batchNorm("bn2", m.conv("c2", c1, 5, 3, 2, {1, 1, 1, 1}, 1, 1, false));
  auto sc = m.conv("sc", m.x, 5, 1, 2, {0, 0, 0, 0}, 1, 1, true);
  auto y = m.dense("fc", m.flatten(m.unary("nn.relu", m.add(c2, sc))), 4, true);

  mlir::MLIRContext context;
  context.loadDialect<nn::NNDialect, mlir::func::FuncDialect>();
  auto module = mlir::parseSourceString<mlir::ModuleOp>(m.text({y}), &context);
  ASSERT_TRUE(module);
  mlir::PassManager pm(&context);
  pm.addPass(createParamsToArgumentsPass());
  AutodiffOptions options;
  options.optimizer = "adam";
  pm.addPass(createAutodiffPass(options));
  ASSERT_TRUE(mlir::succeeded(pm.run(*module)));
  auto step = module->lookupSymbol<mlir::func::FuncOp>("train_step");

  // Inputs: x, labels (class indices), hyper {lr, t}, then every parameter and state slot.
  std::vector<HostTensor> inputs;
  for (mlir::BlockArgument arg : step.getArguments())
    inputs.push_back(randomTensor(rng, mlir::cast<mlir::RankedTensorType>(arg.getType()).getShape().vec(), 0.5f, 1.5f));
  inputs[0] = m.input;
  inputs[1].data = {3.0f, 1.0f};
  inputs[2].data = {0.01f, 2.0f};
  std::string error;
  auto whole = interpret(step, {}, inputs, error);
  ASSERT_TRUE(mlir::succeeded(whole)) << error;

  for (size_t opsPerPart : {size_t(1), size_t(7), size_t(0)}) {
    SCOPED_TRACE("ops per part " + std::to_string(opsPerPart));
    SplitFunction split = splitFunction(step, opsPerPart);
    ASSERT_TRUE(mlir::succeeded(mlir::verify(*module)));
    if (opsPerPart == 0)
      EXPECT_EQ(split.parts.size(), 1u);
    else
      EXPECT_GT(split.parts.size(), opsPerPart == 1 ? 8u : 1u);
    std::vector<int> written(step.getNumResults());
    for (size_t k = 0; k < split.parts.size(); ++k) {
      if (k > 0)
        EXPECT_TRUE(startsWithFusedGroup(split.parts[k].fn)) << "part " << k;
      for (PartValue v : split.parts[k].results)
        if (v.kind == PartValue::Kind::Result)
          ++written[v.index];
    }
    EXPECT_EQ(written, std::vector<int>(step.getNumResults(), 1)) << "each result is written by one part";
    std::vector<HostTensor> results = runParts(split, {}, inputs, step.getNumResults());
    ASSERT_EQ(results.size(), whole->size());
    for (size_t i = 0; i < results.size(); ++i)
      EXPECT_EQ(results[i].data, (*whole)[i].data) << "result " << i;
    for (FunctionPart part : split.parts)
      part.fn.erase();
  }
}

TEST(SplitFunction, ParametersReturnedArgumentsAndValuesReadAfterTheirPart) {
  const char *text = R"(
func.func @f(%x: tensor<2x4xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>) {
  %w = nn.param "w" : tensor<4x4xf32>
  %a = nn.dense %x, %w : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  %r = nn.relu %a : tensor<2x4xf32>
  %b = nn.dense %r, %w : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  %s = nn.add %b, %r : tensor<2x4xf32>
  func.return %s, %x, %a : tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>
}
)";
  mlir::MLIRContext context;
  context.loadDialect<nn::NNDialect, mlir::func::FuncDialect>();
  auto module = mlir::parseSourceString<mlir::ModuleOp>(text, &context);
  ASSERT_TRUE(module);
  auto fn = module->lookupSymbol<mlir::func::FuncOp>("f");
  SplitFunction split = splitFunction(fn, 1);
  ASSERT_TRUE(mlir::succeeded(mlir::verify(*module)));
  ASSERT_EQ(split.parts.size(), 2u);
  using K = PartValue::Kind;
  // Part 0: the first dense and relu; returns %a (result 2) and passes %r on.
  EXPECT_EQ(split.parts[0].arguments, (std::vector<PartValue>{{K::Argument, 0}}));
  EXPECT_EQ(split.parts[0].results, (std::vector<PartValue>{{K::Result, 2}, {K::Temporary, 0}}));
  // Part 1: the second dense and the add; returns %s and the argument %x.
  EXPECT_EQ(split.parts[1].arguments, (std::vector<PartValue>{{K::Temporary, 0}, {K::Argument, 0}}));
  EXPECT_EQ(split.parts[1].results, (std::vector<PartValue>{{K::Result, 0}, {K::Result, 1}}));
  EXPECT_EQ(split.temporaries, (std::vector<std::vector<int64_t>>{{2, 4}}));
  for (FunctionPart part : split.parts)
    EXPECT_EQ(llvm::range_size(part.fn.getBody().front().getOps<nn::ParamOp>()), 1u) << "the parameter is copied";

  std::mt19937 rng = testRng();
  WeightStore weights;
  weights["w"] = randomTensor(rng, {4, 4}, -1, 1);
  std::vector<HostTensor> inputs = {randomTensor(rng, {2, 4}, -1, 1)};
  std::string error;
  auto whole = interpret(fn, weights, inputs, error);
  ASSERT_TRUE(mlir::succeeded(whole)) << error;
  std::vector<HostTensor> results = runParts(split, weights, inputs, 3);
  ASSERT_EQ(results.size(), 3u);
  for (size_t i = 0; i < 3; ++i)
    EXPECT_EQ(results[i].data, (*whole)[i].data) << "result " << i;
}

} // namespace
} // namespace kiln::test
