// ONNX importer: MaxPool and AveragePool (2-D, and 1-D through an H = 1 image) onto nn pools
// (3-D and dilated windows: ImportVolumes.cpp); GlobalAveragePool and GlobalMaxPool onto nn
// global pools (4-D) or nn.reduce (other ranks).
#include "frontends/onnx/Importer.h"

namespace kiln::onnxfe {

FailureOr<Value> Importer::importPool(int i) {
  bool isMax = opType(i) == "MaxPool";
  FailureOr<Value> x = operand(i, 0, "input");
  if (failed(x) || failed(requireUnusedOutputs(i, 1)))
    return failure();
  FailureOr<size_t> dims = spatialDims(i, *x, "pooling");
  auto window =
      failed(dims) ? FailureOr<Window>(failure()) : windowAttrs(i, shapeOf(*x).take_back(*dims), std::nullopt);
  auto ceilMode = intAttr(i, "ceil_mode", 0);
  auto countPad = intAttr(i, "count_include_pad", 0);
  if (failed(window) || failed(ceilMode) || failed(countPad))
    return failure();
  // ceil_mode only matters with explicit pads: auto_pad SAME already gives ceil(in / stride).
  PoolKind kind{isMax, *ceilMode && window->explicitPads, *countPad != 0};
  if (*dims == 3 || llvm::any_of(window->dilations, [](int64_t d) { return d != 1; }))
    return poolVolume(i, *x, *window, kind);
  FailureOr<Value> image = toImage(i, *x);
  FailureOr<Value> y = failed(image) ? image : pool2D(i, *image, planeOf(*window), kind);
  return failed(y) ? y : fromImage(i, *y, *dims == 1);
}

FailureOr<Value> Importer::pool2D(int i, Value image, const PlaneWindow &window, PoolKind kind) {
  std::string why;
  auto shape = nn::inferPool2DShape(shapeOf(image), window.kernel, window.strides, window.pads, why, kind.ceil);
  if (failed(shape))
    return shapeError(i, {image}, why);
  Location loc = nodeLoc(i);
  if (kind.max)
    return nn::MaxPool2DOp::create(builder, loc, tensorType(*shape), image, ArrayRef<int64_t>(window.kernel),
                                   ArrayRef<int64_t>(window.strides), ArrayRef<int64_t>(window.pads), kind.ceil)
        .getResult();
  return nn::AvgPool2DOp::create(builder, loc, tensorType(*shape), image, ArrayRef<int64_t>(window.kernel),
                                 ArrayRef<int64_t>(window.strides), ArrayRef<int64_t>(window.pads),
                                 kind.countIncludePad, kind.ceil)
      .getResult();
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
