// The default CPU schedule of the Halide backend, kept apart from the algorithm (the lowering
// files) and driven by HalideScheduleOptions. Every stage output is computed at root; everything
// else is inlined. Conv: a register tile of (channel block x pixel block) accumulators computed
// inside each output tile (performance.md), reduction over input channels innermost. Dense: a
// block of output features in vectors. Other stages: vectorized along their innermost dimension.
// All splits of pure dimensions use ShiftInwards with factors no larger than the extent, so any
// shape (odd sizes, channels not a multiple of the vector width) stays in bounds.
#include "compiler/halide/Lowering.h"

#include <algorithm>

namespace kiln::halide {

/// The largest power of two <= min(limit, extent), at least 1.
static int vectorFor(int64_t extent, int limit) {
  int width = 1;
  while (width * 2 <= std::min<int64_t>(extent, limit))
    width *= 2;
  return width;
}

static int64_t product(const std::vector<int64_t> &extents) {
  int64_t total = 1;
  for (int64_t e : extents)
    total *= e;
  return total;
}

/// Vectorizes the innermost useful argument of `func` (arguments 0 or 1) and parallelises the
/// outer two. Used for copies, pools, softmax parts, padded conv inputs and model outputs.
static void schedulePointwise(Halide::Func func, const std::vector<int64_t> &extents,
                              const HalideScheduleOptions &options) {
  func.compute_root();
  std::vector<Halide::Var> args = func.args();
  const int rank = static_cast<int>(args.size());
  int vd = -1;
  for (int d = 0; d < std::min(rank, 2) && vd < 0; ++d)
    if (extents[d] >= 4)
      vd = d;
  if (vd == 1) {
    std::vector<Halide::VarOrRVar> order(args.begin(), args.end());
    std::swap(order[0], order[1]);
    func.reorder(order);
  }
  if (vd >= 0)
    func.vectorize(args[vd], vectorFor(extents[vd], options.vectorWidth), Halide::TailStrategy::ShiftInwards);
  if (!options.parallel || product(extents) < options.parallelMinElements)
    return;
  if (rank >= 3 && vd < rank - 2) {
    Halide::Var fused("fused");
    func.fuse(args[rank - 2], args[rank - 1], fused).parallel(fused);
  } else if (rank == 2 && vd != 1) {
    func.parallel(args[1]);
  }
}

/// Conv: output (c, x, y, n) tiled into (channel block x pixel block); the accumulator of one
/// tile lives in registers, its update loops over (ci, kx, ky) outside the unrolled tile.
static void scheduleConv(Stage &stage, const HalideScheduleOptions &options) {
  Halide::Func out = stage.output, acc = stage.accumulator;
  std::vector<Halide::Var> a = out.args();
  Halide::Var c = a[0], x = a[1], y = a[2], n = a[3];
  Halide::RDom r = stage.rdom;
  const int64_t C = stage.extents[0], OW = stage.extents[1];
  const int reductionChannels = r.x.extent().as<Halide::Internal::IntImm>()
                                    ? static_cast<int>(r.x.extent().as<Halide::Internal::IntImm>()->value)
                                    : 1;
  out.compute_root();
  Halide::Var co("co"), ci("ci"), xo("xo"), xi("xi");
  Halide::Stage update = acc.update();
  if (C >= 4) {
    const int vec = vectorFor(C, options.vectorWidth);
    const int64_t block = std::max<int64_t>(vec, std::min<int64_t>(options.convChannelBlock / vec, C / vec) * vec);
    const int xBlock = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(options.convPixelBlock, OW)));
    out.split(c, co, ci, static_cast<int>(block), Halide::TailStrategy::ShiftInwards)
        .split(x, xo, xi, xBlock, Halide::TailStrategy::ShiftInwards)
        .reorder(ci, xi, co, xo, y, n)
        .vectorize(ci, vec)
        .unroll(ci)
        .unroll(xi);
    acc.compute_at(out, co).vectorize(c, vec).unroll(c).unroll(x);
    update.reorder({c, x, y, n, r.x, r.y, r.z}).vectorize(c, vec).unroll(c).unroll(x);
  } else {
    // Few output channels: vectors along W instead.
    const int vec = vectorFor(OW, options.vectorWidth);
    out.split(x, xo, xi, vec, Halide::TailStrategy::ShiftInwards).reorder(xi, c, xo, y, n).vectorize(xi);
    acc.compute_at(out, xo).reorder(x, c, y, n).vectorize(x);
    update.reorder({x, c, y, n, r.x, r.y, r.z}).vectorize(x);
  }
  if (options.convReductionUnroll > 1 && reductionChannels >= options.convReductionUnroll) {
    Halide::RVar rci("rci");
    update.split(r.x, r.x, rci, options.convReductionUnroll).unroll(rci);
  }
  if (options.parallel && product(stage.extents) >= options.parallelMinElements) {
    Halide::Var rows("rows");
    out.fuse(y, n, rows).parallel(rows);
  }
}

/// Dense: output (m, n) split into feature blocks of whole vectors; one block's accumulators in
/// registers while the reduction over k streams the packed weights.
static void scheduleDense(Stage &stage, const HalideScheduleOptions &options) {
  Halide::Func out = stage.output, acc = stage.accumulator;
  std::vector<Halide::Var> a = out.args();
  Halide::Var m = a[0], n = a[1];
  const int64_t M = stage.extents[0];
  out.compute_root();
  if (M < 4) {
    acc.compute_at(out, m);
    return;
  }
  const int vec = vectorFor(M, options.vectorWidth);
  const int64_t block = std::max<int64_t>(vec, std::min<int64_t>(options.denseBlock / vec, M / vec) * vec);
  Halide::Var mo("mo"), mi("mi");
  out.split(m, mo, mi, static_cast<int>(block), Halide::TailStrategy::ShiftInwards)
      .reorder(mi, n, mo)
      .vectorize(mi, vec)
      .unroll(mi);
  acc.compute_at(out, n).vectorize(m, vec).unroll(m);
  acc.update().reorder({m, n, stage.rdom.x}).vectorize(m, vec).unroll(m);
  if (options.parallel && M > block && product(stage.extents) * stage.rdom.x.extent().as<Halide::Internal::IntImm>()->value >=
                                           options.parallelMinElements)
    out.parallel(mo);
}

void scheduleStages(std::vector<Stage> &stages, const HalideScheduleOptions &options) {
  for (Stage &stage : stages) {
    switch (stage.kind) {
    case StageKind::Conv:
      scheduleConv(stage, options);
      break;
    case StageKind::Dense:
      scheduleDense(stage, options);
      break;
    case StageKind::Pointwise:
      schedulePointwise(stage.output, stage.extents, options);
      break;
    }
  }
}

} // namespace kiln::halide
