// ONNX importer: activations, binary and variadic elementwise ops, Clip, BatchNormalization
// (inference), Softmax and LogSoftmax.
#include "frontends/onnx/Importer.h"

#include <cmath>
#include <limits>

namespace kiln::onnxfe {

FailureOr<Value> Importer::importBatchNorm(int i) {
  FailureOr<Value> x = runtimeInput(i, 0, "input");
  if (failed(x) || failed(requireUnusedOutputs(i, 1)))
    return failure();
  NodeAttrs attrs(node(i));
  std::string error;
  auto epsilon = attr(i, attrs.getFloat("epsilon", 1e-5f, error), error);
  auto training = attr(i, attrs.getInt("training_mode", 0, error), error);
  auto spatial = attr(i, attrs.getInt("spatial", 1, error), error);
  if (failed(epsilon) || failed(training) || failed(spatial))
    return failure();
  if (*training || !*spatial) {
    nodeError(i) << (*training ? "training_mode=1" : "spatial=0") << " is not supported";
    return failure();
  }
  if (!(*epsilon >= 0.0f) || !std::isfinite(*epsilon)) {
    nodeError(i) << "epsilon=" << *epsilon << " must be a non-negative number";
    return failure();
  }
  static const StringRef kRoles[] = {"scale", "bias (B)", "mean", "variance"};
  SmallVector<std::pair<std::string, kiln::HostTensor>, 4> stats;
  for (int k = 0; k < 4; ++k) {
    auto stat = constantInput(i, k + 1, kRoles[k]);
    if (failed(stat))
      return failure();
    stats.push_back(std::move(*stat));
  }
  if (shapeOf(*x).size() < 2)
    return shapeError(i, {*x}, "expected an input of rank >= 2 with channels on dimension 1");
  SmallVector<ArrayRef<int64_t>, 4> statShapes;
  for (auto &s : stats)
    statShapes.push_back(s.second.shape);
  std::string why;
  auto shape = nn::inferBatchNormShape(shapeOf(*x), statShapes, why);
  if (failed(shape))
    return shapeError(i, {*x}, why);
  Location loc = nodeLoc(i);
  SmallVector<Value, 4> p;
  for (auto &s : stats)
    p.push_back(param(s.first, std::move(s.second), loc));
  return nn::BatchNormOp::create(builder, loc, tensorType(*shape), *x, p[0], p[1], p[2], p[3],
                                 llvm::APFloat(*epsilon))
      .getResult();
}

FailureOr<Value> Importer::importSoftmax(int i) {
  FailureOr<Value> x = runtimeInput(i, 0, "input");
  if (failed(x))
    return failure();
  ArrayRef<int64_t> in = shapeOf(*x);
  auto axis = axisAttr(i, "axis", opset < 13 ? 1 : -1, in.size());
  if (failed(axis))
    return failure();
  if (opset < 13) {
    // Before opset 13 Softmax normalises over dims axis..rank-1 taken together; that is one
    // per-axis softmax when at most one of those dims is larger than 1.
    SmallVector<int64_t> wide;
    for (int64_t d = *axis; d < static_cast<int64_t>(in.size()); ++d)
      if (in[d] > 1)
        wide.push_back(d);
    if (wide.size() > 1) {
      InFlightDiagnostic diag = nodeError(i);
      diag << "in opset " << opset << " " << node(i).op_type() << " normalises over dimensions " << *axis
           << " to " << in.size() - 1 << " of " << nn::formatShape(in)
           << " together; Kiln's softmax works along one axis";
      diag.attachNote() << "export with opset 13 or later (softmax along one axis), or flatten the input first";
      return failure();
    }
    if (!wide.empty())
      *axis = wide.front();
  }
  if (node(i).op_type() == "LogSoftmax")
    return nn::LogSoftmaxOp::create(builder, nodeLoc(i), x->getType(), *x, uint64_t(*axis)).getResult();
  return nn::SoftmaxOp::create(builder, nodeLoc(i), x->getType(), *x, uint64_t(*axis)).getResult();
}

/// Clip: min and max are attributes before opset 11, optional constant inputs after.
FailureOr<Value> Importer::importClip(int i) {
  FailureOr<Value> x = runtimeInput(i, 0, "input");
  if (failed(x))
    return failure();
  float lo = -std::numeric_limits<float>::infinity(), hi = std::numeric_limits<float>::infinity();
  if (opset < 11) {
    NodeAttrs attrs(node(i));
    std::string error;
    auto a = attr(i, attrs.getFloat("min", lo, error), error);
    auto b = attr(i, attrs.getFloat("max", hi, error), error);
    if (failed(a) || failed(b))
      return failure();
    lo = *a;
    hi = *b;
  } else {
    for (int k = 1; k <= 2; ++k) {
      auto bound = constantFloats(i, k, k == 1 ? "min" : "max");
      if (failed(bound))
        return failure();
      if (*bound && (*bound)->size() != 1) {
        nodeError(i) << "its " << (k == 1 ? "min" : "max") << " must be one value";
        return failure();
      }
      if (*bound)
        (k == 1 ? lo : hi) = (**bound)[0];
    }
  }
  if (!(lo <= hi)) {
    nodeError(i) << "min " << lo << " is larger than max " << hi;
    return failure();
  }
  return nn::ClipOp::create(builder, nodeLoc(i), x->getType(), *x, llvm::APFloat(lo), llvm::APFloat(hi))
      .getResult();
}

/// Add, Sub, Mul, Div (two operands) and Max, Min, Sum, Mean (one or more), with numpy
/// broadcasting; a constant operand becomes an nn.param.
FailureOr<Value> Importer::importElementwise(int i) {
  StringRef type = node(i).op_type();
  bool variadic = type == "Max" || type == "Min" || type == "Sum" || type == "Mean";
  int count = node(i).input_size();
  if (variadic ? count < 1 : count != 2) {
    nodeError(i) << "expected " << (variadic ? "one or more" : "two") << " operands, got " << count;
    return failure();
  }
  SmallVector<Value> operands;
  bool anyComputed = false;
  for (int k = 0; k < count; ++k) {
    anyComputed |= values.count(node(i).input(k)) > 0;
    FailureOr<Value> v = valueOrParam(i, k, "operand " + std::to_string(k));
    if (failed(v))
      return failure();
    operands.push_back(*v);
  }
  if (!anyComputed) {
    InFlightDiagnostic diag = nodeError(i);
    diag << "every operand is a constant";
    diag.attachNote() << "fold constant computations before exporting (torch.onnx.export(..., "
                         "do_constant_folding=True))";
    return failure();
  }
  Location loc = nodeLoc(i);
  if (count == 1)
    return operands.front();
  SmallVector<ArrayRef<int64_t>> shapes;
  for (Value v : operands)
    shapes.push_back(shapeOf(v));
  std::string why;
  if ((type == "Sum" || type == "Mean") && count > 2) {
    auto same = nn::inferAllSameShape(shapes, why);
    if (succeeded(same)) {
      if (type == "Sum")
        return nn::SumOp::create(builder, loc, tensorType(*same), operands).getResult();
      return nn::MeanOp::create(builder, loc, tensorType(*same), operands).getResult();
    }
  }
  Value acc = operands.front();
  for (Value next : ArrayRef<Value>(operands).drop_front()) {
    auto shape = nn::inferBroadcastShape(shapeOf(acc), shapeOf(next), why);
    if (failed(shape))
      return shapeError(i, operands, why);
    Type t = tensorType(*shape);
    if (type == "Add" || type == "Sum" || type == "Mean")
      acc = nn::AddOp::create(builder, loc, t, acc, next);
    else if (type == "Sub")
      acc = nn::SubOp::create(builder, loc, t, acc, next);
    else if (type == "Mul")
      acc = nn::MulOp::create(builder, loc, t, acc, next);
    else if (type == "Div")
      acc = nn::DivOp::create(builder, loc, t, acc, next);
    else if (type == "Max")
      acc = nn::MaxOp::create(builder, loc, t, acc, next);
    else
      acc = nn::MinOp::create(builder, loc, t, acc, next);
  }
  if (type == "Mean") {
    kiln::HostTensor inverse({1});
    inverse.data[0] = 1.0f / static_cast<float>(count);
    Value scale = param(nodeName(i) + ".inverse_count", std::move(inverse), loc);
    acc = nn::MulOp::create(builder, loc, acc.getType(), acc, scale);
  }
  return acc;
}

/// The one-input ops without weights: Relu, Sigmoid, Tanh, LeakyRelu, HardSigmoid, HardSwish,
/// LRN and GlobalMaxPool.
FailureOr<Value> Importer::importActivation(int i) {
  StringRef type = node(i).op_type();
  FailureOr<Value> x = runtimeInput(i, 0, "input");
  if (failed(x))
    return failure();
  Location loc = nodeLoc(i);
  Type t = x->getType();
  NodeAttrs attrs(node(i));
  std::string error;
  if (type == "Relu")
    return nn::ReluOp::create(builder, loc, t, *x).getResult();
  if (type == "Sigmoid")
    return nn::SigmoidOp::create(builder, loc, t, *x).getResult();
  if (type == "Tanh")
    return nn::TanhOp::create(builder, loc, t, *x).getResult();
  if (type == "HardSwish")
    return nn::HardSwishOp::create(builder, loc, t, *x).getResult();
  if (type == "LeakyRelu") {
    auto alpha = attr(i, attrs.getFloat("alpha", 0.01f, error), error);
    if (failed(alpha))
      return failure();
    return nn::LeakyReluOp::create(builder, loc, t, *x, llvm::APFloat(*alpha)).getResult();
  }
  if (type == "HardSigmoid") {
    auto alpha = attr(i, attrs.getFloat("alpha", 0.2f, error), error);
    auto beta = attr(i, attrs.getFloat("beta", 0.5f, error), error);
    if (failed(alpha) || failed(beta))
      return failure();
    return nn::HardSigmoidOp::create(builder, loc, t, *x, llvm::APFloat(*alpha), llvm::APFloat(*beta)).getResult();
  }
  if (failed(requireRank(i, *x, 4, (type + " on a 4-D input [N, C, H, W]").str())))
    return failure();
  std::string why;
  if (type == "GlobalMaxPool" || type == "GlobalAveragePool") {
    auto shape = nn::inferGlobalPoolShape(shapeOf(*x), why);
    if (failed(shape))
      return shapeError(i, {*x}, why);
    if (type == "GlobalMaxPool")
      return nn::GlobalMaxPoolOp::create(builder, loc, tensorType(*shape), *x).getResult();
    return nn::GlobalAvgPoolOp::create(builder, loc, tensorType(*shape), *x).getResult();
  }
  assert(type == "LRN" && "op missing from importActivation");
  auto size = attr(i, attrs.getInt("size", 0, error), error);
  auto alpha = attr(i, attrs.getFloat("alpha", 1e-4f, error), error);
  auto beta = attr(i, attrs.getFloat("beta", 0.75f, error), error);
  auto bias = attr(i, attrs.getFloat("bias", 1.0f, error), error);
  if (failed(size) || failed(alpha) || failed(beta) || failed(bias))
    return failure();
  auto shape = nn::inferLRNShape(shapeOf(*x), *size, why);
  if (failed(shape))
    return shapeError(i, {*x}, why);
  return nn::LRNOp::create(builder, loc, tensorType(*shape), *x, uint64_t(*size), llvm::APFloat(*alpha),
                           llvm::APFloat(*beta), llvm::APFloat(*bias))
      .getResult();
}

} // namespace kiln::onnxfe
