// Cutting a function into parts (see SplitFunction.h).
#include "compiler/passes/SplitFunction.h"

#include "kiln/Dialect/NN/NNOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SetVector.h"

using namespace mlir;

namespace kiln {
namespace {

/// Ops that begin a group the backends fuse elementwise consumers into.
bool startsFusedGroup(Operation *op) {
  return isa<nn::Conv2DOp, nn::ConvTranspose2DOp, nn::Conv2DGradFilterOp, nn::DenseOp, nn::DenseGradInputOp,
             nn::DenseGradWeightOp, nn::MatMulOp>(op);
}

bool onlyReturned(Operation *op) {
  return op->getNumResults() > 0 &&
         llvm::all_of(op->getUsers(), [](Operation *user) { return isa<func::ReturnOp>(user); });
}

/// The part of each op with operands: consecutive parts of about `opsPerPart` ops, ops whose
/// results are only returned in the earliest part that has their operands. Returns the count.
size_t assignParts(Block &body, size_t opsPerPart, llvm::DenseMap<Operation *, size_t> &partOf) {
  size_t current = 0, count = 0;
  for (Operation &op : body.without_terminator()) {
    if (op.getNumOperands() == 0)
      continue;
    if (onlyReturned(&op)) {
      size_t part = 0;
      for (Value operand : op.getOperands())
        if (auto found = partOf.find(operand.getDefiningOp()); found != partOf.end())
          part = std::max(part, found->second);
      partOf[&op] = part;
      continue;
    }
    if (opsPerPart && count >= opsPerPart && startsFusedGroup(&op)) {
      ++current;
      count = 0;
    }
    partOf[&op] = current;
    ++count;
  }
  return current + 1;
}

} // namespace

SplitFunction splitFunction(func::FuncOp fn, size_t opsPerPart) {
  Block &body = fn.getBody().front();
  Operation *terminator = body.getTerminator();
  llvm::DenseMap<Operation *, size_t> partOf;
  const size_t numParts = assignParts(body, opsPerPart, partOf);
  // The part that returns each value: its defining op's, else (an argument or an operand-less
  // op) the last one.
  auto returningPart = [&](Value value) {
    auto found = partOf.find(value.getDefiningOp());
    return found == partOf.end() ? numParts - 1 : found->second;
  };
  auto definedElsewhere = [&](Value value, size_t part) {
    Operation *def = value.getDefiningOp();
    return !def || (def->getNumOperands() > 0 && partOf.lookup(def) != part);
  };

  SplitFunction split;
  llvm::DenseMap<Value, PartValue> location; // where a value crossing a cut is kept
  for (BlockArgument arg : body.getArguments())
    location.insert({arg, {PartValue::Kind::Argument, arg.getArgNumber()}});
  OpBuilder builder(fn.getContext());
  builder.setInsertionPointAfter(fn);
  for (size_t part = 0; part < numParts; ++part) {
    SmallVector<Operation *> ops;
    for (Operation &op : body.without_terminator())
      if (auto found = partOf.find(&op); found != partOf.end() && found->second == part)
        ops.push_back(&op);

    // Inputs: values from outside the part; operand-less ops it uses are copied in.
    llvm::SetVector<Value> inputs;
    llvm::SetVector<Operation *> copied;
    auto use = [&](Value value) {
      if (definedElsewhere(value, part))
        inputs.insert(value);
      else if (value.getDefiningOp()->getNumOperands() == 0)
        copied.insert(value.getDefiningOp());
    };
    for (Operation *op : ops)
      for (Value operand : op->getOperands())
        use(operand);

    // Outputs: the function's results this part returns, then values later parts read.
    FunctionPart result;
    SmallVector<Value> outputs;
    for (OpOperand &returned : terminator->getOpOperands())
      if (returningPart(returned.get()) == part) {
        if (part == numParts - 1)
          use(returned.get());
        result.results.push_back({PartValue::Kind::Result, returned.getOperandNumber()});
        outputs.push_back(returned.get());
        location.insert({returned.get(), result.results.back()});
      }
    for (Operation *op : ops)
      for (Value value : op->getResults()) {
        bool readLater = llvm::any_of(value.getUsers(), [&](Operation *user) {
          return user != terminator && partOf.lookup(user) != part;
        });
        if (!readLater || location.count(value))
          continue;
        PartValue temporary{PartValue::Kind::Temporary, split.temporaries.size()};
        split.temporaries.push_back(cast<RankedTensorType>(value.getType()).getShape().vec());
        result.results.push_back(temporary);
        outputs.push_back(value);
        location.insert({value, temporary});
      }

    SmallVector<Type> inputTypes, outputTypes;
    for (Value input : inputs) {
      inputTypes.push_back(input.getType());
      result.arguments.push_back(location.at(input));
    }
    for (Value output : outputs)
      outputTypes.push_back(output.getType());
    result.fn = func::FuncOp::create(builder, fn.getLoc(), (fn.getName() + "_part" + llvm::Twine(part)).str(),
                                     builder.getFunctionType(inputTypes, outputTypes));
    Block *entry = result.fn.addEntryBlock();
    builder.setInsertionPointToStart(entry);
    IRMapping mapping;
    for (auto [input, arg] : llvm::zip(inputs, entry->getArguments()))
      mapping.map(input, arg);
    for (Operation *op : copied)
      builder.clone(*op, mapping);
    for (Operation *op : ops)
      builder.clone(*op, mapping);
    SmallVector<Value> mapped;
    for (Value output : outputs)
      mapped.push_back(mapping.lookup(output));
    func::ReturnOp::create(builder, fn.getLoc(), mapped);
    builder.setInsertionPointAfter(result.fn);
    split.parts.push_back(std::move(result));
  }
  return split;
}

} // namespace kiln
