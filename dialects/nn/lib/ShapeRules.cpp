// Shape rules of the nn ops (see ShapeRules.h): the output-size formula and operand checks.
#include "kiln/Dialect/NN/ShapeRules.h"

#include "mlir/IR/BuiltinTypes.h"

using namespace mlir;

namespace kiln::nn {

std::string formatShape(ArrayRef<int64_t> shape) {
  std::string text;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i)
      text += "x";
    text += ShapedType::isDynamic(shape[i]) ? "?" : std::to_string(shape[i]);
  }
  return text.empty() ? "scalar" : text;
}

int64_t windowOutputSize(int64_t in, int64_t kernel, int64_t stride, int64_t padLo, int64_t padHi,
                         int64_t dilation) {
  int64_t span = in + padLo + padHi - dilation * (kernel - 1) - 1;
  if (span < 0)
    return 0;
  return span / stride + 1;
}

int64_t poolOutputSize(int64_t in, int64_t kernel, int64_t stride, int64_t padLo, int64_t padHi, bool ceilMode) {
  int64_t span = in + padLo + padHi - kernel;
  if (span < 0)
    return 0;
  if (!ceilMode)
    return span / stride + 1;
  int64_t out = (span + stride - 1) / stride + 1;
  if ((out - 1) * stride >= in + padLo)
    --out;
  return out;
}

std::pair<int64_t, int64_t> samePadding(int64_t in, int64_t kernel, int64_t stride, int64_t dilation) {
  int64_t out = (in + stride - 1) / stride;
  int64_t total = std::max<int64_t>(0, (out - 1) * stride + dilation * (kernel - 1) + 1 - in);
  return {total / 2, total - total / 2};
}

LogicalResult checkStaticShape(ArrayRef<int64_t> shape, std::string &why) {
  for (int64_t d : shape)
    if (ShapedType::isDynamic(d) || d <= 0) {
      why = "expected a static shape with positive dimensions, got " + formatShape(shape);
      return failure();
    }
  return success();
}

static LogicalResult checkAllStatic(ArrayRef<ArrayRef<int64_t>> shapes, std::string &why) {
  for (ArrayRef<int64_t> s : shapes)
    if (failed(checkStaticShape(s, why)))
      return failure();
  return success();
}

static LogicalResult checkPositivePair(StringRef what, ArrayRef<int64_t> v, std::string &why) {
  if (v.size() != 2 || v[0] < 1 || v[1] < 1) {
    why = ("expected " + what + " to be two positive integers [h, w]").str();
    return failure();
  }
  return success();
}

LogicalResult checkWindowAttrs(ArrayRef<int64_t> kernel, ArrayRef<int64_t> strides, ArrayRef<int64_t> padding,
                               ArrayRef<int64_t> dilations, std::string &why) {
  if (failed(checkPositivePair("kernel", kernel, why)) || failed(checkPositivePair("strides", strides, why)) ||
      failed(checkPositivePair("dilations", dilations, why)))
    return failure();
  if (padding.size() != 4 || llvm::any_of(padding, [](int64_t p) { return p < 0; })) {
    why = "expected padding to be four non-negative integers [top, left, bottom, right]";
    return failure();
  }
  return success();
}

/// Spatial output size of a window op, or failure when the window does not fit.
static FailureOr<Shape> windowOutput(ArrayRef<int64_t> input, int64_t channels, ArrayRef<int64_t> kernel,
                                     ArrayRef<int64_t> strides, ArrayRef<int64_t> padding,
                                     ArrayRef<int64_t> dilations, std::string &why) {
  Shape out = {input[0], channels, 0, 0};
  for (int i = 0; i < 2; ++i) {
    int64_t extent = dilations[i] * (kernel[i] - 1) + 1;
    int64_t padded = input[2 + i] + padding[i] + padding[i + 2];
    if (extent > padded) {
      why = "the " + std::to_string(kernel[0]) + "x" + std::to_string(kernel[1]) + " window (extent " +
            std::to_string(extent) + ") does not fit the padded input " + formatShape(input) +
            " along " + (i == 0 ? "H" : "W") + " (" + std::to_string(padded) + ")";
      return failure();
    }
    out[2 + i] = windowOutputSize(input[2 + i], kernel[i], strides[i], padding[i], padding[i + 2], dilations[i]);
  }
  return out;
}

FailureOr<Shape> inferConv2DShape(ArrayRef<int64_t> input, ArrayRef<int64_t> filter,
                                  std::optional<ArrayRef<int64_t>> bias, ArrayRef<int64_t> strides,
                                  ArrayRef<int64_t> padding, ArrayRef<int64_t> dilations, int64_t groups,
                                  std::string &why) {
  if (failed(checkAllStatic({input, filter}, why)))
    return failure();
  if (input.size() != 4 || filter.size() != 4) {
    why = "expected a 4-D input [N, C, H, W] and a 4-D filter [F, C/groups, KH, KW], got " +
          formatShape(input) + " and " + formatShape(filter);
    return failure();
  }
  ArrayRef<int64_t> kernel = filter.drop_front(2);
  if (failed(checkWindowAttrs(kernel, strides, padding, dilations, why)))
    return failure();
  if (groups < 1 || input[1] % groups || filter[0] % groups) {
    why = "expected groups (" + std::to_string(groups) + ") to divide input channels (" +
          std::to_string(input[1]) + ") and filters (" + std::to_string(filter[0]) + ")";
    return failure();
  }
  if (filter[1] * groups != input[1]) {
    why = "expected input channels (" + std::to_string(input[1]) + ") to equal filter channels (" +
          std::to_string(filter[1]) + ") x groups (" + std::to_string(groups) + ")";
    return failure();
  }
  if (bias && (bias->size() != 1 || (*bias)[0] != filter[0])) {
    why = "expected a bias of shape " + std::to_string(filter[0]) + " (one per filter), got " + formatShape(*bias);
    return failure();
  }
  return windowOutput(input, filter[0], kernel, strides, padding, dilations, why);
}

FailureOr<Shape> inferPool2DShape(ArrayRef<int64_t> input, ArrayRef<int64_t> kernel, ArrayRef<int64_t> strides,
                                  ArrayRef<int64_t> padding, std::string &why, bool ceilMode) {
  if (failed(checkStaticShape(input, why)))
    return failure();
  if (input.size() != 4) {
    why = "expected a 4-D input [N, C, H, W], got " + formatShape(input);
    return failure();
  }
  int64_t ones[2] = {1, 1};
  if (failed(checkWindowAttrs(kernel, strides, padding, ones, why)))
    return failure();
  if (padding[0] >= kernel[0] || padding[2] >= kernel[0] || padding[1] >= kernel[1] || padding[3] >= kernel[1]) {
    why = "expected each padding to be smaller than the kernel on its axis (a window of only padding has no value)";
    return failure();
  }
  auto out = windowOutput(input, input[1], kernel, strides, padding, ones, why);
  if (succeeded(out) && ceilMode)
    for (int i = 0; i < 2; ++i)
      (*out)[2 + i] = poolOutputSize(input[2 + i], kernel[i], strides[i], padding[i], padding[i + 2], true);
  return out;
}

FailureOr<Shape> inferConvTranspose2DShape(ArrayRef<int64_t> input, ArrayRef<int64_t> filter,
                                           std::optional<ArrayRef<int64_t>> bias, ArrayRef<int64_t> strides,
                                           ArrayRef<int64_t> padding, ArrayRef<int64_t> outputPadding,
                                           ArrayRef<int64_t> dilations, int64_t groups, std::string &why) {
  if (failed(checkAllStatic({input, filter}, why)))
    return failure();
  if (input.size() != 4 || filter.size() != 4) {
    why = "expected a 4-D input [N, C, H, W] and a 4-D filter [C, F/groups, KH, KW], got " + formatShape(input) +
          " and " + formatShape(filter);
    return failure();
  }
  ArrayRef<int64_t> kernel = filter.drop_front(2);
  if (failed(checkWindowAttrs(kernel, strides, padding, dilations, why)))
    return failure();
  if (outputPadding.size() != 2 || outputPadding[0] < 0 || outputPadding[1] < 0 ||
      outputPadding[0] >= std::max(strides[0], dilations[0]) || outputPadding[1] >= std::max(strides[1], dilations[1])) {
    why = "expected output_padding to be two non-negative integers [h, w], each smaller than the stride or the "
          "dilation on its axis";
    return failure();
  }
  if (groups < 1 || input[1] % groups) {
    why = "expected groups (" + std::to_string(groups) + ") to divide input channels (" + std::to_string(input[1]) + ")";
    return failure();
  }
  if (filter[0] != input[1]) {
    why = "expected the filter's dimension 0 (" + std::to_string(filter[0]) + ") to equal input channels (" +
          std::to_string(input[1]) + ") (layout [C, F/groups, KH, KW])";
    return failure();
  }
  const int64_t F = filter[1] * groups;
  if (bias && (bias->size() != 1 || (*bias)[0] != F)) {
    why = "expected a bias of shape " + std::to_string(F) + " (filter dim 1 x groups), got " + formatShape(*bias);
    return failure();
  }
  Shape out = {input[0], F, 0, 0};
  for (int i = 0; i < 2; ++i) {
    out[2 + i] = (input[2 + i] - 1) * strides[i] - padding[i] - padding[i + 2] + dilations[i] * (kernel[i] - 1) +
                 outputPadding[i] + 1;
    if (out[2 + i] < 1) {
      why = std::string("the padding removes the whole output along ") + (i == 0 ? "H" : "W") + " (" +
            std::to_string(out[2 + i]) + " cells left)";
      return failure();
    }
  }
  return out;
}

FailureOr<Shape> inferResizeShape(ArrayRef<int64_t> input, StringRef mode, ArrayRef<int64_t> size,
                                  std::string &why) {
  if (failed(checkStaticShape(input, why)))
    return failure();
  if (input.size() != 4) {
    why = "expected a 4-D input [N, C, H, W], got " + formatShape(input);
    return failure();
  }
  if (mode != "nearest" && mode != "bilinear" && mode != "bicubic") {
    why = ("expected mode nearest, bilinear or bicubic, got '" + mode + "'").str();
    return failure();
  }
  if (failed(checkPositivePair("size", size, why)))
    return failure();
  return Shape{input[0], input[1], size[0], size[1]};
}

FailureOr<Shape> inferLRNShape(ArrayRef<int64_t> input, int64_t size, std::string &why) {
  if (failed(checkStaticShape(input, why)))
    return failure();
  if (input.size() != 4) {
    why = "expected a 4-D input [N, C, H, W], got " + formatShape(input);
    return failure();
  }
  if (size < 1) {
    why = "expected a positive size (channels in the window), got " + std::to_string(size);
    return failure();
  }
  return Shape(input.begin(), input.end());
}

FailureOr<Shape> inferPadShape(ArrayRef<int64_t> input, ArrayRef<int64_t> pads, std::string &why) {
  if (failed(checkStaticShape(input, why)))
    return failure();
  const size_t rank = input.size();
  if (pads.size() != 2 * rank || llvm::any_of(pads, [](int64_t p) { return p < 0; })) {
    why = "expected pads to be " + std::to_string(2 * rank) + " non-negative integers [begin..., end...] for input " +
          formatShape(input) + ", got " + std::to_string(pads.size());
    return failure();
  }
  Shape out(input.begin(), input.end());
  for (size_t d = 0; d < rank; ++d)
    out[d] += pads[d] + pads[d + rank];
  return out;
}

FailureOr<Shape> inferReshapeShape(ArrayRef<int64_t> input, ArrayRef<int64_t> shape, std::string &why) {
  if (failed(checkStaticShape(input, why)))
    return failure();
  if (shape.empty() || llvm::any_of(shape, [](int64_t d) { return d < 1; })) {
    why = "expected a target shape of positive dimensions, got [" + formatShape(shape) + "]";
    return failure();
  }
  auto count = [](ArrayRef<int64_t> s) {
    int64_t n = 1;
    for (int64_t d : s)
      n *= d;
    return n;
  };
  if (count(input) != count(shape)) {
    why = "expected the target shape " + formatShape(shape) + " (" + std::to_string(count(shape)) +
          " elements) to hold the input's " + std::to_string(count(input)) + " elements (" + formatShape(input) + ")";
    return failure();
  }
  return Shape(shape.begin(), shape.end());
}

FailureOr<Shape> inferBroadcastShape(ArrayRef<int64_t> lhs, ArrayRef<int64_t> rhs, std::string &why) {
  if (failed(checkAllStatic({lhs, rhs}, why)))
    return failure();
  const size_t rank = std::max(lhs.size(), rhs.size());
  Shape out(rank, 1);
  for (size_t i = 0; i < rank; ++i) {
    int64_t a = i < lhs.size() ? lhs[lhs.size() - 1 - i] : 1;
    int64_t b = i < rhs.size() ? rhs[rhs.size() - 1 - i] : 1;
    if (a != b && a != 1 && b != 1) {
      why = "expected shapes that broadcast (each dimension equal or 1, aligned at the last), got " +
            formatShape(lhs) + " and " + formatShape(rhs);
      return failure();
    }
    out[rank - 1 - i] = a == 1 ? b : a;
  }
  return out;
}

FailureOr<Shape> inferAllSameShape(ArrayRef<ArrayRef<int64_t>> inputs, std::string &why) {
  if (inputs.empty()) {
    why = "expected at least one input";
    return failure();
  }
  if (failed(checkAllStatic(inputs, why)))
    return failure();
  for (ArrayRef<int64_t> s : inputs.drop_front())
    if (s != inputs.front()) {
      why = "expected inputs of the same shape, got " + formatShape(inputs.front()) + " and " + formatShape(s);
      return failure();
    }
  return Shape(inputs.front().begin(), inputs.front().end());
}

FailureOr<Shape> inferGlobalPoolShape(ArrayRef<int64_t> input, std::string &why) {
  if (failed(checkStaticShape(input, why)))
    return failure();
  if (input.size() != 4) {
    why = "expected a 4-D input [N, C, H, W], got " + formatShape(input);
    return failure();
  }
  return Shape{input[0], input[1], 1, 1};
}

FailureOr<Shape> inferBatchNormShape(ArrayRef<int64_t> input, ArrayRef<ArrayRef<int64_t>> perChannel,
                                     std::string &why) {
  if (failed(checkStaticShape(input, why)))
    return failure();
  if (input.size() < 2) {
    why = "expected an input of rank >= 2 with channels on dimension 1, got " + formatShape(input);
    return failure();
  }
  for (ArrayRef<int64_t> s : perChannel)
    if (s.size() != 1 || s[0] != input[1]) {
      why = "expected scale, shift, mean and variance of shape " + std::to_string(input[1]) +
            " (one per channel of " + formatShape(input) + "), got " + formatShape(s);
      return failure();
    }
  return Shape(input.begin(), input.end());
}

FailureOr<Shape> inferDenseShape(ArrayRef<int64_t> input, ArrayRef<int64_t> weight,
                                 std::optional<ArrayRef<int64_t>> bias, std::string &why) {
  if (failed(checkAllStatic({input, weight}, why)))
    return failure();
  if (input.size() != 2) {
    why = "expected a 2-D input [N, K], got " + formatShape(input) + " (flatten it first)";
    return failure();
  }
  if (weight.size() != 2 || weight[1] != input[1]) {
    why = "expected a weight of shape Mx" + std::to_string(input[1]) + " for input " + formatShape(input) +
          ", got " + formatShape(weight);
    return failure();
  }
  if (bias && (bias->size() != 1 || (*bias)[0] != weight[0])) {
    why = "expected a bias of shape " + std::to_string(weight[0]) + ", got " + formatShape(*bias);
    return failure();
  }
  return Shape{input[0], weight[0]};
}

FailureOr<Shape> inferFlattenShape(ArrayRef<int64_t> input, std::string &why) {
  if (failed(checkStaticShape(input, why)))
    return failure();
  if (input.empty()) {
    why = "expected an input of rank >= 1";
    return failure();
  }
  int64_t inner = 1;
  for (int64_t d : input.drop_front())
    inner *= d;
  return Shape{input[0], inner};
}

FailureOr<Shape> inferSoftmaxShape(ArrayRef<int64_t> input, int64_t axis, std::string &why) {
  if (failed(checkStaticShape(input, why)))
    return failure();
  if (axis < 0 || axis >= static_cast<int64_t>(input.size())) {
    why = "expected axis in [0, " + std::to_string(input.size()) + ") for input " + formatShape(input) +
          ", got " + std::to_string(axis);
    return failure();
  }
  return Shape(input.begin(), input.end());
}

FailureOr<Shape> inferSameShape(ArrayRef<int64_t> lhs, ArrayRef<int64_t> rhs, std::string &why) {
  if (failed(checkAllStatic({lhs, rhs}, why)))
    return failure();
  if (lhs != rhs) {
    why = "expected operands of the same shape, got " + formatShape(lhs) + " and " + formatShape(rhs);
    return failure();
  }
  return Shape(lhs.begin(), lhs.end());
}

FailureOr<Shape> inferConcatShape(ArrayRef<ArrayRef<int64_t>> inputs, int64_t axis, std::string &why) {
  if (inputs.empty()) {
    why = "expected at least one input";
    return failure();
  }
  if (failed(checkAllStatic(inputs, why)))
    return failure();
  ArrayRef<int64_t> first = inputs.front();
  if (axis < 0 || axis >= static_cast<int64_t>(first.size())) {
    why = "expected axis in [0, " + std::to_string(first.size()) + "), got " + std::to_string(axis);
    return failure();
  }
  Shape out(first.begin(), first.end());
  for (ArrayRef<int64_t> s : inputs.drop_front()) {
    bool agree = s.size() == first.size();
    for (size_t d = 0; agree && d < s.size(); ++d)
      agree = static_cast<int64_t>(d) == axis || s[d] == first[d];
    if (!agree) {
      why = "expected inputs that agree on every dimension but " + std::to_string(axis) + ", got " +
            formatShape(first) + " and " + formatShape(s);
      return failure();
    }
    out[axis] += s[axis];
  }
  return out;
}

FailureOr<Shape> inferTransposeShape(ArrayRef<int64_t> input, ArrayRef<int64_t> perm, std::string &why) {
  if (failed(checkStaticShape(input, why)))
    return failure();
  const int64_t rank = static_cast<int64_t>(input.size());
  SmallVector<bool> seen(rank, false);
  bool valid = static_cast<int64_t>(perm.size()) == rank;
  for (int64_t p : perm)
    valid = valid && p >= 0 && p < rank && !seen[p] && (seen[p] = true);
  if (!valid) {
    why = "expected perm to be a permutation of 0.." + std::to_string(rank - 1) + " for a " + formatShape(input) +
          " input, got [" + formatShape(perm) + "]";
    return failure();
  }
  Shape out;
  for (int64_t p : perm)
    out.push_back(input[p]);
  return out;
}

ArrayRef<StringRef> unaryFunctions() {
  static const StringRef names[] = {"exp",     "log",      "sqrt",     "abs",   "erf",  "floor",     "ceil",
                                    "neg",     "reciprocal", "round",  "sign",  "step", "pow",       "elu",
                                    "selu",    "celu",     "softplus", "softsign", "mish", "gelu", "gelu_tanh",
                                    "thresholded_relu", "silu", "affine"};
  return names;
}

ArrayRef<StringRef> reduceKinds() {
  static const StringRef names[] = {"sum", "mean",    "max",         "min",     "prod",   "sum_square",
                                    "l1",  "l2",      "log_sum",     "log_sum_exp", "arg_max", "arg_min"};
  return names;
}

FailureOr<Shape> inferReduceShape(ArrayRef<int64_t> input, StringRef kind, ArrayRef<int64_t> axes, std::string &why) {
  if (failed(checkStaticShape(input, why)))
    return failure();
  if (!llvm::is_contained(reduceKinds(), kind)) {
    why = "expected a reduction kind (sum, mean, max, min, prod, sum_square, l1, l2, log_sum, log_sum_exp, "
          "arg_max, arg_min), got '" + kind.str() + "'";
    return failure();
  }
  const int64_t rank = static_cast<int64_t>(input.size());
  bool valid = !axes.empty();
  for (size_t i = 0; i < axes.size(); ++i)
    valid = valid && axes[i] >= 0 && axes[i] < rank && (i == 0 || axes[i] > axes[i - 1]);
  if (!valid) {
    why = "expected distinct increasing axes in [0, " + std::to_string(rank) + "), got [" + formatShape(axes) + "]";
    return failure();
  }
  if (kind.starts_with("arg_") && axes.size() != 1) {
    why = kind.str() + " reduces exactly one axis, got [" + formatShape(axes) + "]";
    return failure();
  }
  Shape out(input.begin(), input.end());
  for (int64_t a : axes)
    out[a] = 1;
  return out;
}

FailureOr<Shape> inferMatMulShape(ArrayRef<int64_t> lhs, ArrayRef<int64_t> rhs, std::string &why) {
  if (failed(checkAllStatic({lhs, rhs}, why)))
    return failure();
  if (lhs.size() < 2 || rhs.size() < 2) {
    why = "expected operands of rank >= 2, got " + formatShape(lhs) + " and " + formatShape(rhs);
    return failure();
  }
  if (lhs.back() != rhs[rhs.size() - 2]) {
    why = "expected [..., M, K] x [..., K, N] to agree on K, got " + formatShape(lhs) + " and " + formatShape(rhs);
    return failure();
  }
  auto batch = inferBroadcastShape(lhs.drop_back(2), rhs.drop_back(2), why);
  if (failed(batch))
    return failure();
  Shape out = *batch;
  out.append({lhs[lhs.size() - 2], rhs.back()});
  return out;
}

LogicalResult checkSlice(ArrayRef<int64_t> input, ArrayRef<int64_t> starts, ArrayRef<int64_t> steps,
                         ArrayRef<int64_t> output, std::string &why) {
  if (failed(checkAllStatic({input, output}, why)))
    return failure();
  if (starts.size() != input.size() || steps.size() != input.size() || output.size() != input.size()) {
    why = "expected one start and one step per dimension and a result of the input's rank, got " +
          std::to_string(starts.size()) + " starts and " + std::to_string(steps.size()) + " steps for " +
          formatShape(input) + " -> " + formatShape(output);
    return failure();
  }
  for (size_t d = 0; d < input.size(); ++d) {
    int64_t last = starts[d] + (output[d] - 1) * steps[d];
    if (steps[d] == 0 || starts[d] < 0 || starts[d] >= input[d] || last < 0 || last >= input[d]) {
      why = "expected dimension " + std::to_string(d) + " to read inside [0, " + std::to_string(input[d]) +
            "), got start " + std::to_string(starts[d]) + ", step " + std::to_string(steps[d]) + " and " +
            std::to_string(output[d]) + " elements";
      return failure();
    }
  }
  return success();
}

LogicalResult checkBroadcastTo(ArrayRef<int64_t> input, ArrayRef<int64_t> output, std::string &why) {
  if (failed(checkAllStatic({input, output}, why)))
    return failure();
  bool valid = input.size() <= output.size();
  for (size_t i = 0; valid && i < input.size(); ++i) {
    int64_t in = input[input.size() - 1 - i], out = output[output.size() - 1 - i];
    valid = in == out || in == 1;
  }
  if (!valid) {
    why = "expected " + formatShape(input) + " to broadcast to " + formatShape(output) +
          " (aligned at the last dimension, each equal or 1)";
    return failure();
  }
  return success();
}

} // namespace kiln::nn
