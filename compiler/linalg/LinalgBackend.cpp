// The linalg backend's front half (see LinalgBackend.h): remaining nn.params become constants, nn
// becomes linalg (convert-nn-to-linalg), and each compiled function (@forward, with --train also
// @train_step) becomes a bare-pointer entry function.
#include "compiler/linalg/LinalgBackend.h"
#include "compiler/linalg/Passes.h"

#include "kiln/Dialect/NN/NNOps.h"
#include "kiln/Dialect/NN/ShapeRules.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"

using namespace mlir;

namespace kiln {

void registerLinalgBackendDialects(DialectRegistry &registry) {
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerAllToLLVMIRTranslations(registry);
}

/// Collects the diagnostics emitted while alive into one string (for `error`).
struct DiagnosticCollector {
  std::string text;
  ScopedDiagnosticHandler handler;
  explicit DiagnosticCollector(MLIRContext *ctx)
      : handler(ctx, [this](Diagnostic &diag) {
          std::string where;
          llvm::raw_string_ostream os(where);
          diag.getLocation().print(os);
          text += (text.empty() ? "" : "; ") + os.str() + ": " + diag.str();
          return success();
        }) {}
};

/// Replaces every nn.param with an arith.constant holding its data.
static LogicalResult bindParameters(func::FuncOp fn, const WeightStore &weights, std::string &error) {
  LogicalResult result = success();
  fn.walk([&](nn::ParamOp param) {
    auto type = cast<RankedTensorType>(param.getType());
    std::vector<int64_t> shape(type.getShape().begin(), type.getShape().end());
    auto found = weights.find(param.getName().str());
    if (found == weights.end()) {
      error = "no weights for parameter '" + param.getName().str() + "'";
      result = failure();
      return WalkResult::interrupt();
    }
    if (found->second.shape != shape || found->second.size() != HostTensor::numElements(shape)) {
      error = "parameter '" + param.getName().str() + "' is declared " + nn::formatShape(shape) +
              " but its data is " + nn::formatShape(found->second.shape);
      result = failure();
      return WalkResult::interrupt();
    }
    OpBuilder b(param);
    auto data = DenseElementsAttr::get(type, ArrayRef<float>(found->second.data));
    param.replaceAllUsesWith(arith::ConstantOp::create(b, param.getLoc(), data).getResult());
    param.erase();
    return WalkResult::advance();
  });
  return result;
}

static std::vector<int64_t> shapeOf(Type type) {
  auto tensor = cast<RankedTensorType>(type);
  return std::vector<int64_t>(tensor.getShape().begin(), tensor.getShape().end());
}

/// Moves the body of `fn` into `name(!llvm.ptr, memref inputs..., memref outputs...) -> i32`.
static void makeEntryFunction(ModuleOp module, func::FuncOp fn, const std::string &name) {
  MLIRContext *ctx = module.getContext();
  Location loc = fn.getLoc();
  Block &body = fn.getBody().front();
  auto ret = cast<func::ReturnOp>(body.getTerminator());
  auto memrefOf = [](Type t) {
    auto tensor = cast<RankedTensorType>(t);
    return MemRefType::get(tensor.getShape(), tensor.getElementType());
  };
  SmallVector<Type> args{LLVM::LLVMPointerType::get(ctx)};
  for (Type t : fn.getArgumentTypes())
    args.push_back(memrefOf(t));
  for (Type t : fn.getResultTypes())
    args.push_back(memrefOf(t));
  OpBuilder b(fn);
  auto entry = func::FuncOp::create(b, loc, name, FunctionType::get(ctx, args, {b.getI32Type()}));
  Block *block = entry.addEntryBlock();
  b.setInsertionPointToStart(block);
  for (BlockArgument arg : body.getArguments()) {
    Value tensor = bufferization::ToTensorOp::create(b, loc, arg.getType(), block->getArgument(arg.getArgNumber() + 1),
                                                     b.getUnitAttr());
    arg.replaceAllUsesWith(tensor);
  }
  block->getOperations().splice(block->end(), body.getOperations());
  b.setInsertionPoint(ret);
  unsigned firstOut = 1 + fn.getNumArguments();
  for (auto [i, value] : llvm::enumerate(ret.getOperands()))
    bufferization::MaterializeInDestinationOp::create(b, loc, Type(), value, block->getArgument(firstOut + i),
                                                      b.getUnitAttr(), b.getUnitAttr());
  Value zero = arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(0));
  func::ReturnOp::create(b, loc, ValueRange{zero});
  ret.erase();
  fn.erase();
}

/// Checks that `fn` takes and returns static f32 tensors, and describes them.
static LogicalResult describeEntry(func::FuncOp fn, LinalgInterface &interface, std::string &error) {
  interface = LinalgInterface();
  for (unsigned i = 0; i < fn.getNumArguments(); ++i) {
    auto type = dyn_cast<RankedTensorType>(fn.getArgumentTypes()[i]);
    if (!type || !type.getElementType().isF32() || !type.hasStaticShape()) {
      error = "argument " + std::to_string(i) + " of @" + fn.getSymName().str() + " must be a static f32 tensor";
      return failure();
    }
    auto name = fn.getArgAttrOfType<StringAttr>(i, "nn.name");
    interface.inputNames.push_back(name ? name.str() : "in_" + std::to_string(i));
    interface.inputShapes.push_back(shapeOf(type));
  }
  for (unsigned i = 0; i < fn.getNumResults(); ++i) {
    auto name = fn.getResultAttrOfType<StringAttr>(i, "nn.name");
    interface.outputNames.push_back(name ? name.str() : "out_" + std::to_string(i));
    interface.outputShapes.push_back(shapeOf(fn.getResultTypes()[i]));
  }
  if (interface.outputNames.empty()) {
    error = "@" + fn.getSymName().str() + " returns nothing";
    return failure();
  }
  return success();
}

LogicalResult lowerToLinalg(ModuleOp module, const WeightStore &weights, ArrayRef<LinalgEntry> entries,
                            LinalgInterface &interface, std::string &error) {
  module.getContext()->loadDialect<arith::ArithDialect, bufferization::BufferizationDialect, LLVM::LLVMDialect>();
  SmallVector<func::FuncOp> functions;
  for (const LinalgEntry &entry : entries) {
    auto fn = module.lookupSymbol<func::FuncOp>(entry.function);
    if (!fn || fn.isExternal()) {
      error = "the module has no @" + entry.function + " function to compile";
      return failure();
    }
    LinalgInterface described;
    if (failed(describeEntry(fn, described, error)) || failed(bindParameters(fn, weights, error)))
      return failure();
    if (functions.empty())
      interface = described;
    functions.push_back(fn);
  }

  DiagnosticCollector diagnostics(module.getContext());
  PassManager pm(module.getContext());
  pm.addNestedPass<func::FuncOp>(createConvertNNToLinalgPass());
  if (failed(pm.run(module))) {
    error = "convert-nn-to-linalg failed: " + diagnostics.text;
    return failure();
  }
  for (auto [fn, entry] : llvm::zip(functions, entries))
    makeEntryFunction(module, fn, entry.symbol);
  return success();
}

} // namespace kiln
