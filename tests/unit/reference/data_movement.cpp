// Tests reference flatten (keeps C order), concat (along outer, middle and inner axes), reshape,
// pad, resize (nearest, bilinear with and without align_corners), transpose, strided slice
// (negative steps, steps above 1) and its gradient slice_grad, and broadcast.
#include "run_model.h"

#include "compiler/reference/TrainingKernels.h"

using namespace kiln;
using kiln::test::tensor;

namespace {

TEST(Flatten, KeepsBatchAndOrder) {
  const char *model = R"mlir(
func.func @forward(%x: tensor<2x3x1x2xf32>) -> tensor<2x6xf32> {
  %y = nn.flatten %x : (tensor<2x3x1x2xf32>) -> tensor<2x6xf32>
  return %y : tensor<2x6xf32>
}
)mlir";
  HostTensor x = tensor({2, 3, 1, 2}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
  test::expectTensor(test::runOne(model, {}, {x}), {2, 6}, x.data);
}

TEST(Concat, AlongSpatialAxisInterleavesPerChannel) {
  const char *model = R"mlir(
func.func @forward(%a: tensor<1x2x1x2xf32>, %b: tensor<1x2x2x2xf32>) -> tensor<1x2x3x2xf32> {
  %y = nn.concat %a, %b {axis = 2 : i64} : (tensor<1x2x1x2xf32>, tensor<1x2x2x2xf32>) -> tensor<1x2x3x2xf32>
  return %y : tensor<1x2x3x2xf32>
}
)mlir";
  HostTensor a = tensor({1, 2, 1, 2}, {1, 2, 3, 4});
  HostTensor b = tensor({1, 2, 2, 2}, {5, 6, 7, 8, 9, 10, 11, 12});
  test::expectTensor(test::runOne(model, {}, {a, b}), {1, 2, 3, 2}, {1, 2, 5, 6, 7, 8, 3, 4, 9, 10, 11, 12});
}

TEST(Concat, ThreeInputsAlongChannelsAndLastAxis) {
  const char *model = R"mlir(
func.func @forward(%a: tensor<2x1xf32>, %b: tensor<2x2xf32>, %c: tensor<2x1xf32>) -> (tensor<2x4xf32>, tensor<6x1xf32>) {
  %y = nn.concat %a, %b, %c {axis = 1 : i64} : (tensor<2x1xf32>, tensor<2x2xf32>, tensor<2x1xf32>) -> tensor<2x4xf32>
  %z = nn.concat %a, %c, %a {axis = 0 : i64} : (tensor<2x1xf32>, tensor<2x1xf32>, tensor<2x1xf32>) -> tensor<6x1xf32>
  return %y, %z : tensor<2x4xf32>, tensor<6x1xf32>
}
)mlir";
  std::string error;
  auto out = test::run(model, {}, {tensor({2, 1}, {1, 2}), tensor({2, 2}, {3, 4, 5, 6}), tensor({2, 1}, {7, 8})},
                       error);
  ASSERT_TRUE(mlir::succeeded(out)) << error;
  test::expectTensor((*out)[0], {2, 4}, {1, 3, 4, 7, 2, 5, 6, 8});
  test::expectTensor((*out)[1], {6, 1}, {1, 2, 7, 8, 1, 2});
}


TEST(Reshape, KeepsCOrder) {
  const char *model = R"mlir(
func.func @forward(%x: tensor<2x3xf32>) -> tensor<3x1x2xf32> {
  %y = nn.reshape %x {shape = array<i64: 3, 1, 2>} : (tensor<2x3xf32>) -> tensor<3x1x2xf32>
  return %y : tensor<3x1x2xf32>
}
)mlir";
  HostTensor x = tensor({2, 3}, {1, 2, 3, 4, 5, 6});
  test::expectTensor(test::runOne(model, {}, {x}), {3, 1, 2}, x.data);
}

TEST(Pad, BeginAndEndPerDimension) {
  // [1, 1, 2, 2] padded by 1 row on top and 1 column on the right, value 9.
  const char *model = R"mlir(
func.func @forward(%x: tensor<1x1x2x2xf32>) -> tensor<1x1x3x3xf32> {
  %y = nn.pad %x {pads = array<i64: 0, 0, 1, 0, 0, 0, 0, 1>, value = 9.0 : f32} : (tensor<1x1x2x2xf32>) -> tensor<1x1x3x3xf32>
  return %y : tensor<1x1x3x3xf32>
}
)mlir";
  test::expectTensor(test::runOne(model, {}, {tensor({1, 1, 2, 2}, {1, 2, 3, 4})}), {1, 1, 3, 3},
                     {9, 9, 9, 1, 2, 9, 3, 4, 9});
}

std::string resizeModel(const std::string &attrs, const std::string &x, const std::string &y) {
  return "func.func @forward(%x: tensor<" + x + "xf32>) -> tensor<" + y + "xf32> {\n"
         "  %y = nn.resize %x {" + attrs + "} : (tensor<" + x + "xf32>) -> tensor<" + y + "xf32>\n"
         "  return %y : tensor<" + y + "xf32>\n}\n";
}

TEST(Resize, NearestRepeatsCells) {
  std::string model = resizeModel("mode = \"nearest\", size = array<i64: 2, 6>, coordinate_mode = \"asymmetric\"", "1x1x1x2", "1x1x2x6");
  test::expectTensor(test::runOne(model, {}, {tensor({1, 1, 1, 2}, {1, 2})}), {1, 1, 2, 6},
                     {1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2});
}

TEST(Resize, BilinearHalfPixelClampsAtTheEdges) {
  // in 2 -> out 4: source (d + 0.5) / 2 - 0.5 = -0.25 (clamped to 0), 0.25, 0.75, 1.25 (past the end).
  std::string model = resizeModel("mode = \"bilinear\", size = array<i64: 1, 4>", "1x1x1x2", "1x1x1x4");
  test::expectTensor(test::runOne(model, {}, {tensor({1, 1, 1, 2}, {0, 4})}), {1, 1, 1, 4}, {0, 1, 3, 4});
}

TEST(Resize, BilinearAlignCorners) {
  // source d * (2 - 1) / (4 - 1): 0, 1/3, 2/3, 1.
  std::string model =
      resizeModel("mode = \"bilinear\", size = array<i64: 1, 4>, coordinate_mode = \"align_corners\"", "1x1x1x2", "1x1x1x4");
  test::expectTensor(test::runOne(model, {}, {tensor({1, 1, 1, 2}, {0, 3})}), {1, 1, 1, 4}, {0, 1, 2, 3});
}

/// 0, 1, 2, ... in a tensor of `shape`.
HostTensor iota(std::vector<int64_t> shape) {
  HostTensor t(std::move(shape));
  for (int64_t i = 0; i < t.size(); ++i)
    t.data[i] = static_cast<float>(i);
  return t;
}

TEST(Transpose, RotatesThreeDimensions) {
  // y[i][j][k] = x[j][k][i] = 12j + 4k + i.
  HostTensor y = test::runOp("transpose", {iota({2, 3, 4})}, {4, 2, 3}, "perm = array<i64: 2, 0, 1>");
  test::expectTensor(y, {4, 2, 3},
                     {0, 4, 8, 12, 16, 20, 1, 5, 9, 13, 17, 21, 2, 6, 10, 14, 18, 22, 3, 7, 11, 15, 19, 23});
}

TEST(Transpose, NchwToNhwc) {
  // [1, 2, 2, 3] -> [1, 2, 3, 2]: y[0][h][w][c] = x[0][c][h][w] = 6c + 3h + w.
  HostTensor y = test::runOp("transpose", {iota({1, 2, 2, 3})}, {1, 2, 3, 2}, "perm = array<i64: 0, 2, 3, 1>");
  test::expectTensor(y, {1, 2, 3, 2}, {0, 6, 1, 7, 2, 8, 3, 9, 4, 10, 5, 11});
}

TEST(Slice, NegativeStepsWalkBackwards) {
  // x[r][c] = 5r + c of [4, 5]; rows 3, 1 and columns 4, 1.
  HostTensor y = test::runOp("slice", {iota({4, 5})}, {2, 2}, "starts = array<i64: 3, 4>, steps = array<i64: -2, -3>");
  test::expectTensor(y, {2, 2}, {19, 16, 9, 6});
}

TEST(Slice, StepsAboveOneAndAFlip) {
  HostTensor every2 =
      test::runOp("slice", {iota({4, 5})}, {2, 2}, "starts = array<i64: 0, 1>, steps = array<i64: 2, 2>");
  test::expectTensor(every2, {2, 2}, {1, 3, 11, 13});
  // The middle dimension of [1, 3, 2] reversed.
  HostTensor flipped =
      test::runOp("slice", {iota({1, 3, 2})}, {1, 3, 2}, "starts = array<i64: 0, 2, 0>, steps = array<i64: 1, -1, 1>");
  test::expectTensor(flipped, {1, 3, 2}, {4, 5, 2, 3, 0, 1});
}

TEST(SliceGrad, ScattersBackWithZerosElsewhere) {
  // The gradient of Slice.NegativeStepsWalkBackwards: dy lands at (3, 4), (3, 1), (1, 4), (1, 1).
  HostTensor dx = test::runOp("slice_grad", {tensor({2, 2}, {1, 2, 3, 4})}, {4, 5},
                              "starts = array<i64: 3, 4>, steps = array<i64: -2, -3>");
  test::expectTensor(dx, {4, 5}, {0, 0, 0, 0, 0, 0, 4, 0, 0, 3, 0, 0, 0, 0, 0, 0, 2, 0, 0, 1});
  // A step of 2 along the last axis of a rank-3 tensor.
  test::expectTensor(reference::sliceGrad(tensor({1, 2, 2}, {1, 2, 3, 4}), {0, 0, 1}, {1, 1, 2}, {1, 2, 5}), {1, 2, 5},
                     {0, 1, 0, 2, 0, 0, 3, 0, 4, 0});
}

TEST(Broadcast, RepeatsSizeOneAndMissingDimensions) {
  HostTensor column = test::runOp("broadcast", {tensor({3, 1}, {1, 2, 3})}, {2, 3, 2});
  test::expectTensor(column, {2, 3, 2}, {1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3});
  HostTensor row = test::runOp("broadcast", {tensor({1, 2}, {5, 6})}, {2, 3, 2});
  test::expectTensor(row, {2, 3, 2}, {5, 6, 5, 6, 5, 6, 5, 6, 5, 6, 5, 6});
  HostTensor scalar = test::runOp("broadcast", {tensor({1}, {7})}, {2, 2});
  test::expectTensor(scalar, {2, 2}, {7, 7, 7, 7});
}

} // namespace
