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
                                  ArrayRef<int64_t> padding, std::string &why) {
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
  return windowOutput(input, input[1], kernel, strides, padding, ones, why);
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

} // namespace kiln::nn
