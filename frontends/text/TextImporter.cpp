// Kiln text format -> nn dialect (see TextImporter.h): parses the buffer, then checks every layer
// against its schema and the dialect's shape rules before building it, so each error names the
// file:line:col of the statement and says what would fix it.
#include "frontends/text/TextImporter.h"
#include "frontends/text/AttrValues.h"
#include "frontends/text/LayerSchema.h"
#include "frontends/text/Parser.h"

#include "kiln/Dialect/NN/NNOps.h"
#include "kiln/Dialect/NN/ShapeRules.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/SourceMgr.h"

using namespace mlir;
using namespace kiln::text;
namespace nn = kiln::nn;

namespace {

constexpr llvm::StringLiteral kNameAttr = "nn.name";

/// Example values shown in "add it" notes.
std::string exampleFor(StringRef key) {
  if (key == "filters")
    return "filters=16";
  if (key == "units")
    return "units=10";
  if (key == "kernel")
    return "kernel=3";
  return key.str() + "=...";
}

class Importer {
public:
  Importer(MLIRContext &context, StringRef file, const kiln::TextImportOptions &options)
      : context(context), file(file), options(options), builder(&context) {}

  OwningOpRef<ModuleOp> run(const Program &program);

private:
  struct Defined {
    Value value;
    Pos pos;
    bool used = false;
  };

  /// The attributes of one layer statement, checked against its schema.
  struct Attrs {
    llvm::StringMap<const Attr *> byKey;
    const Attr *find(StringRef key) const { return byKey.lookup(key); }
  };

  Location at(Pos pos) { return locationOf(context, file, pos); }
  Location layerLoc(StringRef name, Pos pos) { return NameLoc::get(StringAttr::get(&context, name), at(pos)); }
  InFlightDiagnostic error(Pos pos) { return emitError(at(pos)); }

  RankedTensorType tensorType(ArrayRef<int64_t> shape) {
    return RankedTensorType::get(shape, Float32Type::get(&context));
  }
  static ArrayRef<int64_t> shapeOf(Value v) { return cast<RankedTensorType>(v.getType()).getShape(); }

  LogicalResult define(const Name &name, Value value);
  FailureOr<Value> use(const Name &name);
  Value param(StringRef layer, StringRef suffix, ArrayRef<int64_t> shape, Location loc);

  LogicalResult checkAttrs(const LayerStmt &layer, const LayerSchema &schema, Attrs &attrs);
  LogicalResult badValue(const Attr &attr, const std::string &expected);
  FailureOr<int64_t> intAttr(const Attrs &attrs, StringRef key, int64_t min, int64_t dflt);
  FailureOr<std::array<int64_t, 2>> pairAttr(const Attrs &attrs, StringRef key, std::array<int64_t, 2> dflt);
  FailureOr<PaddingValue> paddingAttr(const Attrs &attrs);
  FailureOr<bool> boolAttr(const Attrs &attrs, StringRef key, bool dflt);
  FailureOr<double> floatAttr(const Attrs &attrs, StringRef key, double dflt, double min, double max,
                              bool maxExclusive);
  FailureOr<int64_t> axisAttr(const Attrs &attrs, int64_t rank);

  LogicalResult shapeError(const LayerStmt &layer, ArrayRef<Value> inputs, StringRef why);
  LogicalResult requireRank(const LayerStmt &layer, Value input, bool exact, size_t rank, StringRef form);

  LogicalResult importLayer(const LayerStmt &layer);
  FailureOr<Value> buildLayer(const LayerStmt &layer, const Attrs &attrs, ArrayRef<Value> inputs, Location loc);
  FailureOr<Value> buildActivation(const LayerStmt &layer, const Attrs &attrs, Value value);

  MLIRContext &context;
  StringRef file;
  const kiln::TextImportOptions &options;
  OpBuilder builder;
  llvm::StringMap<Defined> scope;
  llvm::StringMap<Pos> definedAnywhere;
};

LogicalResult Importer::define(const Name &name, Value value) {
  auto [it, inserted] = scope.try_emplace(name.text, Defined{value, name.pos});
  if (inserted)
    return success();
  InFlightDiagnostic diag = error(name.pos);
  diag << "'" << name.text << "' is already defined";
  diag.attachNote(at(it->second.pos)) << "first defined here; give this value another name";
  return failure();
}

FailureOr<Value> Importer::use(const Name &name) {
  auto it = scope.find(name.text);
  if (it != scope.end()) {
    it->second.used = true;
    return it->second.value;
  }
  InFlightDiagnostic diag = error(name.pos);
  diag << "'" << name.text << "' is not defined yet";
  auto later = definedAnywhere.find(name.text);
  if (later != definedAnywhere.end()) {
    diag.attachNote(at(later->second)) << "it is defined later, here; move that line above this one";
    return failure();
  }
  SmallVector<StringRef> known;
  for (auto &entry : scope)
    known.push_back(entry.getKey());
  llvm::sort(known);
  if (std::optional<StringRef> guess = closestName(name.text, known))
    diag.attachNote() << "did you mean '" << *guess << "'?";
  else if (known.empty())
    diag.attachNote() << "declare the model's inputs first, e.g. `input x: 1x3x224x224`";
  else
    diag.attachNote() << "defined so far: " << joinNames(known);
  return failure();
}

Value Importer::param(StringRef layer, StringRef suffix, ArrayRef<int64_t> shape, Location loc) {
  return nn::ParamOp::create(builder, loc, tensorType(shape), builder.getStringAttr(layer + suffix));
}

LogicalResult Importer::checkAttrs(const LayerStmt &layer, const LayerSchema &schema, Attrs &attrs) {
  for (const Attr &attr : layer.attrs) {
    if (!llvm::is_contained(schema.attrs, attr.key.text)) {
      InFlightDiagnostic diag = error(attr.key.pos);
      diag << schema.type << " has no attribute '" << attr.key.text << "'";
      if (schema.attrs.empty()) {
        diag.attachNote() << schema.type << " takes no attributes; delete `" << attr.key.text << "=" << attr.value
                          << "`";
        return failure();
      }
      if (std::optional<StringRef> guess = closestName(attr.key.text, schema.attrs))
        diag.attachNote() << "did you mean '" << *guess << "'?";
      diag.attachNote() << schema.type << " takes: " << joinNames(schema.attrs);
      return failure();
    }
    auto [it, inserted] = attrs.byKey.try_emplace(attr.key.text, &attr);
    if (!inserted) {
      InFlightDiagnostic diag = error(attr.key.pos);
      diag << "attribute '" << attr.key.text << "' is given twice";
      diag.attachNote(at(it->second->key.pos)) << "first given here; keep one of them";
      return failure();
    }
  }
  for (StringRef key : schema.required)
    if (!attrs.find(key)) {
      InFlightDiagnostic diag = error(layer.type.pos);
      diag << schema.type << " '" << layer.result.text << "' needs attribute '" << key << "'";
      diag.attachNote() << "add it after the inputs, e.g. `" << exampleFor(key) << "`";
      return failure();
    }
  unsigned count = layer.operands.size();
  if (count < schema.minInputs || count > schema.maxInputs) {
    InFlightDiagnostic diag = error(layer.type.pos);
    diag << schema.type << " '" << layer.result.text << "' takes ";
    if (schema.maxInputs == ~0u)
      diag << schema.minInputs << " or more inputs";
    else if (schema.minInputs == schema.maxInputs)
      diag << schema.minInputs << (schema.minInputs == 1 ? " input" : " inputs");
    else
      diag << schema.minInputs << " to " << schema.maxInputs << " inputs";
    diag << ", got " << count;
    diag.attachNote() << "name them in the parentheses, e.g. `" << layer.result.text << " = " << schema.type
                      << (schema.minInputs == 1 ? "(x)" : "(a, b)") << "`";
    return failure();
  }
  // alpha is a layer's own attribute unless the layer takes an activation= shorthand.
  if (const Attr *alpha = attrs.find("alpha"))
    if (llvm::is_contained(schema.attrs, StringRef("activation"))) {
      const Attr *activation = attrs.find("activation");
      if (!activation || activation->value != "leaky_relu") {
        InFlightDiagnostic diag = error(alpha->key.pos);
        diag << "alpha only applies with activation=leaky_relu";
        diag.attachNote() << "add `activation=leaky_relu` or delete `alpha=" << alpha->value << "`";
        return failure();
      }
    }
  return success();
}

LogicalResult Importer::badValue(const Attr &attr, const std::string &expected) {
  InFlightDiagnostic diag = error(attr.valuePos);
  diag << "invalid " << attr.key.text << " '" << attr.value << "'";
  diag.attachNote() << "expected " << expected;
  return failure();
}

FailureOr<int64_t> Importer::intAttr(const Attrs &attrs, StringRef key, int64_t min, int64_t dflt) {
  const Attr *attr = attrs.find(key);
  if (!attr)
    return dflt;
  std::string expected;
  FailureOr<int64_t> value = parseIntValue(attr->value, min, expected);
  if (failed(value))
    return badValue(*attr, expected);
  return value;
}

FailureOr<std::array<int64_t, 2>> Importer::pairAttr(const Attrs &attrs, StringRef key,
                                                     std::array<int64_t, 2> dflt) {
  const Attr *attr = attrs.find(key);
  if (!attr)
    return dflt;
  std::string expected;
  auto value = parsePairValue(attr->value, expected);
  if (failed(value))
    return badValue(*attr, expected);
  return value;
}

FailureOr<PaddingValue> Importer::paddingAttr(const Attrs &attrs) {
  const Attr *attr = attrs.find("padding");
  if (!attr)
    return PaddingValue{};
  std::string expected;
  auto value = parsePaddingValue(attr->value, expected);
  if (failed(value))
    return badValue(*attr, expected);
  return value;
}

FailureOr<bool> Importer::boolAttr(const Attrs &attrs, StringRef key, bool dflt) {
  const Attr *attr = attrs.find(key);
  if (!attr)
    return dflt;
  std::string expected;
  auto value = parseBoolValue(attr->value, expected);
  if (failed(value))
    return badValue(*attr, expected);
  return value;
}

FailureOr<double> Importer::floatAttr(const Attrs &attrs, StringRef key, double dflt, double min, double max,
                                      bool maxExclusive) {
  const Attr *attr = attrs.find(key);
  if (!attr)
    return dflt;
  std::string expected;
  auto value = parseFloatValue(attr->value, min, max, maxExclusive, expected);
  if (failed(value))
    return badValue(*attr, expected);
  return value;
}

FailureOr<int64_t> Importer::axisAttr(const Attrs &attrs, int64_t rank) {
  const Attr *attr = attrs.find("axis");
  if (!attr)
    return 1;
  int64_t axis = 0;
  if (attr->value.empty() || StringRef(attr->value).getAsInteger(10, axis) || axis < -rank || axis >= rank)
    return badValue(*attr, "an integer in [" + std::to_string(-rank) + ", " + std::to_string(rank) +
                               ") for a rank-" + std::to_string(rank) + " input (negative counts from the end)");
  return axis < 0 ? axis + rank : axis;
}

LogicalResult Importer::shapeError(const LayerStmt &layer, ArrayRef<Value> inputs, StringRef why) {
  InFlightDiagnostic diag = error(layer.type.pos);
  diag << layer.type.text << " '" << layer.result.text << "': " << why;
  for (auto [name, value] : llvm::zip(layer.operands, inputs))
    diag.attachNote(at(scope.lookup(name.text).pos))
        << "'" << name.text << "' is " << nn::formatShape(shapeOf(value)) << ", defined here";
  return failure();
}

LogicalResult Importer::requireRank(const LayerStmt &layer, Value input, bool exact, size_t rank, StringRef form) {
  size_t actual = shapeOf(input).size();
  if (exact ? actual == rank : actual >= rank)
    return success();
  const Name &operand = layer.operands.front();
  InFlightDiagnostic diag = error(operand.pos);
  diag << layer.type.text << " '" << layer.result.text << "' needs " << form << ", but '" << operand.text
       << "' is " << nn::formatShape(shapeOf(input));
  if (layer.type.text == "dense" && actual > 2)
    diag.attachNote() << "insert `" << operand.text << "_flat = flatten(" << operand.text
                      << ")` before this line and use " << operand.text << "_flat as the input";
  return failure();
}

FailureOr<Value> Importer::buildLayer(const LayerStmt &layer, const Attrs &attrs, ArrayRef<Value> inputs,
                                      Location loc) {
  StringRef type = layer.type.text;
  StringRef name = layer.result.text;
  Value x = inputs.front();
  std::string why;
  auto shapeFailure = [&]() -> FailureOr<Value> { return shapeError(layer, inputs, why); };

  if (type == "conv2d") {
    if (failed(requireRank(layer, x, true, 4, "a 4-D input [N, C, H, W]")))
      return failure();
    auto filters = intAttr(attrs, "filters", 1, 0);
    auto kernel = pairAttr(attrs, "kernel", {1, 1});
    auto stride = pairAttr(attrs, "stride", {1, 1});
    auto dilation = pairAttr(attrs, "dilation", {1, 1});
    auto groups = intAttr(attrs, "groups", 1, 1);
    auto padding = paddingAttr(attrs);
    auto bias = boolAttr(attrs, "bias", true);
    if (failed(filters) || failed(kernel) || failed(stride) || failed(dilation) || failed(groups) ||
        failed(padding) || failed(bias))
      return failure();
    ArrayRef<int64_t> in = shapeOf(x);
    if (in[1] % *groups || *filters % *groups) {
      const Attr *attr = attrs.find("groups");
      InFlightDiagnostic diag = error(attr->valuePos);
      diag << "groups=" << *groups << " must divide both the input channels (" << in[1] << ") and filters ("
           << *filters << ")";
      diag.attachNote() << "use a common divisor of " << in[1] << " and " << *filters;
      return failure();
    }
    std::array<int64_t, 4> pads = padding->pads;
    if (padding->same)
      for (int i = 0; i < 2; ++i)
        std::tie(pads[i], pads[i + 2]) = nn::samePadding(in[2 + i], (*kernel)[i], (*stride)[i], (*dilation)[i]);
    nn::Shape filterShape = {*filters, in[1] / *groups, (*kernel)[0], (*kernel)[1]};
    nn::Shape biasShape = {*filters};
    auto shape = nn::inferConv2DShape(in, filterShape, *bias ? std::optional<ArrayRef<int64_t>>(biasShape)
                                                             : std::nullopt,
                                      *stride, pads, *dilation, *groups, why);
    if (failed(shape))
      return shapeFailure();
    Value w = param(name, ".weight", filterShape, loc);
    Value b = *bias ? param(name, ".bias", biasShape, loc) : Value();
    return nn::Conv2DOp::create(builder, loc, tensorType(*shape), x, w, b, ArrayRef<int64_t>(*stride),
                                ArrayRef<int64_t>(pads), ArrayRef<int64_t>(*dilation), uint64_t(*groups))
        .getResult();
  }

  if (type == "max_pool2d" || type == "avg_pool2d") {
    if (failed(requireRank(layer, x, true, 4, "a 4-D input [N, C, H, W]")))
      return failure();
    auto kernel = pairAttr(attrs, "kernel", {1, 1});
    if (failed(kernel))
      return failure();
    auto stride = pairAttr(attrs, "stride", *kernel);
    auto padding = paddingAttr(attrs);
    auto countPad = boolAttr(attrs, "count_include_pad", false);
    auto ceilMode = boolAttr(attrs, "ceil_mode", false);
    if (failed(stride) || failed(padding) || failed(countPad) || failed(ceilMode))
      return failure();
    ArrayRef<int64_t> in = shapeOf(x);
    std::array<int64_t, 4> pads = padding->pads;
    if (padding->same)
      for (int i = 0; i < 2; ++i)
        std::tie(pads[i], pads[i + 2]) = nn::samePadding(in[2 + i], (*kernel)[i], (*stride)[i], 1);
    auto shape = nn::inferPool2DShape(in, *kernel, *stride, pads, why, *ceilMode);
    if (failed(shape))
      return shapeFailure();
    if (type == "max_pool2d")
      return nn::MaxPool2DOp::create(builder, loc, tensorType(*shape), x, ArrayRef<int64_t>(*kernel),
                                     ArrayRef<int64_t>(*stride), ArrayRef<int64_t>(pads), *ceilMode)
          .getResult();
    return nn::AvgPool2DOp::create(builder, loc, tensorType(*shape), x, ArrayRef<int64_t>(*kernel),
                                   ArrayRef<int64_t>(*stride), ArrayRef<int64_t>(pads), *countPad, *ceilMode)
        .getResult();
  }

  if (type == "global_avg_pool" || type == "global_max_pool") {
    if (failed(requireRank(layer, x, true, 4, "a 4-D input [N, C, H, W]")))
      return failure();
    auto shape = nn::inferGlobalPoolShape(shapeOf(x), why);
    if (failed(shape))
      return shapeFailure();
    if (type == "global_max_pool")
      return nn::GlobalMaxPoolOp::create(builder, loc, tensorType(*shape), x).getResult();
    return nn::GlobalAvgPoolOp::create(builder, loc, tensorType(*shape), x).getResult();
  }

  if (type == "conv_transpose2d") {
    if (failed(requireRank(layer, x, true, 4, "a 4-D input [N, C, H, W]")))
      return failure();
    auto filters = intAttr(attrs, "filters", 1, 0);
    auto kernel = pairAttr(attrs, "kernel", {1, 1});
    auto stride = pairAttr(attrs, "stride", {1, 1});
    auto dilation = pairAttr(attrs, "dilation", {1, 1});
    auto groups = intAttr(attrs, "groups", 1, 1);
    auto padding = paddingAttr(attrs);
    auto bias = boolAttr(attrs, "bias", true);
    FailureOr<std::array<int64_t, 2>> outputPadding = std::array<int64_t, 2>{0, 0};
    if (const Attr *attr = attrs.find("output_padding")) {
      std::string expected;
      outputPadding = parsePairValue(attr->value, expected, 0);
      if (failed(outputPadding))
        return badValue(*attr, expected);
    }
    if (failed(filters) || failed(kernel) || failed(stride) || failed(dilation) || failed(groups) ||
        failed(padding) || failed(bias))
      return failure();
    if (padding->same)
      return badValue(*attrs.find("padding"), "explicit padding for conv_transpose2d (N, HxW or t,l,b,r); "
                                              "`same` is only for conv2d and pooling");
    ArrayRef<int64_t> in = shapeOf(x);
    if (in[1] % *groups || *filters % *groups) {
      const Attr *attr = attrs.find("groups");
      InFlightDiagnostic diag = error(attr->valuePos);
      diag << "groups=" << *groups << " must divide both the input channels (" << in[1] << ") and filters ("
           << *filters << ")";
      diag.attachNote() << "use a common divisor of " << in[1] << " and " << *filters;
      return failure();
    }
    std::array<int64_t, 4> pads = padding->pads;
    nn::Shape filterShape = {in[1], *filters / *groups, (*kernel)[0], (*kernel)[1]};
    nn::Shape biasShape = {*filters};
    auto shape = nn::inferConvTranspose2DShape(
        in, filterShape, *bias ? std::optional<ArrayRef<int64_t>>(biasShape) : std::nullopt, *stride, pads,
        *outputPadding, *dilation, *groups, why);
    if (failed(shape))
      return shapeFailure();
    Value w = param(name, ".weight", filterShape, loc);
    Value b = *bias ? param(name, ".bias", biasShape, loc) : Value();
    return nn::ConvTranspose2DOp::create(builder, loc, tensorType(*shape), x, w, b, ArrayRef<int64_t>(*stride),
                                         ArrayRef<int64_t>(pads), ArrayRef<int64_t>(*outputPadding),
                                         ArrayRef<int64_t>(*dilation), uint64_t(*groups))
        .getResult();
  }

  if (type == "resize") {
    if (failed(requireRank(layer, x, true, 4, "a 4-D input [N, C, H, W]")))
      return failure();
    const Attr *modeAttr = attrs.find("mode");
    StringRef mode = modeAttr ? StringRef(modeAttr->value) : StringRef("nearest");
    if (mode != "nearest" && mode != "bilinear" && mode != "bicubic")
      return badValue(*modeAttr, "nearest, bilinear or bicubic");
    auto alignCorners = boolAttr(attrs, "align_corners", false);
    if (failed(alignCorners))
      return failure();
    if (*alignCorners && mode == "nearest")
      return badValue(*attrs.find("align_corners"), "align_corners only with mode=bilinear or bicubic");
    const Attr *scaleAttr = attrs.find("scale"), *sizeAttr = attrs.find("size");
    if (!scaleAttr == !sizeAttr) {
      InFlightDiagnostic diag = error(layer.type.pos);
      diag << "resize '" << name << "' needs exactly one of 'scale' and 'size'";
      diag.attachNote() << "give integer scale factors (`scale=2` or `scale=2x3`) or the output size (`size=14x14`)";
      return failure();
    }
    auto value = pairAttr(attrs, scaleAttr ? "scale" : "size", {1, 1});
    if (failed(value))
      return failure();
    ArrayRef<int64_t> in = shapeOf(x);
    std::array<int64_t, 2> size = *value;
    if (scaleAttr)
      size = {in[2] * (*value)[0], in[3] * (*value)[1]};
    auto shape = nn::inferResizeShape(in, mode, size, why);
    if (failed(shape))
      return shapeFailure();
    // PyTorch's Upsample / interpolate coordinates (nearest: asymmetric, rounding down).
    StringRef coordinates = mode == "nearest" ? "asymmetric" : *alignCorners ? "align_corners" : "half_pixel";
    return nn::ResizeOp::create(builder, loc, tensorType(*shape), x, mode, ArrayRef<int64_t>(size), coordinates, "floor",
                                llvm::APFloat(-0.75f), false, DenseF32ArrayAttr())
        .getResult();
  }

  if (type == "lrn") {
    if (failed(requireRank(layer, x, true, 4, "a 4-D input [N, C, H, W]")))
      return failure();
    auto size = intAttr(attrs, "size", 1, 1);
    auto alpha = floatAttr(attrs, "alpha", 1e-4, 0.0, 1e9, false);
    auto beta = floatAttr(attrs, "beta", 0.75, 0.0, 1e9, false);
    auto bias = floatAttr(attrs, "bias", 1.0, 0.0, 1e9, false);
    if (failed(size) || failed(alpha) || failed(beta) || failed(bias))
      return failure();
    auto shape = nn::inferLRNShape(shapeOf(x), *size, why);
    if (failed(shape))
      return shapeFailure();
    return nn::LRNOp::create(builder, loc, tensorType(*shape), x, uint64_t(*size),
                             llvm::APFloat(static_cast<float>(*alpha)), llvm::APFloat(static_cast<float>(*beta)),
                             llvm::APFloat(static_cast<float>(*bias)))
        .getResult();
  }

  if (type == "pad") {
    const Attr *padsAttr = attrs.find("pads");
    std::string expected;
    auto pads = parseIntListValue(padsAttr->value, expected);
    if (failed(pads))
      return badValue(*padsAttr, expected);
    auto value = floatAttr(attrs, "value", 0.0, -1e30, 1e30, false);
    if (failed(value))
      return failure();
    auto shape = nn::inferPadShape(shapeOf(x), *pads, why);
    if (failed(shape))
      return shapeFailure();
    return nn::PadOp::create(builder, loc, tensorType(*shape), x, ArrayRef<int64_t>(*pads),
                             llvm::APFloat(static_cast<float>(*value)))
        .getResult();
  }

  if (type == "reshape") {
    const Attr *shapeAttr = attrs.find("shape");
    std::string expected;
    auto target = parseShapeValue(shapeAttr->value, expected);
    if (failed(target))
      return badValue(*shapeAttr, expected);
    auto shape = nn::inferReshapeShape(shapeOf(x), *target, why);
    if (failed(shape))
      return shapeFailure();
    return nn::ReshapeOp::create(builder, loc, tensorType(*shape), x, ArrayRef<int64_t>(*target)).getResult();
  }

  if (type == "batch_norm") {
    if (failed(requireRank(layer, x, false, 2, "an input of rank >= 2 with channels on dimension 1")))
      return failure();
    auto epsilon = floatAttr(attrs, "epsilon", 1e-5, 0.0, 1.0, false);
    if (failed(epsilon))
      return failure();
    nn::Shape channels = {shapeOf(x)[1]};
    ArrayRef<int64_t> stats[] = {channels, channels, channels, channels};
    auto shape = nn::inferBatchNormShape(shapeOf(x), stats, why);
    if (failed(shape))
      return shapeFailure();
    Value scale = param(name, ".weight", channels, loc);
    Value shift = param(name, ".bias", channels, loc);
    Value mean = param(name, ".running_mean", channels, loc);
    Value var = param(name, ".running_var", channels, loc);
    return nn::BatchNormOp::create(builder, loc, tensorType(*shape), x, scale, shift, mean, var,
                                   llvm::APFloat(static_cast<float>(*epsilon)))
        .getResult();
  }

  if (type == "relu")
    return nn::ReluOp::create(builder, loc, x.getType(), x).getResult();
  if (type == "tanh")
    return nn::TanhOp::create(builder, loc, x.getType(), x).getResult();
  if (type == "sigmoid")
    return nn::SigmoidOp::create(builder, loc, x.getType(), x).getResult();
  if (type == "leaky_relu") {
    auto alpha = floatAttr(attrs, "alpha", 0.01, 0.0, 1.0, false);
    if (failed(alpha))
      return failure();
    return nn::LeakyReluOp::create(builder, loc, x.getType(), x, llvm::APFloat(static_cast<float>(*alpha)))
        .getResult();
  }
  if (type == "clip") {
    auto lo = floatAttr(attrs, "min", 0.0, -1e30, 1e30, false);
    auto hi = floatAttr(attrs, "max", 6.0, -1e30, 1e30, false);
    if (failed(lo) || failed(hi))
      return failure();
    if (*lo > *hi)
      return badValue(*attrs.find(attrs.find("max") ? "max" : "min"), "min <= max");
    return nn::ClipOp::create(builder, loc, x.getType(), x, llvm::APFloat(static_cast<float>(*lo)),
                              llvm::APFloat(static_cast<float>(*hi)))
        .getResult();
  }
  if (type == "hard_sigmoid") {
    auto alpha = floatAttr(attrs, "alpha", 0.2, -1e6, 1e6, false);
    auto beta = floatAttr(attrs, "beta", 0.5, -1e6, 1e6, false);
    if (failed(alpha) || failed(beta))
      return failure();
    return nn::HardSigmoidOp::create(builder, loc, x.getType(), x, llvm::APFloat(static_cast<float>(*alpha)),
                                     llvm::APFloat(static_cast<float>(*beta)))
        .getResult();
  }
  if (type == "hard_swish")
    return nn::HardSwishOp::create(builder, loc, x.getType(), x).getResult();
  if (type == "dropout") {
    auto rate = floatAttr(attrs, "rate", 0.5, 0.0, 1.0, true);
    if (failed(rate))
      return failure();
    return nn::DropoutOp::create(builder, loc, x.getType(), x, llvm::APFloat(static_cast<float>(*rate)))
        .getResult();
  }

  if (type == "dense") {
    if (failed(requireRank(layer, x, true, 2, "a 2-D input [N, K]")))
      return failure();
    auto units = intAttr(attrs, "units", 1, 0);
    auto bias = boolAttr(attrs, "bias", true);
    if (failed(units) || failed(bias))
      return failure();
    nn::Shape weightShape = {*units, shapeOf(x)[1]};
    nn::Shape biasShape = {*units};
    auto shape = nn::inferDenseShape(shapeOf(x), weightShape,
                                     *bias ? std::optional<ArrayRef<int64_t>>(biasShape) : std::nullopt, why);
    if (failed(shape))
      return shapeFailure();
    Value w = param(name, ".weight", weightShape, loc);
    Value b = *bias ? param(name, ".bias", biasShape, loc) : Value();
    return nn::DenseOp::create(builder, loc, tensorType(*shape), x, w, b).getResult();
  }

  if (type == "flatten") {
    auto shape = nn::inferFlattenShape(shapeOf(x), why);
    if (failed(shape))
      return shapeFailure();
    return nn::FlattenOp::create(builder, loc, tensorType(*shape), x).getResult();
  }

  if (type == "softmax" || type == "log_softmax") {
    auto axis = axisAttr(attrs, shapeOf(x).size());
    if (failed(axis))
      return failure();
    if (type == "log_softmax")
      return nn::LogSoftmaxOp::create(builder, loc, x.getType(), x, uint64_t(*axis)).getResult();
    return nn::SoftmaxOp::create(builder, loc, x.getType(), x, uint64_t(*axis)).getResult();
  }

  if (type == "add" || type == "sub" || type == "mul" || type == "div" || type == "max" || type == "min") {
    auto shape = nn::inferBroadcastShape(shapeOf(inputs[0]), shapeOf(inputs[1]), why);
    if (failed(shape))
      return shapeFailure();
    Type result = tensorType(*shape);
    Value a = inputs[0], b = inputs[1];
    if (type == "add")
      return nn::AddOp::create(builder, loc, result, a, b).getResult();
    if (type == "sub")
      return nn::SubOp::create(builder, loc, result, a, b).getResult();
    if (type == "mul")
      return nn::MulOp::create(builder, loc, result, a, b).getResult();
    if (type == "div")
      return nn::DivOp::create(builder, loc, result, a, b).getResult();
    if (type == "max")
      return nn::MaxOp::create(builder, loc, result, a, b).getResult();
    return nn::MinOp::create(builder, loc, result, a, b).getResult();
  }

  if (type == "sum" || type == "mean") {
    SmallVector<ArrayRef<int64_t>> shapes;
    for (Value v : inputs)
      shapes.push_back(shapeOf(v));
    auto shape = nn::inferAllSameShape(shapes, why);
    if (failed(shape))
      return shapeFailure();
    if (type == "mean")
      return nn::MeanOp::create(builder, loc, tensorType(*shape), inputs).getResult();
    return nn::SumOp::create(builder, loc, tensorType(*shape), inputs).getResult();
  }

  assert(type == "concat" && "layer type missing from buildLayer");
  auto axis = axisAttr(attrs, shapeOf(x).size());
  if (failed(axis))
    return failure();
  SmallVector<ArrayRef<int64_t>> shapes;
  for (Value v : inputs)
    shapes.push_back(shapeOf(v));
  auto shape = nn::inferConcatShape(shapes, *axis, why);
  if (failed(shape))
    return shapeFailure();
  return nn::ConcatOp::create(builder, loc, tensorType(*shape), inputs, uint64_t(*axis)).getResult();
}

FailureOr<Value> Importer::buildActivation(const LayerStmt &layer, const Attrs &attrs, Value value) {
  const Attr *attr = attrs.find("activation");
  if (!attr || attr->value == "none")
    return value;
  StringRef kind = attr->value;
  Location loc = layerLoc((layer.result.text + "." + kind).str(), attr->valuePos);
  if (kind == "relu")
    return nn::ReluOp::create(builder, loc, value.getType(), value).getResult();
  if (kind == "tanh")
    return nn::TanhOp::create(builder, loc, value.getType(), value).getResult();
  if (kind == "sigmoid")
    return nn::SigmoidOp::create(builder, loc, value.getType(), value).getResult();
  if (kind == "leaky_relu") {
    auto alpha = floatAttr(attrs, "alpha", 0.01, 0.0, 1.0, false);
    if (failed(alpha))
      return failure();
    return nn::LeakyReluOp::create(builder, loc, value.getType(), value,
                                   llvm::APFloat(static_cast<float>(*alpha)))
        .getResult();
  }
  if (kind == "softmax") {
    if (shapeOf(value).size() < 2)
      return badValue(*attr, "an activation that fits a rank-1 value (softmax works on axis 1)");
    return nn::SoftmaxOp::create(builder, loc, value.getType(), value, uint64_t(1)).getResult();
  }
  static const StringRef kActivations[] = {"relu", "tanh", "sigmoid", "leaky_relu", "softmax", "none"};
  InFlightDiagnostic diag = error(attr->valuePos);
  diag << "unknown activation '" << kind << "'";
  if (std::optional<StringRef> guess = closestName(kind, kActivations))
    diag.attachNote() << "did you mean '" << *guess << "'?";
  diag.attachNote() << "activation is one of: " << joinNames(kActivations);
  return failure();
}

LogicalResult Importer::importLayer(const LayerStmt &layer) {
  const LayerSchema *schema = lookupLayerSchema(layer.type.text);
  if (!schema) {
    SmallVector<StringRef> types;
    for (const LayerSchema &s : allLayerSchemas())
      types.push_back(s.type);
    InFlightDiagnostic diag = error(layer.type.pos);
    diag << "unknown layer type '" << layer.type.text << "'";
    if (std::optional<StringRef> guess = closestName(layer.type.text, types))
      diag.attachNote() << "did you mean '" << *guess << "'?";
    diag.attachNote() << "known layer types: " << joinNames(types);
    return failure();
  }
  Attrs attrs;
  if (failed(checkAttrs(layer, *schema, attrs)))
    return failure();
  SmallVector<Value> inputs;
  for (const Name &operand : layer.operands) {
    FailureOr<Value> v = use(operand);
    if (failed(v))
      return failure();
    inputs.push_back(*v);
  }
  FailureOr<Value> result = buildLayer(layer, attrs, inputs, layerLoc(layer.result.text, layer.result.pos));
  if (failed(result))
    return failure();
  FailureOr<Value> activated = buildActivation(layer, attrs, *result);
  if (failed(activated))
    return failure();
  return define(layer.result, *activated);
}

OwningOpRef<ModuleOp> Importer::run(const Program &program) {
  if (options.batch && *options.batch < 1) {
    emitError(UnknownLoc::get(&context)) << "batch size must be positive, got " << *options.batch;
    return nullptr;
  }
  // Every input is an argument of @forward, in the order of the `input` lines.
  SmallVector<Type> argTypes;
  SmallVector<Location> argLocs;
  for (const Statement &stmt : program.statements) {
    const Name *defined = stmt.kind == Statement::Kind::Input   ? &stmt.input.name
                          : stmt.kind == Statement::Kind::Layer ? &stmt.layer.result
                                                                : nullptr;
    if (defined)
      definedAnywhere.try_emplace(defined->text, defined->pos);
    if (stmt.kind != Statement::Kind::Input)
      continue;
    SmallVector<int64_t> shape(stmt.input.shape.begin(), stmt.input.shape.end());
    if (options.batch)
      shape[0] = *options.batch;
    argTypes.push_back(tensorType(shape));
    argLocs.push_back(layerLoc(stmt.input.name.text, stmt.input.name.pos));
  }

  Location fileLoc = at(Pos{1, 1});
  OwningOpRef<ModuleOp> module = ModuleOp::create(fileLoc);
  builder.setInsertionPointToEnd(module->getBody());
  auto func = func::FuncOp::create(builder, fileLoc, "forward", builder.getFunctionType(argTypes, {}));
  Block *entry = builder.createBlock(&func.getBody(), {}, argTypes, argLocs);
  builder.setInsertionPointToEnd(entry);

  unsigned argIndex = 0;
  const OutputStmt *firstOutput = nullptr;
  SmallVector<const Name *> outputNames;
  for (const Statement &stmt : program.statements) {
    switch (stmt.kind) {
    case Statement::Kind::Input:
      func.setArgAttr(argIndex, kNameAttr, builder.getStringAttr(stmt.input.name.text));
      if (failed(define(stmt.input.name, entry->getArgument(argIndex++))))
        return nullptr;
      break;
    case Statement::Kind::Layer:
      if (failed(importLayer(stmt.layer)))
        return nullptr;
      break;
    case Statement::Kind::Output:
      if (!firstOutput)
        firstOutput = &stmt.output;
      for (const Name &name : stmt.output.names)
        outputNames.push_back(&name);
      break;
    }
  }
  if (argIndex == 0) {
    InFlightDiagnostic diag = error(Pos{1, 1});
    diag << "the model has no `input` line";
    diag.attachNote() << "declare each input with its NCHW shape, e.g. `input x: 1x3x224x224`";
    return nullptr;
  }
  if (!firstOutput) {
    const Statement &last = program.statements.back();
    const Name &lastName = last.kind == Statement::Kind::Input ? last.input.name : last.layer.result;
    InFlightDiagnostic diag = error(lastName.pos);
    diag << "the model has no `output` line";
    diag.attachNote() << "name the values the model returns, e.g. `output " << lastName.text << "`";
    return nullptr;
  }

  // Outputs may be listed anywhere in the file: they are resolved once everything is defined.
  SmallVector<Value> results;
  SmallVector<Type> resultTypes;
  llvm::StringMap<Pos> listed;
  for (const Name *name : outputNames) {
    auto [it, inserted] = listed.try_emplace(name->text, name->pos);
    if (!inserted) {
      InFlightDiagnostic diag = error(name->pos);
      diag << "'" << name->text << "' is listed as an output twice";
      diag.attachNote(at(it->second)) << "first listed here; delete one of them";
      return nullptr;
    }
    FailureOr<Value> v = use(*name);
    if (failed(v))
      return nullptr;
    results.push_back(*v);
    resultTypes.push_back(v->getType());
  }
  func::ReturnOp::create(builder, at(firstOutput->names.front().pos), results);
  func.setFunctionType(builder.getFunctionType(argTypes, resultTypes));
  for (auto [i, name] : llvm::enumerate(outputNames))
    func.setResultAttr(i, kNameAttr, builder.getStringAttr(name->text));

  // Warnings in source order (StringMap order is unspecified).
  SmallVector<std::pair<Pos, StringRef>> unused;
  for (auto &entry : scope)
    if (!entry.second.used)
      unused.push_back({entry.second.pos, entry.getKey()});
  llvm::sort(unused, [](const auto &a, const auto &b) {
    return std::tie(a.first.line, a.first.col) < std::tie(b.first.line, b.first.col);
  });
  for (auto [pos, name] : unused) {
    InFlightDiagnostic diag = emitWarning(at(pos));
    diag << "'" << name << "' is never used";
    diag.attachNote() << "use it as an input of a later layer, list it in `output`, or delete the line";
  }

  if (failed(verify(*module)))
    return nullptr;
  return module;
}

} // namespace

namespace kiln {

OwningOpRef<ModuleOp> importKilnText(llvm::SourceMgr &sourceMgr, MLIRContext &context,
                                     const TextImportOptions &options) {
  context.loadDialect<nn::NNDialect, func::FuncDialect>();
  const llvm::MemoryBuffer *buffer = sourceMgr.getMemoryBuffer(sourceMgr.getMainFileID());
  StringRef file = buffer->getBufferIdentifier();
  FailureOr<Program> program = parseProgram(buffer->getBuffer(), file, context);
  if (failed(program))
    return nullptr;
  return Importer(context, file, options).run(*program);
}

} // namespace kiln
