// Tests reference flatten (keeps C order), concat (along outer, middle and inner axes), reshape,
// pad and resize (nearest, bilinear with and without align_corners).
#include "run_model.h"

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

} // namespace
