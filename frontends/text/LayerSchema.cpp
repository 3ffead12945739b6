// The layer-type table of the Kiln text format (see LayerSchema.h and docs/text-format.md).
#include "frontends/text/LayerSchema.h"

#include "llvm/ADT/StringExtras.h"

namespace kiln::text {

using llvm::StringRef;

static const StringRef kConvAttrs[] = {"filters", "kernel",     "stride", "padding", "dilation",
                                       "groups",  "bias",       "activation", "alpha"};
static const StringRef kConvRequired[] = {"filters", "kernel"};
static const StringRef kConvTransposeAttrs[] = {"filters", "kernel",     "stride", "padding", "output_padding",
                                                "dilation", "groups",   "bias",   "activation", "alpha"};
static const StringRef kMaxPoolAttrs[] = {"kernel", "stride", "padding", "ceil_mode"};
static const StringRef kAvgPoolAttrs[] = {"kernel", "stride", "padding", "count_include_pad", "ceil_mode"};
static const StringRef kResizeAttrs[] = {"mode", "scale", "size", "align_corners"};
static const StringRef kLRNAttrs[] = {"size", "alpha", "beta", "bias"};
static const StringRef kSize[] = {"size"};
static const StringRef kPadAttrs[] = {"pads", "value"};
static const StringRef kPads[] = {"pads"};
static const StringRef kClipAttrs[] = {"min", "max"};
static const StringRef kHardSigmoidAttrs[] = {"alpha", "beta"};
static const StringRef kShape[] = {"shape"};
static const StringRef kKernel[] = {"kernel"};
static const StringRef kBatchNormAttrs[] = {"epsilon", "activation", "alpha"};
static const StringRef kAlpha[] = {"alpha"};
static const StringRef kRate[] = {"rate"};
static const StringRef kDenseAttrs[] = {"units", "bias", "activation", "alpha"};
static const StringRef kUnits[] = {"units"};
static const StringRef kAxis[] = {"axis"};
static const StringRef kAddAttrs[] = {"activation", "alpha"};

static const LayerSchema kSchemas[] = {
    {"conv2d", 1, 1, kConvAttrs, kConvRequired},
    {"conv_transpose2d", 1, 1, kConvTransposeAttrs, kConvRequired},
    {"max_pool2d", 1, 1, kMaxPoolAttrs, kKernel},
    {"avg_pool2d", 1, 1, kAvgPoolAttrs, kKernel},
    {"global_avg_pool", 1, 1, {}, {}},
    {"global_max_pool", 1, 1, {}, {}},
    {"batch_norm", 1, 1, kBatchNormAttrs, {}},
    {"lrn", 1, 1, kLRNAttrs, kSize},
    {"relu", 1, 1, {}, {}},
    {"leaky_relu", 1, 1, kAlpha, {}},
    {"tanh", 1, 1, {}, {}},
    {"sigmoid", 1, 1, {}, {}},
    {"clip", 1, 1, kClipAttrs, {}},
    {"hard_sigmoid", 1, 1, kHardSigmoidAttrs, {}},
    {"hard_swish", 1, 1, {}, {}},
    {"dropout", 1, 1, kRate, {}},
    {"dense", 1, 1, kDenseAttrs, kUnits},
    {"flatten", 1, 1, {}, {}},
    {"reshape", 1, 1, kShape, kShape},
    {"softmax", 1, 1, kAxis, {}},
    {"log_softmax", 1, 1, kAxis, {}},
    {"add", 2, 2, kAddAttrs, {}},
    {"sub", 2, 2, kAddAttrs, {}},
    {"mul", 2, 2, kAddAttrs, {}},
    {"div", 2, 2, kAddAttrs, {}},
    {"max", 2, 2, kAddAttrs, {}},
    {"min", 2, 2, kAddAttrs, {}},
    {"sum", 1, ~0u, {}, {}},
    {"mean", 1, ~0u, {}, {}},
    {"concat", 2, ~0u, kAxis, {}},
    {"pad", 1, 1, kPadAttrs, kPads},
    {"resize", 1, 1, kResizeAttrs, {}},
};

llvm::ArrayRef<LayerSchema> allLayerSchemas() { return kSchemas; }

const LayerSchema *lookupLayerSchema(StringRef type) {
  for (const LayerSchema &schema : kSchemas)
    if (schema.type == type)
      return &schema;
  return nullptr;
}

std::string joinNames(llvm::ArrayRef<StringRef> names) { return llvm::join(names, ", "); }

/// Names other frameworks use for the same thing (lower case, without '_').
static std::optional<StringRef> alias(StringRef word) {
  static const std::pair<StringRef, StringRef> kAliases[] = {
      {"linear", "dense"},           {"fc", "dense"},           {"gemm", "dense"},
      {"conv", "conv2d"},            {"convolution", "conv2d"}, {"maxpool", "max_pool2d"},
      {"avgpool", "avg_pool2d"},     {"batchnorm", "batch_norm"}, {"batchnorm2d", "batch_norm"},
      {"bn", "batch_norm"},          {"cat", "concat"},         {"relu6", "clip"},
      {"globalaveragepool", "global_avg_pool"}, {"adaptiveavgpool2d", "global_avg_pool"},
      {"strides", "stride"},         {"kernelsize", "kernel"},  {"pad", "padding"},
      {"pads", "padding"},           {"dilations", "dilation"}, {"outchannels", "filters"},
      {"outfeatures", "units"},      {"eps", "epsilon"},        {"p", "rate"},
      {"negativeslope", "alpha"},    {"dim", "axis"},           {"upsample", "resize"},
      {"interpolate", "resize"},     {"convtranspose", "conv_transpose2d"}, {"deconv", "conv_transpose2d"},
      {"localresponsenorm", "lrn"},  {"hardswish", "hard_swish"}, {"hardsigmoid", "hard_sigmoid"},
      {"logsoftmax", "log_softmax"}, {"globalmaxpool", "global_max_pool"}, {"view", "reshape"},
      {"scalefactor", "scale"},      {"ceil", "ceil_mode"},
  };
  std::string key = word.lower();
  llvm::erase(key, '_');
  for (auto [from, to] : kAliases)
    if (key == from)
      return to;
  return std::nullopt;
}

std::optional<StringRef> closestName(StringRef word, llvm::ArrayRef<StringRef> candidates) {
  if (std::optional<StringRef> to = alias(word))
    for (StringRef c : candidates)
      if (c == *to)
        return c;
  std::string lower = word.lower();
  std::optional<StringRef> best;
  unsigned bestDistance = std::max<unsigned>(2, word.size() / 2) + 1;
  for (StringRef c : candidates) {
    unsigned d = StringRef(lower).edit_distance(c, /*AllowReplacements=*/true, bestDistance);
    if (d < bestDistance) {
      bestDistance = d;
      best = c;
    }
  }
  return best;
}

} // namespace kiln::text
