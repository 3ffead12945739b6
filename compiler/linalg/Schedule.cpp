// Schedules for the linalg backend, kept apart from the conversion: a transform-dialect script
// generated per op from LinalgScheduleOptions, then applied with the transform interpreter.
//
// Anchors (conv_2d_nhwc_hwcf, depthwise_conv_2d_nhwc_hwc, matmul, contract (nn.matmul),
// pooling_nchw_{max,sum}) get a register tile: the chain of single-use elementwise consumers after
// the anchor (including the transpose back to NCHW) is tiled with scf.forall at the root of the
// chain, and the chain, the anchor and its accumulator init are fused into those tiles; the
// anchor's reduction is then tiled with scf.for and 2-D windows are decomposed to 1-D so they
// vectorise. Every other linalg op is
// tiled to one vector along its innermost parallel loop (and a large reduction, e.g. a gradient's
// sum over the batch, with scf.for to one vector). Finally the whole function is vectorised
// (tensor.extract in a generic's body, e.g. resize's, becomes a gather or a contiguous load),
// accumulators are hoisted out of reduction loops and contractions become outer products (FMAs).
// All tile sizes divide their extents, so every tile is static and vectorisable.
#include "compiler/linalg/LinalgBackend.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Transform/IR/TransformOps.h"
#include "mlir/Dialect/Transform/Transforms/TransformInterpreterUtils.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Parser/Parser.h"

#include <sstream>

using namespace mlir;

namespace kiln {
namespace {

constexpr const char *kTag = "kiln.sched";

/// The largest divisor of `extent` that is at most `hint` (at least 1).
int64_t fit(int64_t extent, int64_t hint) {
  for (int64_t d = std::min(extent, std::max<int64_t>(hint, 1)); d > 1; --d)
    if (extent % d == 0)
      return d;
  return 1;
}

std::string list(ArrayRef<int64_t> values) {
  std::string s = "[";
  for (size_t i = 0; i < values.size(); ++i)
    s += (i ? ", " : "") + std::to_string(values[i]);
  return s + "]";
}

/// How an anchor is tiled: parallel tile (result dims), reduction tile (all loops), decompose?
struct AnchorPlan {
  SmallVector<int64_t> resultTile, reductionTile;
  bool decompose = false;
};

std::optional<AnchorPlan> planAnchor(linalg::LinalgOp op, const LinalgScheduleOptions &o) {
  auto shape = cast<RankedTensorType>(op->getResult(0).getType()).getShape();
  AnchorPlan plan;
  if (isa<linalg::Conv2DNhwcHwcfOp>(op)) { // loops n, oh, ow, f, kh, kw, c
    int64_t C = op.getStaticLoopRanges()[6];
    plan.resultTile = {1, 1, fit(shape[2], o.convPixelBlock), fit(shape[3], o.convChannelBlock)};
    plan.reductionTile = {0, 0, 0, 0, 1, 1, fit(C, o.convReductionBlock)};
    plan.decompose = true;
  } else if (isa<linalg::DepthwiseConv2DNhwcHwcOp>(op)) { // n, oh, ow, c, kh, kw
    plan.resultTile = {1, 1, fit(shape[2], o.convPixelBlock), fit(shape[3], o.convChannelBlock)};
    plan.reductionTile = {0, 0, 0, 0, 1, 0};
    plan.decompose = true;
  } else if (isa<linalg::PoolingNchwMaxOp, linalg::PoolingNchwSumOp>(op)) { // n, c, oh, ow, kh, kw
    plan.resultTile = {1, 1, 1, fit(shape[3], o.vectorWidth)};
    plan.reductionTile = {0, 0, 0, 0, 1, 0};
    plan.decompose = true;
  } else if (isa<linalg::MatmulOp>(op)) { // m, n, k
    int64_t K = op.getStaticLoopRanges()[2];
    plan.resultTile = {1, fit(shape[1], o.denseBlock)};
    plan.reductionTile = {0, 0, fit(K, o.denseReductionBlock)};
  } else if (isa<linalg::ContractOp>(op)) { // batch..., m, n, k (nn.matmul): matmul's plan per batch
    SmallVector<int64_t> loops = op.getStaticLoopRanges();
    plan.resultTile.assign(shape.size(), 1);
    plan.resultTile.back() = fit(shape.back(), o.denseBlock);
    plan.reductionTile.assign(loops.size(), 0);
    plan.reductionTile.back() = fit(loops.back(), o.denseReductionBlock);
  } else {
    return std::nullopt;
  }
  return plan;
}

/// Whether tiling can take every indexing map of `op`: sums of loop dimensions times positive
/// constants, plus constants. Others (floordiv, mod, flips: run-time filter re-layouts, grouped
/// filter gradients) are left whole by the schedule and become loops.
bool tileable(linalg::LinalgOp op) {
  bool ok = true;
  for (AffineMap map : op.getIndexingMapsArray())
    for (AffineExpr result : map.getResults())
      result.walk([&](AffineExpr e) {
        auto binary = dyn_cast<AffineBinaryOpExpr>(e);
        if (!binary || binary.getKind() == AffineExprKind::Add)
          return;
        auto factor = dyn_cast<AffineConstantExpr>(binary.getRHS());
        ok &= binary.getKind() == AffineExprKind::Mul && factor && factor.getValue() > 0;
      });
  return ok;
}

/// The single consumer of `value` that can be fused into its tiles: an all-parallel linalg op
/// with one result and identity output map that reads `value` as an input.
linalg::LinalgOp fusableConsumer(Value value) {
  if (!value.hasOneUse())
    return nullptr;
  OpOperand &use = *value.getUses().begin();
  auto user = dyn_cast<linalg::LinalgOp>(use.getOwner());
  if (!user || user->getNumResults() != 1 || user.getNumLoops() != user.getNumParallelLoops() ||
      !user.isDpsInput(&use) || !user.getIndexingMapMatchingResult(user->getResult(0)).isIdentity() ||
      !user.getMatchingIndexingMap(&use).isProjectedPermutation())
    return nullptr;
  return user;
}

/// The tile of `consumer`'s result given the tile of its operand `operand`: loops read from the
/// operand inherit its tile, others get 1.
SmallVector<int64_t> tileThrough(linalg::LinalgOp consumer, OpOperand &operand, ArrayRef<int64_t> operandTile) {
  SmallVector<int64_t> loops(consumer.getNumLoops(), 1);
  AffineMap map = consumer.getMatchingIndexingMap(&operand);
  for (unsigned r = 0; r < map.getNumResults(); ++r)
    loops[map.getDimPosition(r)] = operandTile[r];
  return loops;
}

struct ScriptWriter {
  std::ostringstream s;
  int handles = 0;
  std::string fresh() { return "%h" + std::to_string(handles++); }
  /// transform.structured.tile_using_for of `handle` by `tile`; returns the tiled op's handle.
  std::string tileUsingFor(const std::string &handle, ArrayRef<int64_t> tile) {
    std::string tiled = fresh(), types = "!transform.any_op";
    s << "    " << tiled;
    for (int64_t t : tile)
      if (t) {
        s << ", " << fresh();
        types += ", !transform.any_op";
      }
    s << " = transform.structured.tile_using_for " << handle << " tile_sizes " << list(tile)
      << " : (!transform.any_op) -> (" << types << ")\n";
    return tiled;
  }
  std::string match(const std::string &tag) {
    std::string h = fresh();
    s << "    " << h << " = transform.structured.match attributes{" << kTag << " = \"" << tag
      << "\"} in %root : (!transform.any_op) -> !transform.any_op\n";
    return h;
  }
};

} // namespace

std::string generateSchedule(ModuleOp module, const LinalgScheduleOptions &options) {
  ScriptWriter w;
  std::ostringstream &s = w.s;
  s << "module attributes {transform.with_named_sequence} {\n"
    << "  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {\n";
  SmallVector<linalg::LinalgOp> ops;
  module.walk([&](linalg::LinalgOp op) {
    if (op->getParentOfType<func::FuncOp>() && op->getNumResults() == 1 &&
        isa<RankedTensorType>(op->getResult(0).getType()))
      ops.push_back(op);
  });
  llvm::DenseSet<Operation *> claimed;
  int next = 0;

  // 1. Anchors with their fused init and consumer chain.
  for (linalg::LinalgOp op : ops) {
    std::optional<AnchorPlan> plan = planAnchor(op, options);
    if (!plan)
      continue;
    std::string id = "s" + std::to_string(next++);
    SmallVector<Operation *> chain{op};
    SmallVector<int64_t> tile = plan->resultTile;
    while (linalg::LinalgOp consumer = fusableConsumer(chain.back()->getResult(0))) {
      if (claimed.contains(consumer))
        break;
      tile = tileThrough(consumer, *chain.back()->getResult(0).getUses().begin(), tile);
      chain.push_back(consumer);
    }
    for (Operation *member : chain)
      claimed.insert(member);
    s << "    // " << op->getName().getStringRef().str() << " with " << chain.size() - 1
      << " fused consumer(s), tile " << list(tile) << "\n";
    SmallVector<std::string> handles;
    for (size_t i = 0; i < chain.size(); ++i) {
      chain[i]->setAttr(kTag, StringAttr::get(op->getContext(), id + "_" + std::to_string(i)));
      handles.push_back(w.match(id + "_" + std::to_string(i)));
    }
    std::string init;
    Operation *initOp = op.getDpsInitOperand(0)->get().getDefiningOp();
    if (isa_and_nonnull<linalg::LinalgOp>(initOp) && initOp->hasOneUse()) {
      initOp->setAttr(kTag, StringAttr::get(op->getContext(), id + "_init"));
      claimed.insert(initOp);
      init = w.match(id + "_init");
    }
    std::string tiled = w.fresh(), forall = w.fresh();
    s << "    " << tiled << ", " << forall << " = transform.structured.tile_using_forall " << handles.back()
      << " tile_sizes " << list(tile) << " : (!transform.any_op) -> (!transform.any_op, !transform.any_op)\n";
    std::string anchor = chain.size() == 1 ? tiled : "";
    auto fuse = [&](const std::string &producer) {
      std::string fused = w.fresh(), into = w.fresh();
      s << "    " << fused << ", " << into << " = transform.structured.fuse_into_containing_op " << producer
        << " into " << forall << " : (!transform.any_op, !transform.any_op) -> (!transform.any_op, !transform.any_op)\n";
      forall = into;
      return fused;
    };
    for (int i = static_cast<int>(chain.size()) - 2; i >= 0; --i) {
      std::string fused = fuse(handles[i]);
      if (i == 0)
        anchor = fused;
    }
    if (!init.empty())
      fuse(init);
    std::string reduced = w.tileUsingFor(anchor, plan->reductionTile);
    if (plan->decompose)
      s << "    " << w.fresh() << " = transform.structured.decompose " << reduced
        << " : (!transform.any_op) -> !transform.any_op\n";
  }

  // 2. Everything else: one vector along the innermost parallel loop, 1 elsewhere. Reductions stay
  //    whole when small (a softmax row, an lrn window); larger ones (the training gradients' sums)
  //    are tiled with scf.for, to one vector along the op's last loop if it is a reduction and to 1
  //    elsewhere, so that no vector is larger than a few registers.
  for (linalg::LinalgOp op : ops) {
    if (claimed.contains(op) || !tileable(op))
      continue;
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
    SmallVector<int64_t> tile(ranges.size(), 0), reductionTile(ranges.size(), 0);
    bool inner = true;
    int64_t reductionExtent = 1;
    for (int64_t l = static_cast<int64_t>(ranges.size()) - 1; l >= 0; --l) {
      if (iterators[l] != utils::IteratorType::parallel) {
        reductionExtent *= ranges[l];
        reductionTile[l] = l + 1 == static_cast<int64_t>(ranges.size()) ? fit(ranges[l], options.vectorWidth) : 1;
        continue;
      }
      tile[l] = inner ? fit(ranges[l], options.vectorWidth) : 1;
      inner = false;
    }
    bool tileReductions = reductionExtent > 4 * options.vectorWidth;
    if (inner && !tileReductions)
      continue; // no parallel loop and a small reduction: leave it whole
    std::string id = "g" + std::to_string(next++);
    op->setAttr(kTag, StringAttr::get(op->getContext(), id));
    std::string h = w.match(id);
    s << "    // " << op->getName().getStringRef().str() << "\n";
    if (!inner) {
      std::string tiled = w.fresh();
      s << "    " << tiled << ", " << w.fresh() << " = transform.structured.tile_using_forall " << h << " tile_sizes "
        << list(tile) << " : (!transform.any_op) -> (!transform.any_op, !transform.any_op)\n";
      h = tiled;
    }
    if (tileReductions)
      w.tileUsingFor(h, reductionTile);
  }

  // 3. Vectorise, clean up, keep accumulators in registers, contractions to FMAs.
  s << R"(    %func = transform.structured.match ops{["func.func"]} in %root : (!transform.any_op) -> !transform.any_op
    transform.apply_patterns to %func { transform.apply_patterns.canonicalization } : !transform.any_op
    %vf = transform.structured.vectorize_children_and_apply_patterns %func {vectorize_nd_extract} : (!transform.any_op) -> !transform.any_op
    transform.apply_patterns to %vf {
      transform.apply_patterns.canonicalization
      transform.apply_patterns.tensor.fold_tensor_subset_ops_into_vector_transfers
      transform.apply_patterns.tensor.fold_tensor_empty
    } : !transform.any_op
    transform.apply_cse to %vf : !transform.any_op
    %loops = transform.structured.match ops{["scf.for"]} in %root : (!transform.any_op) -> !transform.any_op
    transform.foreach %loops : !transform.any_op {
    ^bb0(%loop: !transform.any_op):
      transform.loop.hoist_loop_invariant_subsets %loop : !transform.any_op
    }
    transform.apply_patterns to %vf { transform.apply_patterns.canonicalization } : !transform.any_op
    transform.apply_patterns to %vf {
      transform.apply_patterns.vector.lower_contraction lowering_strategy = "outerproduct"
      transform.apply_patterns.vector.lower_outerproduct
    } : !transform.any_op
    transform.apply_patterns to %vf {
      transform.apply_patterns.vector.lower_multi_reduction lowering_strategy = "innerreduction"
    } : !transform.any_op
    transform.apply_patterns to %vf { transform.apply_patterns.vector.transfer_permutation_patterns } : !transform.any_op
    transform.apply_cse to %vf : !transform.any_op
    transform.yield
  }
}
)";
  return s.str();
}

LogicalResult scheduleLinalg(ModuleOp module, const LinalgScheduleOptions &options, std::string &error) {
  MLIRContext *ctx = module.getContext();
  std::string script = generateSchedule(module, options);
  std::string diagnostics;
  ScopedDiagnosticHandler handler(ctx, [&](Diagnostic &diag) {
    diagnostics += (diagnostics.empty() ? "" : "; ") + diag.str();
    return success();
  });
  OwningOpRef<ModuleOp> library = parseSourceString<ModuleOp>(script, ParserConfig(ctx));
  if (!library) {
    error = "internal error: the generated schedule does not parse: " + diagnostics + "\n" + script;
    return failure();
  }
  Operation *entry = nullptr;
  library->walk([&](transform::NamedSequenceOp seq) {
    if (seq.getSymName() == "__transform_main")
      entry = seq;
  });
  if (failed(transform::applyTransformNamedSequence(module, entry, *library,
                                                    transform::TransformOptions().enableExpensiveChecks(false)))) {
    error = "applying the schedule failed: " + diagnostics;
    return failure();
  }
  module.walk([](Operation *op) { op->removeAttr(kTag); });
  return success();
}

} // namespace kiln
