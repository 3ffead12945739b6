// ONNX importer: BatchNormalization (inference) and LRN onto their nn ops; LayerNormalization,
// InstanceNormalization (and so the GroupNorm export) and LpNormalization as compositions of
// nn.reduce and elementwise ops (Builders.cpp normalize()).
#include "frontends/onnx/Importer.h"

#include <cmath>

namespace kiln::onnxfe {

FailureOr<Value> Importer::importBatchNorm(int i) {
  FailureOr<Value> x = operand(i, 0, "input");
  if (failed(x) || failed(requireUnusedOutputs(i, 1)))
    return failure();
  auto epsilon = floatAttr(i, "epsilon", 1e-5f);
  auto training = intAttr(i, "training_mode", 0);
  auto spatial = intAttr(i, "spatial", 1);
  if (failed(epsilon) || failed(training) || failed(spatial))
    return failure();
  if (*training || !*spatial)
    return fail(i, std::string(*training ? "training_mode=1" : "spatial=0") + " is not supported");
  if (!(*epsilon >= 0.0f) || !std::isfinite(*epsilon))
    return fail(i, "epsilon=" + std::to_string(*epsilon) + " must be a non-negative number");
  static const StringRef kRoles[] = {"scale", "bias (B)", "mean", "variance"};
  SmallVector<Value, 4> stats;
  SmallVector<ArrayRef<int64_t>, 4> statShapes;
  for (int k = 0; k < 4; ++k) {
    FailureOr<Value> stat = operand(i, k + 1, kRoles[k]);
    if (failed(stat))
      return failure();
    stats.push_back(*stat);
    statShapes.push_back(shapeOf(*stat));
  }
  if (shapeOf(*x).size() < 2)
    return shapeError(i, {*x}, "expected an input of rank >= 2 with channels on dimension 1");
  std::string why;
  auto shape = nn::inferBatchNormShape(shapeOf(*x), statShapes, why);
  if (failed(shape))
    return shapeError(i, {*x}, why);
  return nn::BatchNormOp::create(builder, nodeLoc(i), tensorType(*shape), *x, stats[0], stats[1], stats[2], stats[3],
                                 llvm::APFloat(*epsilon))
      .getResult();
}

FailureOr<Value> Importer::importLRN(int i) {
  FailureOr<Value> x = operand(i, 0, "input");
  if (failed(x) || failed(requireRank(i, *x, 4, "LRN on a 4-D input [N, C, H, W]")))
    return failure();
  auto size = intAttr(i, "size", 0);
  auto alpha = floatAttr(i, "alpha", 1e-4f), beta = floatAttr(i, "beta", 0.75f), bias = floatAttr(i, "bias", 1.0f);
  if (failed(size) || failed(alpha) || failed(beta) || failed(bias))
    return failure();
  std::string why;
  auto shape = nn::inferLRNShape(shapeOf(*x), *size, why);
  if (failed(shape))
    return shapeError(i, {*x}, why);
  return nn::LRNOp::create(builder, nodeLoc(i), tensorType(*shape), *x, uint64_t(*size), llvm::APFloat(*alpha),
                           llvm::APFloat(*beta), llvm::APFloat(*bias))
      .getResult();
}

/// LayerNormalization (opset 17): normalised over dims axis..rank-1; scale and bias cover those
/// dims (numpy broadcasting); the Mean and InvStdDev outputs, when used, keep the reduced dims as 1.
FailureOr<Value> Importer::importLayerNorm(int i) {
  FailureOr<Value> x = operand(i, 0, "input");
  if (failed(x))
    return failure();
  int64_t rank = shapeOf(*x).size();
  auto axis = axisAttr(i, "axis", -1, rank);
  auto epsilon = floatAttr(i, "epsilon", 1e-5f);
  FailureOr<Value> scale = failed(axis) || failed(epsilon) ? FailureOr<Value>(failure()) : operand(i, 1, "scale");
  FailureOr<Value> bias = hasInput(i, 2) && succeeded(scale) ? operand(i, 2, "bias") : FailureOr<Value>(Value());
  if (failed(scale) || failed(bias))
    return failure();
  SmallVector<int64_t> axes;
  for (int64_t d = *axis; d < rank; ++d)
    axes.push_back(d);
  std::pair<Value, Value> statistics;
  FailureOr<Value> y = normalize(i, *x, axes, *epsilon, *scale, *bias, &statistics);
  for (int k = 1; k <= 2 && succeeded(y) && k < node(i).output_size(); ++k)
    if (!node(i).output(k).empty())
      values[node(i).output(k)] = k == 1 ? statistics.first : statistics.second;
  return y;
}

/// InstanceNormalization: per sample and channel over the spatial dims; scale and bias [C].
FailureOr<Value> Importer::importInstanceNorm(int i) {
  FailureOr<Value> x = operand(i, 0, "input");
  auto epsilon = floatAttr(i, "epsilon", 1e-5f);
  if (failed(x) || failed(epsilon))
    return failure();
  int64_t rank = shapeOf(*x).size();
  if (rank < 3)
    return shapeError(i, {*x}, "expected an input [N, C, D1, ...] of rank >= 3");
  SmallVector<int64_t> perChannel(rank - 1, 1), axes;
  perChannel[0] = shapeOf(*x)[1];
  for (int64_t d = 2; d < rank; ++d)
    axes.push_back(d);
  SmallVector<Value, 2> affine;
  for (int k = 1; k <= 2; ++k) {
    FailureOr<Value> v = operand(i, k, k == 1 ? "scale" : "bias");
    if (succeeded(v) && shapeOf(*v) != ArrayRef<int64_t>(perChannel[0]))
      return shapeError(i, {*x, *v}, "expected scale and bias of one value per channel");
    FailureOr<Value> shaped = failed(v) ? v : reshapeTo(i, *v, perChannel);
    if (failed(shaped))
      return failure();
    affine.push_back(*shaped);
  }
  return normalize(i, *x, axes, *epsilon, affine[0], affine[1]);
}

/// LpNormalization: x / (L1 or L2 norm along `axis`), ONNX's p = 1 or 2, no epsilon.
FailureOr<Value> Importer::importLpNorm(int i) {
  FailureOr<Value> x = operand(i, 0, "input");
  if (failed(x))
    return failure();
  auto axis = axisAttr(i, "axis", -1, shapeOf(*x).size());
  auto p = intAttr(i, "p", 2);
  if (failed(axis) || failed(p))
    return failure();
  if (*p != 1 && *p != 2)
    return fail(i, "p=" + std::to_string(*p) + " must be 1 or 2");
  FailureOr<Value> norm = reduceBy(i, *x, *p == 1 ? "l1" : "l2", {*axis});
  if (failed(norm))
    return failure();
  return binary(i, "Div", *x, *norm);
}

} // namespace kiln::onnxfe
