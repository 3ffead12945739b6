// nn-drop-identities: replaces ops that are the identity at inference by their input.
// Expects verified nn IR; guarantees the same function values with fewer ops (every replaced
// op's result type equals its input's type, so no user sees a new type).
//
// Identity ops, each one pattern below:
//   nn.dropout                                    always (inference)
//   nn.max_pool2d / nn.avg_pool2d                 kernel 1x1, strides 1x1, no padding
//   nn.flatten                                    of a rank-2 value
//   nn.concat                                     of a single input
//   nn.reshape, nn.sum, nn.mean                   of one input of the result's type (by name)
// A new op that is the identity at inference gets one `identityInput` overload and one line
// in populateDropIdentitiesPatterns, or its name in kSameTypeIdentities when "one operand of
// the result's type" is the whole rule.
#include "compiler/passes/Passes.h"

#include "kiln/Dialect/NN/NNOps.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringRef.h"

using namespace mlir;

namespace kiln {
namespace {

/// The value `op` passes through unchanged, or null when it is not an identity.
Value identityInput(nn::DropoutOp op) { return op.getInput(); }

template <typename PoolOp>
Value poolIdentityInput(PoolOp op) {
  auto isOne = [](int64_t v) { return v == 1; };
  auto isZero = [](int64_t v) { return v == 0; };
  bool identity = llvm::all_of(op.getKernel(), isOne) && llvm::all_of(op.getStrides(), isOne) &&
                  llvm::all_of(op.getPadding(), isZero);
  return identity ? op.getInput() : Value();
}
Value identityInput(nn::MaxPool2DOp op) { return poolIdentityInput(op); }
Value identityInput(nn::AvgPool2DOp op) { return poolIdentityInput(op); }

Value identityInput(nn::FlattenOp op) { return op.getInput(); } // the type check below decides
Value identityInput(nn::ConcatOp op) { return op.getInputs().size() == 1 ? op.getInputs().front() : Value(); }

/// Replaces an identity `OpTy` by its input.
template <typename OpTy>
struct ForwardIdentityInput : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;

  LogicalResult matchAndRewrite(OpTy op, PatternRewriter &rewriter) const override {
    Value input = identityInput(op);
    if (!input || input.getType() != op.getType())
      return rewriter.notifyMatchFailure(op, "not an identity");
    rewriter.replaceOp(op, input);
    return success();
  }
};

/// Ops that are the identity whenever they have one operand of the result's type.
constexpr llvm::StringLiteral kSameTypeIdentities[] = {"nn.reshape", "nn.sum", "nn.mean"};

struct ForwardSameTypeInput : RewritePattern {
  explicit ForwardSameTypeInput(MLIRContext *context) : RewritePattern(MatchAnyOpTypeTag(), 1, context) {}

  LogicalResult matchAndRewrite(Operation *op, PatternRewriter &rewriter) const override {
    if (!llvm::is_contained(kSameTypeIdentities, op->getName().getStringRef()) || op->getNumOperands() != 1 ||
        op->getNumResults() != 1 || op->getOperand(0).getType() != op->getResult(0).getType())
      return rewriter.notifyMatchFailure(op, "not an identity");
    rewriter.replaceOp(op, op->getOperand(0));
    return success();
  }
};

struct DropIdentitiesPass : PassWrapper<DropIdentitiesPass, OperationPass<>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(DropIdentitiesPass)

  StringRef getArgument() const override { return "nn-drop-identities"; }
  StringRef getDescription() const override {
    return "Replace ops that are the identity at inference (dropout, 1x1 pools, ...) by their input";
  }

  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateDropIdentitiesPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void populateDropIdentitiesPatterns(RewritePatternSet &patterns) {
  patterns.add<ForwardIdentityInput<nn::DropoutOp>, ForwardIdentityInput<nn::MaxPool2DOp>,
               ForwardIdentityInput<nn::AvgPool2DOp>, ForwardIdentityInput<nn::FlattenOp>,
               ForwardIdentityInput<nn::ConcatOp>, ForwardSameTypeInput>(patterns.getContext());
}

std::unique_ptr<Pass> createDropIdentitiesPass() { return std::make_unique<DropIdentitiesPass>(); }

} // namespace kiln
