// Tests reference flatten (keeps C order) and concat (along outer, middle and inner axes).
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

} // namespace
