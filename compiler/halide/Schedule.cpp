// The CPU schedule of the Halide backend, kept apart from the algorithm (the lowering files) and
// driven by HalideScheduleOptions (a conv or dense layer may have tuned knobs of its own, found by
// its signature). Every stage output is computed at root; everything else is inlined. Conv: a
// register tile of (channel block x pixel block x row block) accumulators computed inside each
// output tile (performance.md), reduction over input channels innermost; WinogradConv, the same
// register tile over its batched products, per row of 2x2 output tiles; FilterGrad
// (conv2d_grad_filter) likewise, tiles over channels, taps and filters. Dense: a
// block of output features in vectors. RowReduction: rows in parallel, each row reduced in vectors.
// Copy (reshape, transpose, slice, results in C order): vectorized along the innermost dimension,
// or transposed in register blocks when the source's innermost dimension is another.
// Reduction: vectors of a kept dimension accumulated in registers, or rfactor lanes along a reduced
// innermost dimension.
// Other stages: vectorized along their innermost dimension.
// All splits of pure dimensions use ShiftInwards with factors no larger than the extent, so any
// shape (odd sizes, channels not a multiple of the vector width) stays in bounds. Parallel loops
// hand out chunks of iterations big enough to outweigh the thread pool's cost per task.
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

/// The number of points of `r` (every RDom of the lowering has constant extents).
static int64_t volume(const Halide::RDom &r) {
  int64_t total = 1;
  for (int i = 0; i < r.dimensions(); ++i)
    total *= r[i].extent().as<Halide::Internal::IntImm>()->value;
  return total;
}

/// A conv below the parallel threshold in outputs still goes parallel with this many times the
/// threshold in work (outputs times reduction points).
constexpr int64_t kParallelWorkFactor = 64;

/// Work (elements written times reduction points) a parallel task should have at least. Halide's
/// thread pool takes a lock for every iteration it hands out: with one task per output row,
/// LeNet-5 at batch 64 ran 1.5x slower on 2 threads than on 1.
constexpr int64_t kMinTaskWork = 1 << 15;

/// Loops with fewer iterations stay one task per iteration: chunking them gained nothing on 2
/// threads and cost ResNet-18 at 32x32 a fifth of its time on 1 (measured, cause not found).
constexpr int64_t kMinChunkedIterations = 64;

/// Makes loop `var` of `stage` (`iterations` of about `work / iterations` each) parallel; a long
/// loop in chunks of consecutive iterations of at least kMinTaskWork, keeping at least 4 chunks.
/// Returns the loop over single iterations (`var`, or the one inside a chunk) for compute_at.
static Halide::Var parallelInChunks(Halide::Stage stage, const Halide::Var &var, int64_t iterations, int64_t work) {
  const int64_t perIteration = std::max<int64_t>(1, work / std::max<int64_t>(1, iterations));
  const int64_t chunk =
      std::min((kMinTaskWork + perIteration - 1) / perIteration, std::max<int64_t>(1, iterations / 4));
  if (chunk <= 1 || iterations < kMinChunkedIterations) {
    stage.parallel(var);
    return var;
  }
  Halide::Var outer(var.name() + "_chunk"), inner(var.name() + "_in_chunk");
  stage.split(var, outer, inner, static_cast<int>(chunk), Halide::TailStrategy::GuardWithIf).parallel(outer);
  return inner;
}

/// Vectorizes the innermost useful argument of `func` (arguments 0 or 1) and parallelises the
/// outer two. Used for copies, pools, softmax parts, padded conv inputs and model outputs.
static void schedulePointwise(Halide::Func func, const std::vector<int64_t> &extents,
                              const HalideStageSchedule &options) {
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
  else if (rank >= 4 && extents[0] * extents[1] >= 4) { // a 3x3 kernel: vectors over both taps
    Halide::Var taps("taps");
    func.fuse(args[0], args[1], taps).vectorize(taps, vectorFor(extents[0] * extents[1], options.vectorWidth),
                                                Halide::TailStrategy::ShiftInwards);
  }
  if (!options.parallel || product(extents) < options.parallelMinElements)
    return;
  if (rank >= 3 && vd < rank - 2) {
    Halide::Var fused("fused");
    func.fuse(args[rank - 2], args[rank - 1], fused);
    parallelInChunks(func, fused, extents[rank - 2] * extents[rank - 1], product(extents));
  } else if (rank == 2 && vd != 1) {
    parallelInChunks(func, args[1], extents[1], product(extents));
  }
}

/// The extent of a reduction variable (every RDom of the lowering has constant extents).
static int64_t constantExtent(const Halide::RVar &r) { return r.extent().as<Halide::Internal::IntImm>()->value; }

/// Whether Winograd is the better conv algorithm for a layer of output extents (c, x, y, n) when
/// it applies: at least 6 tiles per row to fill the register tile (on ResNet-18's 7x7 layers it
/// was 1.4x slower than the direct conv, on 8- and 16-channel U-Net layers faster; docs/design.md).
static bool winogradFavoured(const std::vector<int64_t> &extents) { return (extents[1] + 1) / 2 >= 6; }

/// Whether a direct conv of these extents (c, x, y, n) and reduction (ci, kx, ky) is better with
/// channel blocks outermost: when its weights do not stay in the L2 cache (1 MiB) while a row is
/// computed, so rows outermost would stream them again for each row, and they are larger than the
/// input (which channel blocks outermost reads again for each block). On ResNet-18's 7x7 layers
/// this was 1.3-1.5x faster.
static bool channelsOuterFavoured(const std::vector<int64_t> &extents, const std::vector<int64_t> &reduction) {
  const int64_t weightBytes = 4 * extents[0] * product(reduction);
  const int64_t inputBytes = 4 * reduction[0] * extents[1] * extents[2] * extents[3];
  return weightBytes > (int64_t(1) << 20) && weightBytes > inputBytes;
}

HalideStageSchedule effectiveConv(const std::vector<int64_t> &extents, const std::vector<int64_t> &reduction,
                                  bool winograd, const HalideStageSchedule &requested) {
  const int64_t C = extents[0], OW = extents[1], OH = extents[2], reductionChannels = reduction[0];
  HalideStageSchedule e;
  e.convAlgorithm = ConvAlgorithm::Direct;
  if (winograd && (requested.convAlgorithm == ConvAlgorithm::Winograd ||
                   (requested.convAlgorithm == ConvAlgorithm::Auto && winogradFavoured(extents))))
    e.convAlgorithm = ConvAlgorithm::Winograd;
  // Winograd tiles pixels and rows in 2x2 output tiles.
  const bool tiles = e.convAlgorithm == ConvAlgorithm::Winograd;
  const int64_t pixels = tiles ? (OW + 1) / 2 : OW, rows = tiles ? OH / 2 : OH;
  if (C >= 4) {
    e.vectorWidth = vectorFor(C, requested.vectorWidth);
    e.convChannelBlock = static_cast<int>(
        std::max<int64_t>(e.vectorWidth, std::min<int64_t>(requested.convChannelBlock / e.vectorWidth, C / e.vectorWidth) *
                                             e.vectorWidth));
    e.convPixelBlock = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(requested.convPixelBlock, pixels)));
    e.convRowBlock = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(requested.convRowBlock, rows)));
    e.convChannelsOuter = !tiles && requested.convChannelsOuter.value_or(channelsOuterFavoured(extents, reduction));
  } else {
    e.vectorWidth = vectorFor(OW, requested.vectorWidth); // vectors along W; the blocks do not apply
    e.convChannelsOuter = false;
  }
  e.convReductionUnroll = requested.convReductionUnroll > 1 && reductionChannels >= requested.convReductionUnroll
                              ? requested.convReductionUnroll
                              : 1;
  // Parallel by output size, or by work: a conv with few outputs can still sum over a long
  // reduction (ResNet-18's last layers at 32x32: 512 outputs of 4608 multiply-adds each).
  const int64_t outputs = product(extents), threshold = requested.parallelMinElements;
  e.parallel = requested.parallel &&
               (outputs >= threshold || outputs * product(reduction) >= kParallelWorkFactor * threshold);
  e.parallelMinElements = 0;
  return e;
}

LayerLowering loweringFor(const HalideStageSchedule &e, bool dense) {
  return dense ? LayerLowering{ConvAlgorithm::Direct, e.denseBlock} : LayerLowering{e.convAlgorithm, e.convChannelBlock};
}

HalideStageSchedule effectiveDense(const std::vector<int64_t> &extents, int64_t K,
                                   const HalideStageSchedule &requested) {
  const int64_t M = extents[0];
  HalideStageSchedule e;
  e.parallel = false;
  e.parallelMinElements = 0;
  if (M < 4)
    return e;
  e.vectorWidth = vectorFor(M, requested.vectorWidth);
  e.denseBlock = static_cast<int>(
      std::max<int64_t>(e.vectorWidth, std::min<int64_t>(requested.denseBlock / e.vectorWidth, M / e.vectorWidth) * e.vectorWidth));
  e.parallel = requested.parallel && M > e.denseBlock && product(extents) * K >= requested.parallelMinElements;
  return e;
}

/// Conv: output (c, x, y, n) tiled into (channel block x pixel block x row block); the accumulator
/// of one tile lives in registers, its update loops over (ci, kx, ky) outside the unrolled tile.
/// `e` is the effective schedule (effectiveConv).
static void scheduleConv(Stage &stage, const HalideStageSchedule &e) {
  Halide::Func out = stage.output, acc = stage.accumulator;
  std::vector<Halide::Var> a = out.args();
  Halide::Var c = a[0], x = a[1], y = a[2], n = a[3];
  Halide::RDom r = stage.rdom;
  out.compute_root();
  Halide::Var co("co"), ci("ci"), xo("xo"), xi("xi"), yo("yo"), yi("yi");
  Halide::Var rowsOuter = y;
  Halide::Stage update = acc.update();
  const auto shift = Halide::TailStrategy::ShiftInwards;
  if (stage.extents[0] >= 4) {
    out.split(c, co, ci, e.convChannelBlock, shift).split(x, xo, xi, e.convPixelBlock, shift);
    if (e.convRowBlock > 1) {
      out.split(y, yo, yi, e.convRowBlock, shift).unroll(yi);
      rowsOuter = yo;
    }
    // The tile (ci, xi, yi) innermost, then either channel blocks inside pixel blocks and rows, or
    // pixel blocks and rows inside channel blocks.
    std::vector<Halide::VarOrRVar> order = {ci, xi};
    if (e.convRowBlock > 1)
      order.push_back(yi);
    if (*e.convChannelsOuter)
      order.insert(order.end(), {xo, rowsOuter, co, n});
    else
      order.insert(order.end(), {co, xo, rowsOuter, n});
    out.reorder(order).vectorize(ci, e.vectorWidth).unroll(ci).unroll(xi);
    acc.compute_at(out, *e.convChannelsOuter ? xo : co).vectorize(c, e.vectorWidth).unroll(c).unroll(x);
    update.reorder({c, x, y, n, r.x, r.y, r.z}).vectorize(c, e.vectorWidth).unroll(c).unroll(x);
    if (e.convRowBlock > 1) {
      acc.unroll(y);
      update.unroll(y);
    }
  } else {
    // Few output channels: vectors along W instead.
    out.split(x, xo, xi, e.vectorWidth, shift).reorder(xi, c, xo, y, n).vectorize(xi);
    acc.compute_at(out, xo).reorder(x, c, y, n).vectorize(x);
    update.reorder({x, c, y, n, r.x, r.y, r.z}).vectorize(x);
  }
  if (e.convReductionUnroll > 1) {
    Halide::RVar rci("rci");
    update.split(r.x, r.x, rci, e.convReductionUnroll).unroll(rci);
  }
  if (e.parallel) {
    const int64_t blocks = *e.convChannelsOuter
                               ? (stage.extents[0] + e.convChannelBlock - 1) / e.convChannelBlock
                               : (stage.extents[2] + e.convRowBlock - 1) / e.convRowBlock;
    Halide::Var outer(*e.convChannelsOuter ? "blocks" : "rows");
    out.fuse(*e.convChannelsOuter ? co : rowsOuter, n, outer);
    parallelInChunks(out, outer, blocks * stage.extents[3], product(stage.extents) * volume(r));
  }
}

/// WinogradConv: the output (c, x, y, n) in 2x2 tiles, one task per (row block x 2) output rows;
/// per task the input tiles of those rows are transformed, then the 16 products are computed as a
/// register tile of (channel block x pixel block) tiles, summing over input channels innermost,
/// stored with the tile index next to the channel, and the output transform (with the fused
/// epilogue) reads them. `e` is the effective schedule (effectiveConv).
static void scheduleWinograd(Stage &stage, const HalideStageSchedule &e) {
  Halide::Func out = stage.output, input = stage.transformedInput, product = stage.product,
               acc = stage.accumulator;
  std::vector<Halide::Var> o = out.args(), t = input.args(), p = product.args(), m = acc.args();
  const auto shift = Halide::TailStrategy::ShiftInwards;
  Halide::Var xo("xo"), xi("xi"), yo("yo"), yi("yi"), coo("coo"), coi("coi"), txo("txo"), txi("txi");
  out.compute_root()
      .split(o[1], xo, xi, 2, shift)
      .split(o[2], yo, yi, 2 * e.convRowBlock, shift)
      .reorder(o[0], xi, yi, xo, yo, o[3])
      .vectorize(o[0], e.vectorWidth, shift)
      .unroll(xi);
  if (e.convRowBlock == 1)
    out.unroll(yi);
  Halide::Var task = yo;
  if (e.parallel) {
    task = Halide::Var("rows");
    out.fuse(yo, o[3], task);
    const int64_t rowBlocks = (stage.extents[2] + 2 * e.convRowBlock - 1) / (2 * e.convRowBlock);
    // 16 products of C multiply-adds per 2x2 outputs.
    task = parallelInChunks(out, task, rowBlocks * stage.extents[3],
                            halide::product(stage.extents) * 4 * volume(stage.rdom));
  }
  // (ci, a, b, tx, ty, n) stored as (ci, tx, a, b, ty, n): one product's operand rows contiguous.
  const int inputVector = vectorFor(constantExtent(stage.rdom.x), e.vectorWidth);
  input.compute_at(out, task)
      .reorder_storage(t[0], t[3], t[1], t[2], t[4], t[5])
      .vectorize(t[0], inputVector, shift)
      .unroll(t[1])
      .unroll(t[2]);
  product.compute_at(out, task)
      .reorder_storage(p[0], p[3], p[1], p[2], p[4], p[5])
      .split(p[0], coo, coi, e.convChannelBlock, shift)
      .split(p[3], txo, txi, e.convPixelBlock, shift)
      .reorder(coi, txi, coo, txo, p[1], p[2], p[4], p[5])
      .vectorize(coi, e.vectorWidth)
      .unroll(coi)
      .unroll(txi);
  acc.compute_at(product, coo).vectorize(m[0], e.vectorWidth).unroll(m[0]).unroll(m[3]);
  Halide::Stage update = acc.update();
  update.reorder({m[0], m[3], stage.rdom.x}).vectorize(m[0], e.vectorWidth).unroll(m[0]).unroll(m[3]);
  if (e.convReductionUnroll > 1) {
    Halide::RVar rci("rci");
    update.split(stage.rdom.x, stage.rdom.x, rci, e.convReductionUnroll).unroll(rci);
  }
}

/// FilterGrad: output (ci, kx, ky, f), reduction (ow, oh, n). A register tile of accumulators is
/// (one vector of input channels x a block of taps kx x a block of filters), so each input vector
/// loaded serves several filters; with fewer than 4 channels per group (first layers, depthwise)
/// the vectors run along the filters instead, tile (vector of filters x channels x taps). A tile
/// holds as many vectors as the conv's (channel block / vector width x pixel block). The output is
/// small but each element sums over the whole batch, so it goes parallel by total work.
static void scheduleFilterGrad(Stage &stage, const HalideStageSchedule &options) {
  Halide::Func out = stage.output, acc = stage.accumulator;
  std::vector<Halide::Var> a = out.args();
  Halide::Var ci = a[0], kx = a[1], ky = a[2], f = a[3];
  Halide::RDom r = stage.rdom;
  const int64_t Cg = stage.extents[0], KW = stage.extents[1], F = stage.extents[3];
  const int64_t tileVectors =
      std::max<int64_t>(1, options.convChannelBlock / options.vectorWidth) * options.convPixelBlock;
  const int64_t work = product(stage.extents) * volume(r);
  out.compute_root();
  Halide::Var co("co"), cii("cii"), xo("xo"), xi("xi"), fo("fo"), fi("fi");
  Halide::Stage update = acc.update();
  const auto shift = Halide::TailStrategy::ShiftInwards;
  if (Cg >= 4) {
    const int vec = vectorFor(Cg, options.vectorWidth);
    const int xBlock = static_cast<int>(std::min<int64_t>({KW, options.convPixelBlock, tileVectors}));
    // Blocks of filters of even size (ShiftInwards recomputes the overlap of an uneven last block).
    const int64_t maxFilters = std::max<int64_t>(1, std::min<int64_t>(F, tileVectors / xBlock));
    const int64_t filterBlocks = (F + maxFilters - 1) / maxFilters;
    const int fBlock = static_cast<int>((F + filterBlocks - 1) / filterBlocks);
    out.split(ci, co, cii, vec, shift)
        .split(kx, xo, xi, xBlock, shift)
        .split(f, fo, fi, fBlock, shift)
        .reorder(cii, xi, fi, co, xo, ky, fo)
        .vectorize(cii)
        .unroll(xi)
        .unroll(fi);
    acc.compute_at(out, co).vectorize(ci, vec).unroll(kx).unroll(f);
    update.reorder({ci, kx, f, ky, r.x, r.y, r.z}).vectorize(ci, vec).unroll(kx).unroll(f);
  } else {
    const int vec = vectorFor(F, options.vectorWidth);
    const int xBlock = static_cast<int>(
        std::max<int64_t>(1, std::min<int64_t>({KW, options.convPixelBlock, tileVectors / Cg})));
    out.split(f, fo, fi, vec, shift)
        .split(kx, xo, xi, xBlock, shift)
        .reorder(fi, ci, xi, xo, ky, fo)
        .vectorize(fi)
        .unroll(ci)
        .unroll(xi);
    acc.compute_at(out, xo)
        .reorder_storage(f, ci, kx, ky)
        .reorder(f, ci, kx, ky)
        .vectorize(f, vec)
        .unroll(ci)
        .unroll(kx);
    update.reorder({f, ci, kx, ky, r.x, r.y, r.z}).vectorize(f, vec).unroll(ci).unroll(kx);
  }
  const int64_t outputWidth = r.x.extent().as<Halide::Internal::IntImm>()->value;
  if (options.convReductionUnroll > 1 && outputWidth >= options.convReductionUnroll) {
    Halide::RVar rxi("rxi");
    update.split(r.x, r.x, rxi, options.convReductionUnroll).unroll(rxi);
  }
  if (options.parallel && work >= options.parallelMinElements) {
    Halide::Var rows("rows");
    out.fuse(ky, fo, rows).parallel(rows); // few tasks (taps x filter blocks), each of large sums
  }
}

/// RowReduction: one row per iteration (parallel when there is enough work); a long row is
/// reduced in vectors along its contiguous k first (rfactor: one partial result per lane).
static void scheduleRowReduction(Stage &stage, const HalideStageSchedule &options) {
  Halide::Func out = stage.output;
  Halide::Var n = out.args()[0];
  Halide::RVar k = stage.rdom.x;
  const int64_t K = k.extent().as<Halide::Internal::IntImm>()->value;
  out.compute_root();
  const int vec = vectorFor(K, options.vectorWidth);
  if (K >= 2 * vec && vec > 1) {
    Halide::RVar ko("ko"), ki("ki");
    Halide::Var lane("lane");
    Halide::Func lanes = out.update().split(k, ko, ki, vec).rfactor(ki, lane);
    lanes.compute_at(out, n).vectorize(lane);
    lanes.update().vectorize(lane);
  }
  if (options.parallel && product(stage.extents) * K >= options.parallelMinElements)
    out.update().parallel(n); // the rfactor lanes are computed per n
}

/// Accumulator vectors a dense or reduction register tile holds (of AVX-512's 32 registers, the
/// rest left for the operands).
constexpr int64_t kTileVectors = 24;

/// Dense: output (m, n, batch...) split into tiles of (feature block of whole vectors x row block);
/// one tile's accumulators in registers while the reduction over k streams the packed weights
/// (each weight vector loaded serves every row of the block). Batch arguments (matmul) stay
/// outermost. `e` is effectiveDense's.
static void scheduleDense(Stage &stage, const HalideStageSchedule &e) {
  Halide::Func out = stage.output, acc = stage.accumulator;
  std::vector<Halide::Var> a = out.args();
  Halide::Var m = a[0], n = a[1];
  out.compute_root();
  if (stage.extents[0] < 4) {
    acc.compute_at(out, m);
    return;
  }
  const int64_t rows = stage.extents[1];
  const int rowBlock = static_cast<int>(
      std::max<int64_t>(1, std::min<int64_t>(rows, kTileVectors / std::max(1, e.denseBlock / e.vectorWidth))));
  Halide::Var mo("mo"), mi("mi"), no("no"), ni("ni");
  const auto shift = Halide::TailStrategy::ShiftInwards;
  out.split(m, mo, mi, e.denseBlock, shift);
  Halide::Var tile = n;
  if (rowBlock > 1) {
    out.split(n, no, ni, rowBlock, shift).reorder(mi, ni, no, mo).unroll(ni);
    tile = no;
  } else {
    out.reorder(mi, n, mo);
  }
  out.vectorize(mi, e.vectorWidth).unroll(mi);
  acc.compute_at(out, tile).vectorize(m, e.vectorWidth).unroll(m);
  acc.update().reorder({m, n, stage.rdom.x}).vectorize(m, e.vectorWidth).unroll(m);
  if (rowBlock > 1) {
    acc.unroll(n);
    acc.update().unroll(n);
  }
  if (e.parallel)
    parallelInChunks(out, mo, (stage.extents[0] + e.denseBlock - 1) / e.denseBlock,
                     product(stage.extents) * constantExtent(stage.rdom.x));
}

/// Reduction: with the argument along which the input is contiguous kept (reducing outer
/// dimensions), tiles of up to 4 vectors along it accumulate in registers while the reduction
/// streams the rows; with it reduced
/// (a sum along contiguous elements), the reduction runs in vector lanes first (rfactor: one
/// partial result per lane), except the arg kinds, which keep the first extreme in order. Parallel
/// over the outermost kept argument, or over the tiles.
static void scheduleReduction(Stage &stage, const HalideStageSchedule &options) {
  Halide::Func out = stage.output, acc = stage.accumulator;
  std::vector<Halide::Var> a = out.args();
  Halide::RDom r = stage.rdom;
  const int64_t work = product(stage.extents) * volume(r);
  const bool parallel = options.parallel && work >= options.parallelMinElements;
  const int m = stage.sourceInner; // the argument along which the input is contiguous
  const int64_t extent = stage.extents[m];
  // The other arguments, and the outermost of them with more than one element (parallel).
  std::vector<Halide::Var> others;
  int outer = -1;
  for (int d = 0; d < static_cast<int>(a.size()); ++d)
    if (d != m) {
      others.push_back(a[d]);
      if (stage.extents[d] > 1)
        outer = d;
    }
  out.compute_root();
  if (extent >= 4) {
    const int vec = vectorFor(extent, options.vectorWidth);
    const int block = static_cast<int>(std::min<int64_t>(extent / vec, 4)) * vec;
    Halide::Var o("o"), i("i");
    // Tiles outermost when there are more of them than outer elements (a long kept row).
    const int64_t blocks = (extent + block - 1) / block;
    const bool tilesOuter = blocks >= product(stage.extents) / extent;
    std::vector<Halide::VarOrRVar> order = {i};
    if (!tilesOuter)
      order.push_back(o);
    order.insert(order.end(), others.begin(), others.end());
    if (tilesOuter)
      order.push_back(o);
    out.split(a[m], o, i, block, Halide::TailStrategy::ShiftInwards).reorder(order).vectorize(i, vec).unroll(i);
    acc.compute_at(out, tilesOuter && !others.empty() ? others.front() : o).vectorize(a[m], vec).unroll(a[m]);
    std::vector<Halide::VarOrRVar> inner = {a[m]};
    for (int d = 0; d < r.dimensions(); ++d)
      inner.push_back(r[d]);
    acc.update().reorder(inner).vectorize(a[m], vec).unroll(a[m]);
    if (parallel && tilesOuter)
      parallelInChunks(out, o, blocks, work);
    else if (parallel && outer >= 0)
      parallelInChunks(out, a[outer], stage.extents[outer], work);
    return;
  }
  // The reduction runs along the contiguous elements (r.x, Reductions.cpp): in vector lanes first,
  // per element of the output (its innermost loop).
  Halide::Var at = a[0];
  if (parallel && outer >= 0) {
    Halide::Var single = parallelInChunks(out, a[outer], stage.extents[outer], work);
    if (outer == 0)
      at = single;
  }
  acc.compute_at(out, at);
  const int64_t along = constantExtent(r.x);
  const int vec = vectorFor(along, options.vectorWidth);
  if (acc.outputs() == 1 && vec > 1 && along >= 2 * vec) {
    Halide::RVar ro("ro"), ri("ri");
    Halide::Var lane("lane");
    Halide::Func lanes = acc.update().split(r.x, ro, ri, vec).rfactor(ri, lane);
    lanes.compute_at(out, at).vectorize(lane);
    lanes.update().vectorize(lane);
  }
}

/// Whether `e` grows by exactly 1 when `var` does.
static bool unitStride(const Halide::Expr &e, const Halide::Var &var) {
  Halide::Expr next = Halide::Internal::substitute(var.name(), var + 1, e);
  return Halide::Internal::is_const_one(Halide::Internal::simplify(next - e));
}

/// The first of `vars` along which `e` has unit stride, or -1.
static int unitStrideArgument(const Halide::Expr &e, const std::vector<Halide::Var> &vars) {
  for (size_t i = 0; i < vars.size(); ++i)
    if (unitStride(e, vars[i]))
      return static_cast<int>(i);
  return -1;
}

/// Copy: out(v) = source(sourceArgs(v)). When out's innermost argument runs along the source's
/// innermost one (in memory: sourceInner), the plain vectorized copy. Otherwise, when out's
/// argument 0 runs along source argument s and out's argument k along the source's innermost (a
/// transpose of the two innermost
/// dimensions: NCHW <-> NHWC, the C-order results): blocks of (vector of out's 0 x vector of
/// out's k), each block of source loaded along its innermost (contiguous there) and stored along
/// out's argument 0 (contiguous here), so the transpose happens in registers rather than through
/// strided loads.
static void scheduleCopy(Stage &stage, const HalideStageSchedule &options) {
  Halide::Func out = stage.output;
  std::vector<Halide::Var> a = out.args();
  const int inner = stage.sourceInner;
  const int k = stage.sourceArgs.empty() ? -1 : unitStrideArgument(stage.sourceArgs[inner], a);
  int s = -1;
  for (size_t i = 0; i < stage.sourceArgs.size() && s < 0; ++i)
    if (static_cast<int>(i) != inner && unitStride(stage.sourceArgs[i], a[0]))
      s = static_cast<int>(i);
  if (k <= 0 || s < 0 || stage.extents[0] < 4 || stage.extents[k] < 4) {
    schedulePointwise(out, stage.extents, options);
    return;
  }
  const int outVector = vectorFor(stage.extents[0], options.vectorWidth);
  const int sourceVector = vectorFor(stage.extents[k], options.vectorWidth);
  const auto shift = Halide::TailStrategy::ShiftInwards;
  Halide::Var wo("wo"), wi("wi"), co("co"), ci("ci");
  std::vector<Halide::VarOrRVar> order = {wi, ci, wo, co};
  std::vector<Halide::Var> outer;
  std::vector<int64_t> outerExtents;
  for (int d = 1; d < static_cast<int>(a.size()); ++d)
    if (d != k) {
      order.push_back(a[d]);
      outer.push_back(a[d]);
      outerExtents.push_back(stage.extents[d]);
    }
  out.compute_root()
      .split(a[0], wo, wi, outVector, shift)
      .split(a[k], co, ci, sourceVector, shift)
      .reorder(order)
      .vectorize(wi)
      .unroll(ci);
  Halide::Func block = stage.source.in(stage.copy); // inlined into out when a consumer was fused
  std::vector<Halide::Var> b = block.args();
  block.compute_at(out, wo).vectorize(b[inner], sourceVector).unroll(b[s], outVector);
  if (!options.parallel || product(stage.extents) < options.parallelMinElements)
    return;
  if (outer.size() >= 2) {
    Halide::Var rows("rows");
    const size_t last = outer.size() - 1;
    out.fuse(outer[last - 1], outer[last], rows);
    parallelInChunks(out, rows, outerExtents[last - 1] * outerExtents[last], product(stage.extents));
  } else if (outer.size() == 1) {
    parallelInChunks(out, outer[0], outerExtents[0], product(stage.extents));
  } else {
    parallelInChunks(out, co, (stage.extents[k] + sourceVector - 1) / sourceVector, product(stage.extents));
  }
}

/// A repack reads rows of the weight (one feature each) and writes features innermost. Blocks of
/// one vector of features are outermost, so the rows a block reads stay in the cache while all its
/// other arguments are written (innermost blocks passed over a large weight once per kernel tap).
static void scheduleRepack(Stage &stage, const HalideStageSchedule &options) {
  Halide::Func func = stage.output;
  std::vector<Halide::Var> args = func.args();
  const int64_t features = stage.extents[0];
  if (features < 4 || args.size() < 2) {
    schedulePointwise(func, stage.extents, options);
    return;
  }
  const int vector = vectorFor(features, options.vectorWidth);
  Halide::Var blocks("blocks"), lanes("lanes");
  func.compute_root().split(args[0], blocks, lanes, vector, Halide::TailStrategy::ShiftInwards);
  std::vector<Halide::VarOrRVar> order = {lanes};
  order.insert(order.end(), args.begin() + 1, args.end());
  order.push_back(blocks);
  func.reorder(order).vectorize(lanes);
  if (options.parallel && product(stage.extents) >= options.parallelMinElements)
    parallelInChunks(func, blocks, (features + vector - 1) / vector, product(stage.extents));
}

/// The reduction extents of a conv stage: (ci, kx, ky).
static std::vector<int64_t> convReduction(const Stage &stage) {
  if (stage.kind == StageKind::WinogradConv)
    return {constantExtent(stage.rdom.x), 3, 3};
  std::vector<int64_t> reduction;
  for (int i = 0; i < stage.rdom.dimensions(); ++i)
    reduction.push_back(constantExtent(stage.rdom[i]));
  return reduction;
}

static bool isLayer(const Stage &stage) {
  return (stage.kind == StageKind::Conv || stage.kind == StageKind::WinogradConv || stage.kind == StageKind::Dense) &&
         !stage.signature.empty();
}

std::vector<HalideLayer> describeLayers(const std::vector<Stage> &stages, const HalideScheduleOptions &options) {
  std::vector<HalideLayer> layers;
  for (const Stage &stage : stages) {
    if (!isLayer(stage))
      continue;
    HalideLayer layer;
    layer.kind = stage.kind == StageKind::Dense ? HalideLayer::Kind::Dense : HalideLayer::Kind::Conv;
    layer.name = stage.name;
    layer.signature = stage.signature;
    layer.ops = stage.ops;
    layer.extents = stage.extents;
    layer.winogradCapable = stage.winogradCapable;
    if (stage.kind == StageKind::Dense)
      layer.reduction = {constantExtent(stage.rdom.x)};
    else
      layer.reduction = convReduction(stage);
    auto tuned = options.tuned.find(layer.signature);
    layer.tuned = tuned != options.tuned.end();
    layer.schedule = effectiveSchedule(layer, layer.tuned ? tuned->second : options);
    layers.push_back(std::move(layer));
  }
  return layers;
}

void scheduleStages(std::vector<Stage> &stages, const std::vector<HalideLayer> &layers,
                    const HalideScheduleOptions &options) {
  auto layer = layers.begin();
  for (Stage &stage : stages) {
    if (isLayer(stage)) {
      const HalideStageSchedule &e = (layer++)->schedule;
      if (stage.kind == StageKind::WinogradConv)
        scheduleWinograd(stage, e);
      else if (stage.kind == StageKind::Conv)
        scheduleConv(stage, e);
      else
        scheduleDense(stage, e);
      continue;
    }
    switch (stage.kind) {
    case StageKind::Conv:
      scheduleConv(stage, effectiveConv(stage.extents, convReduction(stage), false, options));
      break;
    case StageKind::WinogradConv: {
      HalideStageSchedule winograd = options;
      winograd.convAlgorithm = ConvAlgorithm::Winograd;
      scheduleWinograd(stage, effectiveConv(stage.extents, convReduction(stage), true, winograd));
      break;
    }
    case StageKind::FilterGrad:
      scheduleFilterGrad(stage, options);
      break;
    case StageKind::Dense:
      scheduleDense(stage, effectiveDense(stage.extents, constantExtent(stage.rdom.x), options));
      break;
    case StageKind::RowReduction:
      scheduleRowReduction(stage, options);
      break;
    case StageKind::Copy:
      scheduleCopy(stage, options);
      break;
    case StageKind::Reduction:
      scheduleReduction(stage, options);
      break;
    case StageKind::Repack:
      scheduleRepack(stage, options);
      break;
    case StageKind::Inline:
      break;
    case StageKind::Pointwise:
      schedulePointwise(stage.output, stage.extents, options);
      break;
    }
  }
}

} // namespace kiln::halide

namespace kiln {

bool HalideStageSchedule::operator==(const HalideStageSchedule &o) const {
  return vectorWidth == o.vectorWidth && convChannelBlock == o.convChannelBlock &&
         convPixelBlock == o.convPixelBlock && convRowBlock == o.convRowBlock &&
         convReductionUnroll == o.convReductionUnroll && convChannelsOuter == o.convChannelsOuter &&
         convAlgorithm == o.convAlgorithm &&
         denseBlock == o.denseBlock && parallel == o.parallel &&
         parallelMinElements == o.parallelMinElements;
}

int64_t HalideLayer::flops() const { return 2 * halide::product(extents) * halide::product(reduction); }

HalideStageSchedule effectiveSchedule(const HalideLayer &layer, const HalideStageSchedule &requested) {
  return layer.kind == HalideLayer::Kind::Conv
             ? halide::effectiveConv(layer.extents, layer.reduction, layer.winogradCapable, requested)
                                               : halide::effectiveDense(layer.extents, layer.reduction[0], requested);
}

} // namespace kiln
