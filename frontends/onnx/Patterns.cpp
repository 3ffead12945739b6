// Subgraphs recognised as one composition before import: PyTorch's GELU export
// (x * (Erf(x / sqrt 2) + 1) * 0.5) becomes nn.unary gelu, and its LayerNorm export (ReduceMean,
// Sub, Pow, ReduceMean, Add, Sqrt, Div, Mul, Add) the normalize() composition that
// LayerNormalization also builds. A match needs every inner value to be read only inside it.
#include "frontends/onnx/Importer.h"

#include <cmath>

namespace kiln::onnxfe {

std::optional<int> Importer::innerProducer(const std::string &value, StringRef type, ArrayRef<int> readers) {
  auto producer = producers.find(value);
  auto reading = consumers.find(value);
  if (producer == producers.end() || opType(producer->second) != type || graphOutputs.count(value) ||
      fusedNodes.count(producer->second) || reading == consumers.end() ||
      !llvm::all_of(reading->second, [&](int r) { return llvm::is_contained(readers, r); }))
    return std::nullopt;
  return producer->second;
}

std::optional<float> Importer::scalarConstant(const std::string &value) {
  std::optional<kiln::HostTensor> t = floatConstant(value);
  if (!t || t->size() != 1)
    return std::nullopt;
  return t->data[0];
}

/// Which operand (0 or 1) of binary node i is `value`, if either.
static std::optional<int> operandIndex(const onnx::NodeProto &n, const std::string &value) {
  for (int k = 0; k < 2 && k < n.input_size(); ++k)
    if (n.input(k) == value)
      return k;
  return std::nullopt;
}

static bool near(std::optional<float> v, double expected) {
  return v && std::fabs(*v - expected) <= 1e-6 * std::fabs(expected);
}

/// Mul(Mul(x, Add(Erf(Div(x, sqrt 2)), 1)), 0.5), either operand order; node i is the outer Mul.
std::optional<Pattern> Importer::matchGelu(int i) {
  if (opType(i) != "Mul" || node(i).input_size() != 2)
    return std::nullopt;
  for (int half = 0; half < 2; ++half) {
    if (!near(scalarConstant(node(i).input(half)), 0.5))
      continue;
    auto mul = innerProducer(node(i).input(1 - half), "Mul", {i});
    for (int k = 0; mul && k < 2; ++k) {
      const std::string &x = node(*mul).input(k);
      auto add = innerProducer(node(*mul).input(1 - k), "Add", {*mul});
      if (!add)
        continue;
      for (int e = 0; e < 2; ++e) {
        auto erf = innerProducer(node(*add).input(e), "Erf", {*add});
        auto div = erf ? innerProducer(node(*erf).input(0), "Div", {*erf}) : std::nullopt;
        if (!div || !near(scalarConstant(node(*add).input(1 - e)), 1.0) || node(*div).input(0) != x ||
            !near(scalarConstant(node(*div).input(1)), std::sqrt(2.0)))
          continue;
        for (int inner : {*mul, *add, *erf, *div})
          fusedNodes.insert(inner);
        return Pattern{Pattern::Gelu, {*mul, k}, {}, 0.0f, std::nullopt, std::nullopt};
      }
    }
  }
  return std::nullopt;
}

std::optional<std::vector<int64_t>> Importer::meanAxes(int i) {
  std::string error;
  auto keep = NodeAttrs(node(i)).getInt("keepdims", 1, error);
  if (failed(keep) || !*keep)
    return std::nullopt;
  if (hasInput(i, 1)) {
    auto c = constants.find(node(i).input(1));
    FailureOr<std::vector<int64_t>> axes = c == constants.end() ? FailureOr<std::vector<int64_t>>(failure()) : toInt64Values(*c->second, error);
    return succeeded(axes) ? std::optional<std::vector<int64_t>>(*axes) : std::nullopt;
  }
  auto axes = NodeAttrs(node(i)).getInts("axes", error);
  return succeeded(axes) ? *axes : std::nullopt;
}

/// Div(d, Sqrt(Add(ReduceMean(Pow(d, 2)), eps))) with d = Sub(x, ReduceMean(x)), same axes;
/// node i is the Div. A following Mul and Add (the affine part) join when they are its only readers.
std::optional<Pattern> Importer::matchLayerNorm(int i) {
  if (opType(i) != "Div")
    return std::nullopt;
  auto sqrt = innerProducer(node(i).input(1), "Sqrt", {i});
  auto add = sqrt ? innerProducer(node(*sqrt).input(0), "Add", {*sqrt}) : std::nullopt;
  std::optional<int> variance;
  std::optional<float> epsilon;
  for (int k = 0; add && k < 2 && !variance; ++k) {
    variance = innerProducer(node(*add).input(k), "ReduceMean", {*add});
    epsilon = scalarConstant(node(*add).input(1 - k));
  }
  auto pow = variance ? innerProducer(node(*variance).input(0), "Pow", {*variance}) : std::nullopt;
  if (!pow || !epsilon || !near(scalarConstant(node(*pow).input(1)), 2.0) || node(*pow).input(0) != node(i).input(0))
    return std::nullopt;
  auto sub = innerProducer(node(i).input(0), "Sub", {i, *pow});
  auto mean = sub ? innerProducer(node(*sub).input(1), "ReduceMean", {*sub}) : std::nullopt;
  if (!mean || node(*mean).input(0) != node(*sub).input(0))
    return std::nullopt;
  auto axes = meanAxes(*mean), varianceAxes = meanAxes(*variance);
  if (!axes || axes->empty() || axes != varianceAxes)
    return std::nullopt;
  Pattern p{Pattern::LayerNorm, {*sub, 0}, SmallVector<int64_t>(axes->begin(), axes->end()), *epsilon,
            std::nullopt, std::nullopt};
  for (int inner : {*mean, *sub, *pow, *variance, *add, *sqrt})
    fusedNodes.insert(inner);
  // The affine part: Mul by a scale, then Add of a bias, each the only reader of what it reads.
  int last = i;
  auto soleReader = [&](int n, StringRef type) -> std::optional<int> {
    auto r = consumers.find(node(n).output(0));
    if (r == consumers.end() || r->second.size() != 1 || graphOutputs.count(node(n).output(0)) ||
        opType(r->second.front()) != type)
      return std::nullopt;
    return r->second.front();
  };
  if (auto mul = soleReader(last, "Mul")) {
    fusedNodes.insert(last);
    p.scale = NodeInput{*mul, 1 - *operandIndex(node(*mul), node(last).output(0))};
    last = *mul;
    if (auto bias = soleReader(last, "Add")) {
      fusedNodes.insert(last);
      p.bias = NodeInput{*bias, 1 - *operandIndex(node(*bias), node(last).output(0))};
      last = *bias;
    }
  }
  patterns[last] = p;
  return p;
}

void Importer::recognizePatterns() {
  for (int i = 0; i < graph().node_size(); ++i) {
    if (fusedNodes.count(i))
      continue;
    if (auto gelu = matchGelu(i))
      patterns[i] = *gelu;
    else
      (void)matchLayerNorm(i); // records itself at its last node
  }
}

FailureOr<Value> Importer::importPattern(int i) {
  const Pattern &p = patterns.find(i)->second;
  FailureOr<Value> x = operand(p.input.first, p.input.second, "input");
  if (failed(x))
    return failure();
  if (p.kind == Pattern::Gelu)
    return unary(i, "gelu", *x);
  std::string error;
  auto axes = normalizeAxes(p.axes, shapeOf(*x).size(), error);
  if (failed(axes))
    return fail(i, error);
  FailureOr<Value> scale = p.scale ? operand(p.scale->first, p.scale->second, "scale") : FailureOr<Value>(Value());
  FailureOr<Value> bias = p.bias ? operand(p.bias->first, p.bias->second, "bias") : FailureOr<Value>(Value());
  if (failed(scale) || failed(bias))
    return failure();
  return normalize(i, *x, *axes, p.epsilon, *scale, *bias);
}

} // namespace kiln::onnxfe
