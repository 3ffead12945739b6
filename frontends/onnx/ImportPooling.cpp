// ONNX importer: MaxPool and AveragePool (2-D, and 1-D through an H = 1 image) onto nn pools;
// GlobalAveragePool and GlobalMaxPool onto nn global pools (4-D) or nn.reduce (other ranks).
#include "frontends/onnx/Importer.h"

namespace kiln::onnxfe {

FailureOr<Value> Importer::importPool(int i) {
  bool isMax = opType(i) == "MaxPool";
  FailureOr<Value> x = operand(i, 0, "input");
  if (failed(x) || failed(requireUnusedOutputs(i, 1)))
    return failure();
  bool oneD = shapeOf(*x).size() == 3;
  FailureOr<Value> image = toImage(i, *x, "pooling");
  if (failed(image))
    return failure();
  auto window = windowAttrs(i, shapeOf(*image), std::nullopt, oneD);
  auto ceilMode = intAttr(i, "ceil_mode", 0);
  auto countPad = intAttr(i, "count_include_pad", 0);
  if (failed(window) || failed(ceilMode) || failed(countPad))
    return failure();
  if (window->dilations != Pair{1, 1})
    return fail(i, "dilated pooling (dilations " + std::to_string(window->dilations[0]) + "x" +
                       std::to_string(window->dilations[1]) + ") is not supported: Kiln's pools have dense windows");
  // ceil_mode only matters with explicit pads: auto_pad SAME already gives ceil(in / stride).
  bool ceil = *ceilMode && window->explicitPads;
  std::string why;
  auto shape = nn::inferPool2DShape(shapeOf(*image), window->kernel, window->strides, window->pads, why, ceil);
  if (failed(shape))
    return shapeError(i, {*x}, why);
  Location loc = nodeLoc(i);
  Value y = isMax ? nn::MaxPool2DOp::create(builder, loc, tensorType(*shape), *image, ArrayRef<int64_t>(window->kernel),
                                            ArrayRef<int64_t>(window->strides), ArrayRef<int64_t>(window->pads), ceil)
                        .getResult()
                  : nn::AvgPool2DOp::create(builder, loc, tensorType(*shape), *image, ArrayRef<int64_t>(window->kernel),
                                            ArrayRef<int64_t>(window->strides), ArrayRef<int64_t>(window->pads),
                                            *countPad != 0, ceil)
                        .getResult();
  return fromImage(i, y, oneD);
}

FailureOr<Value> Importer::importGlobalPool(int i) {
  bool isMax = opType(i) == "GlobalMaxPool";
  FailureOr<Value> x = operand(i, 0, "input");
  if (failed(x))
    return failure();
  ArrayRef<int64_t> in = shapeOf(*x);
  if (in.size() != 4) {
    if (in.size() < 3)
      return shapeError(i, {*x}, "expected an input [N, C, D1, ...] of rank >= 3");
    SmallVector<int64_t> spatial;
    for (int64_t d = 2; d < int64_t(in.size()); ++d)
      spatial.push_back(d);
    return reduceBy(i, *x, isMax ? "max" : "mean", spatial);
  }
  std::string why;
  auto shape = nn::inferGlobalPoolShape(in, why);
  if (failed(shape))
    return shapeError(i, {*x}, why);
  if (isMax)
    return nn::GlobalMaxPoolOp::create(builder, nodeLoc(i), tensorType(*shape), *x).getResult();
  return nn::GlobalAvgPoolOp::create(builder, nodeLoc(i), tensorType(*shape), *x).getResult();
}

} // namespace kiln::onnxfe
