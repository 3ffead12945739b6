// Layer signatures: an op written as its name, operand shapes and attributes, so that two layers
// with equal signatures lower to equal Halide code (kiln tune keys its records by them); and the
// signature of a whole function, which keys kiln tune's whole-pipeline records.
#include "compiler/halide/Lowering.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Operation.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdio>

using namespace mlir;

namespace kiln::halide {

static void printDims(llvm::ArrayRef<int64_t> dims, llvm::raw_ostream &os) {
  for (size_t i = 0; i < dims.size(); ++i)
    os << (i ? "x" : "") << dims[i];
}

std::string opSignature(Operation *op) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << op->getName().stripDialect() << "(";
  for (auto [i, operand] : llvm::enumerate(op->getOperands())) {
    os << (i ? "," : "");
    if (auto type = dyn_cast<RankedTensorType>(operand.getType()))
      printDims(type.getShape(), os);
    else
      os << operand.getType();
  }
  os << ")";
  for (NamedAttribute attr : op->getAttrDictionary()) {
    os << " " << attr.getName().strref() << "=";
    Attribute value = attr.getValue();
    if (auto dims = dyn_cast<DenseI64ArrayAttr>(value))
      printDims(dims.asArrayRef(), os);
    else if (auto integer = dyn_cast<IntegerAttr>(value))
      os << integer.getValue();
    else if (auto real = dyn_cast<FloatAttr>(value))
      os << llvm::format("%g", real.getValueAsDouble());
    else if (auto string = dyn_cast<StringAttr>(value))
      os << string.getValue();
    else
      value.print(os);
  }
  return text;
}

std::string layerName(Operation *op) {
  std::string name;
  op->getLoc()->walk([&](Location inner) {
    if (auto named = dyn_cast<NameLoc>(inner)) {
      name = named.getName().str();
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return name.empty() ? op->getName().stripDialect().str() : name;
}

} // namespace kiln::halide

namespace kiln {

std::string pipelineSignature(func::FuncOp fn) {
  std::string text;
  llvm::raw_string_ostream os(text);
  fn.print(os); // without locations: layer names do not change the code
  uint64_t hash = 14695981039346656037ull; // FNV-1a, stable across runs and machines
  for (unsigned char c : text)
    hash = (hash ^ c) * 1099511628211ull;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
  size_t ops = fn.getBody().front().getOperations().size();
  return "pipeline " + std::string(hex) + " (" + std::to_string(ops) + " ops)";
}

} // namespace kiln
