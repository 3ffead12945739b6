// The layer-type table of the Kiln text format (see LayerSchema.h and docs/text-format.md).
#include "frontends/text/LayerSchema.h"

#include "llvm/ADT/StringExtras.h"

namespace kiln::text {

using llvm::StringRef;

static const StringRef kConvAttrs[] = {"filters", "kernel",     "stride", "padding", "dilation",
                                       "groups",  "bias",       "activation", "alpha"};
static const StringRef kConvRequired[] = {"filters", "kernel"};
static const StringRef kMaxPoolAttrs[] = {"kernel", "stride", "padding"};
static const StringRef kAvgPoolAttrs[] = {"kernel", "stride", "padding", "count_include_pad"};
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
    {"max_pool2d", 1, 1, kMaxPoolAttrs, kKernel},
    {"avg_pool2d", 1, 1, kAvgPoolAttrs, kKernel},
    {"global_avg_pool", 1, 1, {}, {}},
    {"batch_norm", 1, 1, kBatchNormAttrs, {}},
    {"relu", 1, 1, {}, {}},
    {"leaky_relu", 1, 1, kAlpha, {}},
    {"tanh", 1, 1, {}, {}},
    {"sigmoid", 1, 1, {}, {}},
    {"dropout", 1, 1, kRate, {}},
    {"dense", 1, 1, kDenseAttrs, kUnits},
    {"flatten", 1, 1, {}, {}},
    {"softmax", 1, 1, kAxis, {}},
    {"add", 2, 2, kAddAttrs, {}},
    {"concat", 2, ~0u, kAxis, {}},
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
      {"bn", "batch_norm"},          {"cat", "concat"},         {"sum", "add"},
      {"globalaveragepool", "global_avg_pool"}, {"adaptiveavgpool2d", "global_avg_pool"},
      {"strides", "stride"},         {"kernelsize", "kernel"},  {"pad", "padding"},
      {"pads", "padding"},           {"dilations", "dilation"}, {"outchannels", "filters"},
      {"outfeatures", "units"},      {"eps", "epsilon"},        {"p", "rate"},
      {"negativeslope", "alpha"},    {"dim", "axis"},
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
