// ONNX importer: MaxPool, AveragePool, GlobalAveragePool and GlobalMaxPool to nn pools.
#include "frontends/onnx/Importer.h"

namespace kiln::onnxfe {

FailureOr<Value> Importer::importPool(int i) {
  bool isMax = node(i).op_type() == "MaxPool";
  FailureOr<Value> x = runtimeInput(i, 0, "input");
  if (failed(x) || failed(requireRank(i, *x, 4, "2-D pooling of a 4-D input [N, C, H, W]")) ||
      failed(requireUnusedOutputs(i, 1)))
    return failure();
  NodeAttrs attrs(node(i));
  std::string error;
  auto window = windowAttrs(i, shapeOf(*x), std::nullopt);
  auto ceilMode = attr(i, attrs.getInt("ceil_mode", 0, error), error);
  auto countPad = attr(i, attrs.getInt("count_include_pad", 0, error), error);
  if (failed(window) || failed(ceilMode) || failed(countPad))
    return failure();
  if (window->dilations != Pair{1, 1}) {
    nodeError(i) << "dilations " << window->dilations[0] << "x" << window->dilations[1]
                 << " are not supported for pooling; Kiln pools over dense windows";
    return failure();
  }
  // ceil_mode only matters with explicit pads: auto_pad SAME already gives ceil(in / stride).
  bool ceil = *ceilMode && window->explicitPads;
  std::string why;
  auto shape = nn::inferPool2DShape(shapeOf(*x), window->kernel, window->strides, window->pads, why, ceil);
  if (failed(shape))
    return shapeError(i, {*x}, why);
  Location loc = nodeLoc(i);
  if (isMax)
    return nn::MaxPool2DOp::create(builder, loc, tensorType(*shape), *x, ArrayRef<int64_t>(window->kernel),
                                   ArrayRef<int64_t>(window->strides), ArrayRef<int64_t>(window->pads), ceil)
        .getResult();
  return nn::AvgPool2DOp::create(builder, loc, tensorType(*shape), *x, ArrayRef<int64_t>(window->kernel),
                                 ArrayRef<int64_t>(window->strides), ArrayRef<int64_t>(window->pads),
                                 *countPad != 0, ceil)
      .getResult();
}

} // namespace kiln::onnxfe
