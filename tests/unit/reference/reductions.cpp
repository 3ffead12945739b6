// Tests reference nn.reduce (every kind, over one, several and all axes of ranks 2 and 3; arg_max
// and arg_min take the first extreme; log_sum_exp stays finite for large inputs) and nn.reduce_grad
// (every kind; max and min share the gradient among ties) against hand-computed values.
#include "run_model.h"

#include "compiler/reference/Kernels.h"
#include "compiler/reference/TrainingKernels.h"

#include <cmath>

using namespace kiln;
using kiln::test::tensor;

namespace {

std::string reduceAttributes(const std::string &kind, const std::vector<int64_t> &axes) {
  std::string text = "kind = \"" + kind + "\", axes = array<i64: ";
  for (size_t i = 0; i < axes.size(); ++i)
    text += (i ? ", " : "") + std::to_string(axes[i]);
  return text + ">";
}

HostTensor reduce(const HostTensor &x, const std::string &kind, const std::vector<int64_t> &axes,
                  const std::vector<int64_t> &shape) {
  return test::runOp("reduce", {x}, shape, reduceAttributes(kind, axes));
}

// Rows {1, -2, 3} and {4, 0.5, -1}.
const HostTensor kRows = tensor({2, 3}, {1, -2, 3, 4, 0.5f, -1});

TEST(Reduce, EveryKindAlongTheLastAxis) {
  auto along = [](const std::string &kind) { return reduce(kRows, kind, {1}, {2, 1}); };
  test::expectTensor(along("sum"), {2, 1}, {2, 3.5f});
  test::expectTensor(along("mean"), {2, 1}, {2.0f / 3, 3.5f / 3});
  test::expectTensor(along("max"), {2, 1}, {3, 4});
  test::expectTensor(along("min"), {2, 1}, {-2, -1});
  test::expectTensor(along("prod"), {2, 1}, {-6, -2});
  test::expectTensor(along("sum_square"), {2, 1}, {14, 17.25f});
  test::expectTensor(along("l1"), {2, 1}, {6, 5.5f});
  test::expectTensor(along("l2"), {2, 1}, {std::sqrt(14.0f), std::sqrt(17.25f)});
  test::expectTensor(along("log_sum"), {2, 1}, {std::log(2.0f), std::log(3.5f)});
  test::expectTensor(along("log_sum_exp"), {2, 1},
                     {std::log(std::exp(1.0f) + std::exp(-2.0f) + std::exp(3.0f)),
                      std::log(std::exp(4.0f) + std::exp(0.5f) + std::exp(-1.0f))});
  test::expectTensor(along("arg_max"), {2, 1}, {2, 0});
  test::expectTensor(along("arg_min"), {2, 1}, {1, 2});
}

TEST(Reduce, FirstAxisAndAllAxes) {
  test::expectTensor(reduce(kRows, "sum", {0}, {1, 3}), {1, 3}, {5, -1.5f, 2});
  test::expectTensor(reduce(kRows, "prod", {0}, {1, 3}), {1, 3}, {4, -1, -3});
  test::expectTensor(reduce(kRows, "max", {0, 1}, {1, 1}), {1, 1}, {4});
  test::expectTensor(reduce(kRows, "mean", {0, 1}, {1, 1}), {1, 1}, {5.5f / 6});
  test::expectTensor(reduce(kRows, "arg_min", {0}, {1, 3}), {1, 3}, {0, 0, 1});
}

TEST(Reduce, MiddleAndOuterAxesOfRankThree) {
  // x[i][j][k] = 6i + 2j + k, shape [2, 3, 2].
  HostTensor x({2, 3, 2});
  for (int64_t i = 0; i < x.size(); ++i)
    x.data[i] = static_cast<float>(i);
  test::expectTensor(reduce(x, "sum", {1}, {2, 1, 2}), {2, 1, 2}, {6, 9, 24, 27});
  test::expectTensor(reduce(x, "sum", {0, 2}, {1, 3, 1}), {1, 3, 1}, {14, 22, 30});
  test::expectTensor(reduce(x, "min", {0, 2}, {1, 3, 1}), {1, 3, 1}, {0, 2, 4});
  test::expectTensor(reduce(x, "arg_max", {1}, {2, 1, 2}), {2, 1, 2}, {2, 2, 2, 2});
  test::expectTensor(reduce(x, "arg_max", {0}, {1, 3, 2}), {1, 3, 2}, {1, 1, 1, 1, 1, 1});
}

TEST(Reduce, ArgMaxAndArgMinTakeTheFirstExtreme) {
  const HostTensor ties = tensor({2, 4}, {1, 3, 3, 0, 2, -1, 2, -1});
  test::expectTensor(reduce(ties, "arg_max", {1}, {2, 1}), {2, 1}, {1, 0});
  test::expectTensor(reduce(ties, "arg_min", {1}, {2, 1}), {2, 1}, {3, 1});
}

TEST(Reduce, LogSumExpOfLargeInputsStaysFinite) {
  // exp(1000) overflows; 1001 + log(1 + e^-1 + e^-2) does not.
  const HostTensor x = tensor({1, 3}, {1000, 1001, 999});
  test::expectTensor(reduce(x, "log_sum_exp", {1}, {1, 1}), {1, 1}, {1001.40760596f}, 1e-3f);
  const HostTensor negative = tensor({1, 2}, {-1000, -1000});
  test::expectTensor(reduce(negative, "log_sum_exp", {1}, {1, 1}), {1, 1}, {-1000 + std::log(2.0f)}, 1e-3f);
}

// --- nn.reduce_grad ---

HostTensor reduceGrad(const HostTensor &x, const HostTensor &dy, const std::string &kind,
                      const std::vector<int64_t> &axes) {
  return reference::reduceGrad(x, reference::reduce(x, kind, axes), dy, kind, axes);
}

TEST(ReduceGrad, EveryKindAlongTheLastAxis) {
  const HostTensor dy = tensor({2, 1}, {2, -1});
  auto grad = [&](const std::string &kind) { return reduceGrad(kRows, dy, kind, {1}); };
  test::expectTensor(grad("sum"), {2, 3}, {2, 2, 2, -1, -1, -1});
  test::expectTensor(grad("mean"), {2, 3}, {2.0f / 3, 2.0f / 3, 2.0f / 3, -1.0f / 3, -1.0f / 3, -1.0f / 3});
  test::expectTensor(grad("max"), {2, 3}, {0, 0, 2, -1, 0, 0});
  test::expectTensor(grad("min"), {2, 3}, {0, 2, 0, 0, 0, -1});
  // prod: the product of the others, -6 / x.
  test::expectTensor(grad("prod"), {2, 3}, {2 * -6.0f, 2 * 3.0f, 2 * -2.0f, -1 * -0.5f, -1 * -4.0f, -1 * 2.0f});
  test::expectTensor(grad("sum_square"), {2, 3}, {4, -8, 12, -8, -1, 2});
  test::expectTensor(grad("l1"), {2, 3}, {2, -2, 2, -1, -1, 1});
  const float r0 = std::sqrt(14.0f), r1 = std::sqrt(17.25f);
  test::expectTensor(grad("l2"), {2, 3}, {2 / r0, -4 / r0, 6 / r0, -4 / r1, -0.5f / r1, 1 / r1});
  // log_sum: dy / sum, the same for every element.
  test::expectTensor(grad("log_sum"), {2, 3}, {1, 1, 1, -1 / 3.5f, -1 / 3.5f, -1 / 3.5f});
  // log_sum_exp: dy * softmax.
  const float s0 = std::exp(1.0f) + std::exp(-2.0f) + std::exp(3.0f);
  const float s1 = std::exp(4.0f) + std::exp(0.5f) + std::exp(-1.0f);
  test::expectTensor(grad("log_sum_exp"), {2, 3},
                     {2 * std::exp(1.0f) / s0, 2 * std::exp(-2.0f) / s0, 2 * std::exp(3.0f) / s0,
                      -std::exp(4.0f) / s1, -std::exp(0.5f) / s1, -std::exp(-1.0f) / s1});
  test::expectTensor(grad("arg_max"), {2, 3}, {0, 0, 0, 0, 0, 0});
  test::expectTensor(grad("arg_min"), {2, 3}, {0, 0, 0, 0, 0, 0});
}

TEST(ReduceGrad, MaxAndMinShareTheGradientAmongTies) {
  const HostTensor x = tensor({2, 4}, {1, 3, 3, 3, 2, -1, 2, -1});
  const HostTensor dy = tensor({2, 1}, {6, 4});
  test::expectTensor(reduceGrad(x, dy, "max", {1}), {2, 4}, {0, 2, 2, 2, 2, 0, 2, 0});
  test::expectTensor(reduceGrad(x, dy, "min", {1}), {2, 4}, {6, 0, 0, 0, 0, 2, 0, 2});
}

TEST(ReduceGrad, SeveralAxesThroughTheInterpreter) {
  // mean over axes 0 and 2 of [2, 3, 2]: each gradient spread over its 4 elements.
  HostTensor x({2, 3, 2});
  const HostTensor y({1, 3, 1}), dy = tensor({1, 3, 1}, {4, 8, -4});
  HostTensor dx = test::runOp("reduce_grad", {x, y, dy}, {2, 3, 2}, reduceAttributes("mean", {0, 2}));
  test::expectTensor(dx, {2, 3, 2}, {1, 1, 2, 2, -1, -1, 1, 1, 2, 2, -1, -1});
}

} // namespace
