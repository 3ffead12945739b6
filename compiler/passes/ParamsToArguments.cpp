// nn-params-to-arguments: makes every nn.param of @forward a trailing function argument, so that
// parameters become run-time data (training libraries keep them in the context); a `constant`
// nn.param stays an op (data compiled in, never trained).
// Expects a verified nn module with func @forward; guarantees one argument per distinct parameter
// name, in order of first appearance, carrying the name as the argument attribute `nn.param`.
#include "compiler/passes/Passes.h"

#include "kiln/Dialect/NN/NNOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include "llvm/ADT/StringMap.h"

using namespace mlir;

namespace kiln {
namespace {

struct ParamsToArgumentsPass : PassWrapper<ParamsToArgumentsPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(ParamsToArgumentsPass)

  StringRef getArgument() const override { return "nn-params-to-arguments"; }
  StringRef getDescription() const override {
    return "Turn every nn.param of @forward that is not constant into a function argument named by `nn.param`";
  }

  void runOnOperation() override {
    auto forward = getOperation().lookupSymbol<func::FuncOp>("forward");
    if (!forward) {
      getOperation().emitError("nn-params-to-arguments: the module has no func @forward");
      return signalPassFailure();
    }
    if (failed(convert(forward)))
      signalPassFailure();
  }

  static LogicalResult convert(func::FuncOp forward) {
    Block &body = forward.getBody().front();
    llvm::StringMap<Value> argumentOf;
    SmallVector<nn::ParamOp> params(llvm::make_filter_range(body.getOps<nn::ParamOp>(),
                                                            [](nn::ParamOp param) { return !param.getConstant(); }));
    for (nn::ParamOp param : params) {
      Value &arg = argumentOf[param.getName()];
      if (!arg) {
        unsigned index = forward.getNumArguments();
        auto attrs = DictionaryAttr::get(param.getContext(), {NamedAttribute(StringAttr::get(param.getContext(), "nn.param"),
                                                                             param.getNameAttr())});
        if (failed(forward.insertArgument(index, param.getType(), attrs, param.getLoc())))
          return param.emitError("nn-params-to-arguments: could not add an argument for '") << param.getName() << "'";
        arg = forward.getArgument(index);
      }
      if (arg.getType() != param.getType())
        return param.emitError("parameter '") << param.getName() << "' is used with two shapes";
      param.replaceAllUsesWith(arg);
      param.erase();
    }
    return success();
  }
};

} // namespace

std::unique_ptr<Pass> createParamsToArgumentsPass() { return std::make_unique<ParamsToArgumentsPass>(); }

} // namespace kiln
