// Tests reference max/avg pooling with padding (padded cells never win; both count_include_pad
// settings; ceil_mode), global average and global max pooling against hand-computed values.
#include "run_model.h"

using namespace kiln;
using kiln::test::tensor;

namespace {

std::string poolModel(const std::string &op, const std::string &attrs) {
  return "func.func @forward(%x: tensor<1x1x3x3xf32>) -> tensor<1x1x2x2xf32> {\n"
         "  %y = nn." + op + " %x {" + attrs + "} : (tensor<1x1x3x3xf32>) -> tensor<1x1x2x2xf32>\n"
         "  return %y : tensor<1x1x2x2xf32>\n}\n";
}

const char *kWindow = "kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, ";

TEST(MaxPool2D, PaddedCellsNeverWin) {
  // All inputs negative (-1 .. -9), padding 1 on every side: a zero from padding must not win.
  // Windows: rows {0} / {1,2}, columns {0} / {1,2}.
  std::string model = poolModel("max_pool2d", std::string(kWindow) + "padding = array<i64: 1, 1, 1, 1>");
  HostTensor x = tensor({1, 1, 3, 3}, {-1, -2, -3, -4, -5, -6, -7, -8, -9});
  test::expectTensor(test::runOne(model, {}, {x}), {1, 1, 2, 2}, {-1, -2, -4, -5});
}

TEST(AvgPool2D, CountIncludePad) {
  // x = 1 .. 9, padding top 1, left 1: windows rows {0} / {1,2}, columns {0} / {1,2}; divisor 4.
  std::string model = poolModel("avg_pool2d", std::string(kWindow) +
                                                  "padding = array<i64: 1, 1, 0, 0>, count_include_pad = true");
  HostTensor x = tensor({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  test::expectTensor(test::runOne(model, {}, {x}), {1, 1, 2, 2}, {0.25f, 1.25f, 2.75f, 7.0f});
}

TEST(AvgPool2D, CountOnlyInBoundsCells) {
  std::string model = poolModel("avg_pool2d", std::string(kWindow) +
                                                  "padding = array<i64: 1, 1, 0, 0>, count_include_pad = false");
  HostTensor x = tensor({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  test::expectTensor(test::runOne(model, {}, {x}), {1, 1, 2, 2}, {1.0f, 2.5f, 5.5f, 7.0f});
}

TEST(AvgPool2D, StrideOneNoPadding) {
  std::string model = poolModel("avg_pool2d", "kernel = array<i64: 2, 2>, strides = array<i64: 1, 1>, "
                                              "padding = array<i64: 0, 0, 0, 0>, count_include_pad = false");
  HostTensor x = tensor({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  test::expectTensor(test::runOne(model, {}, {x}), {1, 1, 2, 2}, {3, 4, 6, 7});
}

TEST(GlobalAvgPool, MeanPerChannel) {
  const char *model = R"mlir(
func.func @forward(%x: tensor<1x2x1x3xf32>) -> tensor<1x2x1x1xf32> {
  %y = nn.global_avg_pool %x : (tensor<1x2x1x3xf32>) -> tensor<1x2x1x1xf32>
  return %y : tensor<1x2x1x1xf32>
}
)mlir";
  test::expectTensor(test::runOne(model, {}, {tensor({1, 2, 1, 3}, {1, 2, 3, 4, 5, 9})}), {1, 2, 1, 1}, {2, 6});
}


std::string ceilModel(const std::string &op, const std::string &attrs) {
  return "func.func @forward(%x: tensor<1x1x3x3xf32>) -> tensor<1x1x2x2xf32> {\n"
         "  %y = nn." + op + " %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, "
         "padding = array<i64: 0, 0, 0, 0>, ceil_mode = true" + attrs +
         "} : (tensor<1x1x3x3xf32>) -> tensor<1x1x2x2xf32>\n  return %y : tensor<1x1x2x2xf32>\n}\n";
}

TEST(MaxPool2D, CeilModeKeepsThePartialWindow) {
  // 3x3, k2 s2: floor gives 1x1, ceil 2x2; the last windows hold only row/column 2.
  test::expectTensor(test::runOne(ceilModel("max_pool2d", ""), {}, {tensor({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9})}),
                     {1, 1, 2, 2}, {5, 6, 8, 9});
}

TEST(AvgPool2D, CeilModeCountIncludePadCountsOnlyInputAndPadding) {
  // As PyTorch: a window clipped by the ceil extension divides by its cells inside input + padding.
  HostTensor x = tensor({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  test::expectTensor(test::runOne(ceilModel("avg_pool2d", ", count_include_pad = true"), {}, {x}), {1, 1, 2, 2},
                     {3, 4.5f, 7.5f, 9});
}

TEST(GlobalMaxPool, MaxPerChannel) {
  const char *model = R"mlir(
func.func @forward(%x: tensor<1x2x1x3xf32>) -> tensor<1x2x1x1xf32> {
  %y = nn.global_max_pool %x : (tensor<1x2x1x3xf32>) -> tensor<1x2x1x1xf32>
  return %y : tensor<1x2x1x1xf32>
}
)mlir";
  test::expectTensor(test::runOne(model, {}, {tensor({1, 2, 1, 3}, {1, 7, 3, -4, -5, -9})}), {1, 2, 1, 1}, {7, -4});
}

} // namespace
