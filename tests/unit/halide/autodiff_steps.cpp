// Tests that what nn-params-to-arguments and nn-autodiff build from small models (@forward with
// run-time parameters, and @train_step for each loss and optimizer) lowers to Halide and matches
// the reference interpreter on every output: loss, new parameters, new running statistics and new
// optimizer state.
#include "graph_builder.h"

#include "compiler/passes/Passes.h"

#include "mlir/Pass/PassManager.h"

namespace kiln::test {
namespace {

using V = Graph::V;

/// conv -> batch_norm -> relu -> max_pool -> dropout -> strided asymmetric conv -> relu -> dense
/// -> softmax, batch 3.
Graph convNet(std::vector<V> &outputs) {
  Graph g(testRng());
  auto x = g.input({3, 3, 12, 12});
  auto a = g.unary("relu", g.batchNorm(g.conv(x, 8, {3, 3}, {1, 1}, {1, 1, 1, 1})));
  auto p = g.unary("dropout", g.pool("max_pool2d", a, {2, 2}, {2, 2}, {0, 0, 0, 0}));
  auto c = g.unary("relu", g.conv(p, 12, {3, 3}, {2, 2}, {1, 0, 0, 1}));
  outputs = {g.softmax(g.dense(g.flatten(c), 10), 1)};
  return g;
}

/// Two branches added, concat with the input, avg_pool, a grouped conv, tanh, global_avg_pool,
/// dense, sigmoid: a regression model (mse), batch 2.
Graph branchyNet(std::vector<V> &outputs) {
  Graph g(testRng());
  auto x = g.input({2, 4, 9, 9});
  auto a = g.conv(x, 8, {3, 3}, {1, 1}, {1, 1, 1, 1});
  auto b = g.conv(x, 8, {1, 1}, {1, 1}, {0, 0, 0, 0}, {1, 1}, 1, false);
  auto s = g.unary("relu", g.add(a, b));
  auto pooled = g.pool("avg_pool2d", g.concat({s, x}, 1), {3, 3}, {2, 2}, {1, 1, 1, 1}, false);
  auto t = g.unary("tanh", g.conv(pooled, 6, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 2));
  outputs = {g.unary("sigmoid", g.dense(g.flatten(g.globalAvgPool(t)), 5))};
  return g;
}

struct StepCase {
  const char *name;
  Graph (*model)(std::vector<V> &);
  const char *loss;
  const char *optimizer;
  float weightDecay;
};

void PrintTo(const StepCase &c, std::ostream *os) { *os << c.name; }

/// The arguments of `fn`: the model's inputs, then labels for `loss`, hyper = [lr, t], parameters
/// from the weights, and random optimizer state (second moments non-negative).
std::vector<HostTensor> argumentsOf(mlir::func::FuncOp fn, Graph &g, const std::string &loss) {
  std::vector<HostTensor> arguments;
  for (unsigned i = 0; i < fn.getNumArguments(); ++i) {
    auto shape = llvm::cast<mlir::RankedTensorType>(fn.getArgument(i).getType()).getShape();
    Shape dims(shape.begin(), shape.end());
    auto attr = [&](const char *kind) { return fn.getArgAttrOfType<mlir::StringAttr>(i, kind); };
    if (auto param = attr("nn.param")) {
      arguments.push_back(g.weights.at(param.str()));
    } else if (auto slot = attr("nn.state")) {
      llvm::StringRef name = slot.getValue();
      bool secondMoment = name.ends_with("square_avg") || name.ends_with("exp_avg_sq");
      arguments.push_back(g.random(dims, secondMoment ? 0.0f : -0.1f, 0.1f));
    } else if (attr("nn.name") && attr("nn.name").getValue() == "hyper") {
      HostTensor hyper({2});
      hyper.data = {0.05f, 3.0f};
      arguments.push_back(hyper);
    } else if (attr("nn.name") && attr("nn.name").getValue() == "labels" && loss == "softmax_cross_entropy") {
      HostTensor labels(dims);
      for (size_t n = 0; n < labels.data.size(); ++n)
        labels.data[n] = static_cast<float>((n * 7 + 3) % 10);
      arguments.push_back(labels);
    } else if (i < g.inputs.size()) {
      arguments.push_back(g.inputs[i]);
    } else {
      arguments.push_back(g.random(dims, 0.0f, 1.0f)); // mse targets
    }
  }
  return arguments;
}

class AutodiffStepTest : public ::testing::TestWithParam<StepCase> {};

const StepCase stepCases[] = {
    {"convnet_cross_entropy_sgd", convNet, "softmax_cross_entropy", "sgd", 0.0f},
    {"convnet_cross_entropy_momentum_decay", convNet, "softmax_cross_entropy", "momentum", 1e-3f},
    {"convnet_cross_entropy_adam", convNet, "softmax_cross_entropy", "adam", 0.0f},
    {"branchy_mse_nesterov", branchyNet, "mse", "nesterov", 0.0f},
    {"branchy_mse_rmsprop_decay", branchyNet, "mse", "rmsprop", 1e-2f},
};

TEST_P(AutodiffStepTest, ForwardAndTrainStepMatchReference) {
  const StepCase &c = GetParam();
  std::vector<V> outputs;
  Graph g = c.model(outputs);
  std::string text = g.text(outputs);
  SCOPED_TRACE("seed " + std::to_string(runSeed()) + ", model:\n" + text);
  Parsed p = parse(text);
  ASSERT_TRUE(p.fn) << "cannot parse the test model";
  AutodiffOptions options;
  options.loss = c.loss;
  options.optimizer = c.optimizer;
  options.weightDecay = c.weightDecay;
  mlir::PassManager passes(p.context.get());
  passes.addPass(createParamsToArgumentsPass());
  passes.addPass(createAutodiffPass(options));
  ASSERT_TRUE(mlir::succeeded(passes.run(*p.module)));
  for (const char *name : {"forward", "train_step"}) {
    SCOPED_TRACE(name);
    auto fn = p.module->lookupSymbol<mlir::func::FuncOp>(name);
    ASSERT_TRUE(fn);
    expectFunctionMatchesReference(fn, g.weights, argumentsOf(fn, g, c.loss));
  }
}

INSTANTIATE_TEST_SUITE_P(Halide, AutodiffStepTest, ::testing::ValuesIn(stepCases),
                         [](const auto &info) { return std::string(info.param.name); });

} // namespace
} // namespace kiln::test
