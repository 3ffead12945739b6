// Seeded parameter initialisation and binding of weights to a module's nn.param ops. The scheme
// (documented in WeightStore.h and docs/weights.md) gives the same bits on every platform.
#include "compiler/weights/WeightStore.h"

#include "kiln/Dialect/NN/NNOps.h"
#include "kiln/Dialect/NN/ShapeRules.h"

#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

using namespace mlir;

namespace kiln {
namespace {

uint64_t fnv1a64(llvm::StringRef text) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

uint64_t splitmix64(uint64_t &state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

int64_t product(llvm::ArrayRef<int64_t> dims) {
  int64_t p = 1;
  for (int64_t d : dims)
    p *= d;
  return p;
}

/// fan_in of a conv filter [F, C/groups, KH, KW] or a dense weight [M, K]: all but dimension 0.
int64_t fanInOf(Value weight) {
  return product(cast<RankedTensorType>(weight.getType()).getShape().drop_front());
}

InitRule weightRule(Value weight) { return InitRule::uniformIn(std::sqrt(6.0 / double(fanInOf(weight)))); }
InitRule biasRule(Value weight) { return InitRule::uniformIn(1.0 / std::sqrt(double(fanInOf(weight)))); }

/// The rule for operand `index` of `user`, or the default for any other use.
InitRule ruleForUse(Operation *user, unsigned index) {
  return llvm::TypeSwitch<Operation *, InitRule>(user)
      .Case<nn::Conv2DOp>([&](nn::Conv2DOp op) {
        return index == 1 ? weightRule(op.getFilter()) : index == 2 ? biasRule(op.getFilter()) : InitRule();
      })
      .Case<nn::DenseOp>([&](nn::DenseOp op) {
        return index == 1 ? weightRule(op.getWeight()) : index == 2 ? biasRule(op.getWeight()) : InitRule();
      })
      .Case<nn::BatchNormOp>([&](nn::BatchNormOp) {
        // Operands: input, scale, shift, mean, variance.
        return index == 1 || index == 4 ? InitRule::constant(1.0f)
               : index == 0             ? InitRule()
                                        : InitRule::constant(0.0f);
      })
      .Default([](Operation *) { return InitRule(); });
}

std::string shapeText(llvm::ArrayRef<int64_t> shape) { return "[" + nn::formatShape(shape) + "]"; }

} // namespace

InitRule initRuleFor(Operation *paramOp) {
  // A parameter shared by several layers has the same shape, hence the same rule, in each.
  for (OpOperand &use : paramOp->getResult(0).getUses())
    if (isa<nn::Conv2DOp, nn::DenseOp, nn::BatchNormOp>(use.getOwner()) && use.getOperandNumber() > 0)
      return ruleForUse(use.getOwner(), use.getOperandNumber());
  return InitRule();
}

HostTensor initParameter(llvm::StringRef name, llvm::ArrayRef<int64_t> shape, const InitRule &rule, uint64_t seed) {
  HostTensor t(std::vector<int64_t>(shape.begin(), shape.end()));
  if (!rule.uniform) {
    std::fill(t.data.begin(), t.data.end(), rule.value);
    return t;
  }
  uint64_t state = seed ^ fnv1a64(name);
  for (float &v : t.data) {
    double u = double(splitmix64(state) >> 40) * 0x1p-24; // exact: 24 bits
    v = static_cast<float>((2.0 * u - 1.0) * rule.bound);  // 2u - 1 is exact too
  }
  return t;
}

LogicalResult bindWeights(ModuleOp module, const WeightStore *given, uint64_t seed, WeightStore &store,
                          std::string &error) {
  WeightStore bound;
  std::vector<std::string> problems;
  module.walk([&](nn::ParamOp op) {
    std::string name = op.getName().str();
    llvm::ArrayRef<int64_t> shape = op.getType().getShape();
    auto seen = bound.find(name);
    if (seen != bound.end()) {
      if (llvm::ArrayRef<int64_t>(seen->second.shape) != shape)
        problems.push_back("parameter '" + name + "' is declared twice with different shapes " +
                           shapeText(seen->second.shape) + " and " + shapeText(shape));
      return;
    }
    if (given) {
      auto it = given->find(name);
      if (it != given->end()) {
        if (llvm::ArrayRef<int64_t>(it->second.shape) != shape) {
          problems.push_back("parameter '" + name + "': the model expects shape " + shapeText(shape) +
                             " but the weights have " + shapeText(it->second.shape));
        } else if (it->second.size() != HostTensor::numElements(it->second.shape)) {
          problems.push_back("parameter '" + name + "': " + std::to_string(it->second.size()) +
                             " values do not fill shape " + shapeText(shape));
        }
        bound.emplace(name, it->second);
        return;
      }
    }
    bound.emplace(name, initParameter(name, shape, initRuleFor(op), seed));
  });
  if (given) {
    std::string extra;
    for (const auto &entry : *given)
      if (!bound.count(entry.first))
        extra += (extra.empty() ? "'" : ", '") + entry.first + "'";
    if (!extra.empty())
      problems.push_back("the weights contain parameters the model does not use (misspelt layer name?): " + extra);
  }
  if (!problems.empty()) {
    error = problems.front();
    for (size_t i = 1; i < problems.size(); ++i)
      error += "; " + problems[i];
    return failure();
  }
  store = std::move(bound);
  return success();
}

} // namespace kiln
