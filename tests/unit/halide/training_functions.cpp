// Tests that lowerToHalide handles functions other than an inference @forward: a training step
// (labels, hyper, parameters and optimizer state as arguments; loss, new parameters and new state
// as results, one of them an argument returned as it is) and a forward pass whose conv, dense,
// conv_transpose and batch_norm weights are run-time arguments rather than embedded constants.
#include "graph_builder.h"

namespace kiln::test {
namespace {

using V = Graph::V;

/// Appends `nn.<kind> operands {attrs} : (...) -> result`.
V emitOp(Graph &g, const std::string &kind, const std::vector<V> &operands, const std::string &attrs,
         const Shape &result) {
  std::string names, types;
  for (size_t i = 0; i < operands.size(); ++i) {
    names += (i ? ", " : "") + operands[i].name;
    types += (i ? ", " : "") + typeOf(operands[i].shape);
  }
  return g.op(result, "nn." + kind + " " + names + (attrs.empty() ? "" : " {" + attrs + "}") + " : (" + types +
                          ") -> " + typeOf(result));
}

const std::string convAttrs = "strides = " + ints({1, 1}) + ", padding = " + ints({0, 0, 0, 0}) +
                              ", dilations = " + ints({1, 1}) + ", groups = 1 : i64";

/// conv -> relu -> flatten -> dense -> softmax cross-entropy, its backward pass and a momentum step
/// for every parameter; "unused" is a parameter that no op reads, returned unchanged.
Graph trainStep(std::vector<V> &outputs) {
  Graph g(testRng());
  g.functionName = "train_step";
  auto x = g.input(g.random({3, 2, 7, 7}, -1.0f, 1.0f), "{nn.name = \"x\"}");
  HostTensor classes({3});
  classes.data = {4.0f, 0.0f, 2.0f};
  auto labels = g.input(classes, "{nn.name = \"labels\"}");
  HostTensor hyperData({2});
  hyperData.data = {0.05f, 4.0f};
  auto hyper = g.input(hyperData, "{nn.name = \"hyper\"}");
  const std::vector<std::pair<std::string, Shape>> params = {
      {"conv.weight", {4, 2, 3, 3}}, {"conv.bias", {4}}, {"fc.weight", {5, 100}}, {"unused", {3}}};
  std::vector<V> p, v;
  for (const auto &[name, shape] : params)
    p.push_back(g.input(g.random(shape, -0.5f, 0.5f), "{nn.param = \"" + name + "\"}"));
  for (const auto &[name, shape] : params)
    v.push_back(g.input(g.random(shape, -0.1f, 0.1f), "{nn.state = \"" + name + ".momentum_buffer\"}"));

  auto c = emitOp(g, "conv2d", {x, p[0], p[1]}, convAttrs, {3, 4, 5, 5});
  auto r = g.unary("relu", c);
  auto f = g.flatten(r);
  auto z = emitOp(g, "dense", {f, p[2]}, "", {3, 5});
  auto loss = emitOp(g, "softmax_cross_entropy", {z, labels}, "", {1});
  auto dz = emitOp(g, "softmax_cross_entropy_grad", {z, labels}, "", {3, 5});
  auto dfc = emitOp(g, "dense_grad_weight", {f, dz}, "", {5, 100});
  auto df = emitOp(g, "dense_grad_input", {dz, p[2]}, "", {3, 100});
  auto dr = g.reshape(df, {3, 4, 5, 5});
  auto dc = emitOp(g, "activation_grad", {r, dr}, "activation = \"relu\"", {3, 4, 5, 5});
  auto dw = emitOp(g, "conv2d_grad_filter", {x, dc}, convAttrs, {4, 2, 3, 3});
  auto db = emitOp(g, "bias_grad", {dc}, "", {4});
  std::vector<V> grads = {dw, db, dfc};
  std::vector<V> newParams, newState;
  for (size_t i = 0; i < grads.size(); ++i)
    for (int which : {0, 1})
      (which ? newState : newParams)
          .push_back(
              emitOp(g, "optimizer_update", {p[i], grads[i], hyper, v[i]},
                     "optimizer = \"momentum\", which = " + std::to_string(which) + " : i64, momentum = 9.0e-01 : f32",
                     p[i].shape));
  newParams.push_back(p[3]);
  newState.push_back(v[3]);
  outputs = {loss};
  g.resultAttrs = {"{nn.name = \"loss\"}"};
  for (const V &value : newParams)
    outputs.push_back(value);
  for (const V &value : newState)
    outputs.push_back(value);
  for (const auto &[name, shape] : params)
    g.resultAttrs.push_back("{nn.param = \"" + name + "\"}");
  for (const auto &[name, shape] : params)
    g.resultAttrs.push_back("{nn.state = \"" + name + ".momentum_buffer\"}");
  return g;
}

TEST(HalideTrainingFunctions, TrainStepMatchesReference) {
  std::vector<V> outputs;
  Graph g = trainStep(outputs);
  auto actual = expectMatchesReference(g, outputs);
  ASSERT_EQ(actual.size(), outputs.size());
  // The unused parameter and its state come back unchanged.
  EXPECT_EQ(actual[4].data, g.inputs[6].data);
  EXPECT_EQ(actual[8].data, g.inputs[10].data);
}

TEST(HalideTrainingFunctions, TrainStepBoundaryNamesAndOrder) {
  std::vector<V> outputs;
  Graph g = trainStep(outputs);
  Parsed p = parse(g.text(outputs), "train_step");
  ASSERT_TRUE(p.fn);
  std::string error;
  auto model = lowerToHalide(p.fn, g.weights, {}, error);
  ASSERT_TRUE(mlir::succeeded(model)) << error;
  EXPECT_EQ(model->inputNames,
            (std::vector<std::string>{"x", "labels", "hyper", "conv.weight", "conv.bias", "fc.weight", "unused",
                                      "conv.weight.momentum_buffer", "conv.bias.momentum_buffer",
                                      "fc.weight.momentum_buffer", "unused.momentum_buffer"}));
  EXPECT_EQ(model->outputNames, (std::vector<std::string>{"loss", "conv.weight", "conv.bias", "fc.weight", "unused",
                                                          "conv.weight.momentum_buffer", "conv.bias.momentum_buffer",
                                                          "fc.weight.momentum_buffer", "unused.momentum_buffer"}));
  EXPECT_EQ(model->outputShapes[0], (Shape{1}));
  EXPECT_EQ(model->inputShapes[2], (Shape{2}));
}

TEST(HalideTrainingFunctions, ForwardWithRunTimeParameters) {
  Graph g(testRng());
  auto x = g.input({2, 6, 9, 9});
  auto param = [&](const std::string &name, Shape shape, float lo = -0.5f, float hi = 0.5f) {
    return g.input(g.random(shape, lo, hi), "{nn.param = \"" + name + "\"}");
  };
  auto w = param("w", {8, 3, 3, 3});
  auto b = param("b", {8});
  std::string why;
  auto convShape = nn::inferConv2DShape(x.shape, w.shape, std::nullopt, {2, 1}, {1, 0, 2, 1}, {1, 2}, 2, why);
  ASSERT_TRUE(mlir::succeeded(convShape)) << why;
  auto c = emitOp(g, "conv2d", {x, w, b},
                  "strides = " + ints({2, 1}) + ", padding = " + ints({1, 0, 2, 1}) + ", dilations = " + ints({1, 2}) +
                      ", groups = 2 : i64",
                  Shape(convShape->begin(), convShape->end()));
  auto bn = emitOp(g, "batch_norm",
                   {c, param("gamma", {8}), param("beta", {8}), param("mean", {8}), param("var", {8}, 0.25f, 2.0f)},
                   "epsilon = 1.0e-05 : f32", c.shape);
  auto r = g.unary("relu", bn);
  auto wt = param("wt", {8, 3, 3, 3});
  auto transposeShape =
      nn::inferConvTranspose2DShape(r.shape, wt.shape, std::nullopt, {2, 2}, {1, 1, 1, 1}, {1, 1}, {1, 1}, 2, why);
  ASSERT_TRUE(mlir::succeeded(transposeShape)) << why;
  auto t = emitOp(g, "conv_transpose2d", {r, wt, param("bt", {6})},
                  "strides = " + ints({2, 2}) + ", padding = " + ints({1, 1, 1, 1}) +
                      ", output_padding = " + ints({1, 1}) + ", dilations = " + ints({1, 1}) + ", groups = 2 : i64",
                  Shape(transposeShape->begin(), transposeShape->end()));
  auto flat = g.flatten(r);
  auto d = emitOp(g, "dense", {flat, param("fc", {10, flat.shape[1]})}, "", {2, 10});
  auto dBias = emitOp(g, "dense", {flat, param("fc2", {33, flat.shape[1]}), param("fc2b", {33})}, "", {2, 33});
  expectMatchesReference(g, {t, d, dBias});
}

} // namespace
} // namespace kiln::test
