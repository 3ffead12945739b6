// nn-trim-padding-taps: drops the kernel rows and columns of an nn.conv2d that only ever meet
// zero padding. On small planes this is most of the kernel: ResNet-18 at 32x32 input runs its
// last 3x3 convs on a 1x1 plane with padding 1, where only the centre tap meets the input, so
// 8/9 of those weights (most of the model's) were read to be multiplied by zeros.
// Expects verified nn IR; with a weight store, the conv's weight must be bound.
// Guarantees the same function values (the dropped products were products with zero).
//
// Along H (W alike), with stride s, dilation d, padding top/bottom, input H and output OH, tap ky
// meets the input when some output row oy has 0 <= oy*s - top + ky*d < H. With ky0..ky1 the first
// and last such taps, the conv becomes one with taps ky0..ky1 and padding
//   top' = top - ky0*d,   bottom' = (OH-1)*s + (ky1-ky0)*d + 1 - H - top'
// (the same output size); it is rewritten only when both stay >= 0. The new weight is the
// nn.param named "<weight>+taps<ky0>-<ky1>x<kx0>-<kx1>" (the old one is erased once unused).
#include "compiler/passes/ParamData.h"
#include "compiler/passes/Passes.h"

#include "kiln/Dialect/NN/NNOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"

#include <optional>
#include <string>

using namespace mlir;

namespace kiln {
namespace {

/// The kept taps along one axis, and the padding that goes with them.
struct AxisTrim {
  int64_t first, last, before, after;
};

/// The taps of one axis (kernel K, stride s, dilation d, padding before/after, input size, output
/// size) that meet the input; nullopt when none do or the new padding would be negative.
std::optional<AxisTrim> trimAxis(int64_t K, int64_t s, int64_t d, int64_t before, int64_t input, int64_t output) {
  std::optional<int64_t> first, last;
  for (int64_t k = 0; k < K; ++k)
    for (int64_t o = 0; o < output; ++o)
      if (int64_t at = o * s - before + k * d; at >= 0 && at < input) {
        first = first.value_or(k);
        last = k;
        break;
      }
  if (!first)
    return std::nullopt;
  AxisTrim trim{*first, *last, before - *first * d, 0};
  trim.after = (output - 1) * s + (*last - *first) * d + 1 - input - trim.before;
  if (trim.before < 0 || trim.after < 0)
    return std::nullopt;
  return trim;
}

class TrimPaddingTapsPass : public PassWrapper<TrimPaddingTapsPass, OperationPass<>> {
public:
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(TrimPaddingTapsPass)

  explicit TrimPaddingTapsPass(WeightStore *weights) : weights(weights) {}

  StringRef getArgument() const override { return "nn-trim-padding-taps"; }
  StringRef getDescription() const override {
    return "Drop the conv2d kernel rows and columns that only meet zero padding (new named weight)";
  }

  void runOnOperation() override {
    SmallVector<nn::Conv2DOp> convs;
    getOperation()->walk([&](nn::Conv2DOp conv) { convs.push_back(conv); });
    for (nn::Conv2DOp conv : convs)
      if (failed(trim(conv)))
        return signalPassFailure();
  }

private:
  LogicalResult trim(nn::Conv2DOp conv) {
    auto weight = conv.getFilter().getDefiningOp<nn::ParamOp>();
    auto input = dyn_cast<RankedTensorType>(conv.getInput().getType());
    auto output = dyn_cast<RankedTensorType>(conv.getResult().getType());
    if (!weight || !input || !output || !input.hasStaticShape() || !output.hasStaticShape())
      return success();
    ArrayRef<int64_t> w = weight.getType().getShape(), pad = conv.getPadding();
    ArrayRef<int64_t> strides = conv.getStrides(), dilations = conv.getDilations();
    std::optional<AxisTrim> rows = trimAxis(w[2], strides[0], dilations[0], pad[0], input.getDimSize(2),
                                            output.getDimSize(2));
    std::optional<AxisTrim> cols = trimAxis(w[3], strides[1], dilations[1], pad[1], input.getDimSize(3),
                                            output.getDimSize(3));
    if (!rows || !cols || (rows->last - rows->first + 1 == w[2] && cols->last - cols->first + 1 == w[3]))
      return success();
    const int64_t KH = rows->last - rows->first + 1, KW = cols->last - cols->first + 1;
    std::string name = (weight.getName() + "+taps" + std::to_string(rows->first) + "-" + std::to_string(rows->last) +
                        "x" + std::to_string(cols->first) + "-" + std::to_string(cols->last))
                           .str();
    if (weights && failed(sliceData(conv, weight, *rows, *cols, name)))
      return failure();

    OpBuilder builder(conv);
    auto type = RankedTensorType::get({w[0], w[1], KH, KW}, weight.getType().getElementType());
    Value trimmed =
        nn::ParamOp::create(builder, weight.getLoc(), type, builder.getStringAttr(name), weight.getConstantAttr());
    conv.getFilterMutable().assign(trimmed);
    conv.setPaddingAttr(builder.getDenseI64ArrayAttr({rows->before, cols->before, rows->after, cols->after}));
    if (weight->use_empty())
      weight->erase();
    return success();
  }

  /// weight[:, :, rows, cols] into the store under `name`.
  LogicalResult sliceData(nn::Conv2DOp conv, nn::ParamOp weight, const AxisTrim &rows, const AxisTrim &cols,
                          const std::string &name) {
    const HostTensor *data = paramData(*weights, weight, conv, "nn-trim-padding-taps");
    if (!data)
      return failure();
    ArrayRef<int64_t> w = weight.getType().getShape();
    const int64_t KH = rows.last - rows.first + 1, KW = cols.last - cols.first + 1;
    HostTensor sliced({w[0], w[1], KH, KW});
    for (int64_t fc = 0; fc < w[0] * w[1]; ++fc)
      for (int64_t ky = 0; ky < KH; ++ky)
        for (int64_t kx = 0; kx < KW; ++kx)
          sliced.data[(fc * KH + ky) * KW + kx] =
              data->data[(fc * w[2] + rows.first + ky) * w[3] + cols.first + kx];
    (*weights)[name] = std::move(sliced);
    return success();
  }

  WeightStore *weights;
};

} // namespace

std::unique_ptr<Pass> createTrimPaddingTapsPass(WeightStore *weights) {
  return std::make_unique<TrimPaddingTapsPass>(weights);
}

} // namespace kiln
