// Reductions shared by the lowerings (as compiler/halide/Reductions.cpp for the Halide backend): one
// linalg.generic combining a term over every dimension but a kept few (channel sums, row
// statistics, whole-tensor sums), softmax's max and sum of exponentials along an axis, and a
// batch's per-channel mean and variance.
#include "compiler/linalg/PopulatePatterns.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

#include <limits>

using namespace mlir;

namespace kiln::linalg_backend {

Value firstInput(OpBuilder &, Location, ValueRange args) { return args[0]; }

Value reduce(OpBuilder &b, Location loc, ArrayRef<int64_t> shape, ArrayRef<int64_t> kept, ValueRange inputs,
             const ScalarFn &term, Combiner combiner) {
  MLIRContext *ctx = b.getContext();
  int64_t rank = static_cast<int64_t>(shape.size());
  SmallVector<int64_t> keptShape;
  SmallVector<AffineExpr> keptExprs;
  SmallVector<utils::IteratorType> iterators(rank, utils::IteratorType::reduction);
  for (int64_t d : kept) {
    keptShape.push_back(shape[d]);
    keptExprs.push_back(getAffineDimExpr(d, ctx));
    iterators[d] = utils::IteratorType::parallel;
  }
  AffineMap identity = AffineMap::getMultiDimIdentityMap(rank, ctx), keptMap = AffineMap::get(rank, 0, keptExprs, ctx);
  SmallVector<AffineMap> maps;
  for (Value input : inputs)
    maps.push_back(cast<RankedTensorType>(input.getType()).getRank() == rank ? identity : keptMap);
  maps.push_back(keptMap);
  float start = combiner == Combiner::Add ? 0.0f : -std::numeric_limits<float>::infinity();
  auto type = RankedTensorType::get(keptShape, b.getF32Type());
  return linalg::GenericOp::create(b, loc, TypeRange{type}, inputs, ValueRange{filledTensor(b, loc, type, start)}, maps,
                                   iterators,
                                   [&](OpBuilder &nb, Location nl, ValueRange args) {
                                     Value value = term(nb, nl, args), acc = args.back();
                                     Value combined = combiner == Combiner::Add
                                                          ? arith::AddFOp::create(nb, nl, acc, value).getResult()
                                                          : arith::MaximumFOp::create(nb, nl, acc, value).getResult();
                                     linalg::YieldOp::create(nb, nl, combined);
                                   })
      .getResult(0);
}

SoftmaxStatistics softmaxStatistics(OpBuilder &b, Location loc, Value x, int64_t axis) {
  ArrayRef<int64_t> shape = cast<RankedTensorType>(x.getType()).getShape();
  SmallVector<int64_t> kept;
  for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d)
    if (d != axis)
      kept.push_back(d);
  Value max = reduce(b, loc, shape, kept, ValueRange{x}, firstInput, Combiner::Max);
  Value sumExp = reduce(
      b, loc, shape, kept, ValueRange{x, max},
      [](OpBuilder &nb, Location l, ValueRange a) -> Value {
        return math::ExpOp::create(nb, l, arith::SubFOp::create(nb, l, a[0], a[1]));
      },
      Combiner::Add);
  return {max, sumExp};
}

float perChannelCount(ArrayRef<int64_t> shape) {
  int64_t count = 1;
  for (auto [d, extent] : llvm::enumerate(shape))
    count *= d == 1 ? 1 : extent;
  return static_cast<float>(count);
}

ChannelStatistics channelStatistics(OpBuilder &b, Location loc, Value x) {
  ArrayRef<int64_t> shape = cast<RankedTensorType>(x.getType()).getShape();
  auto channels = RankedTensorType::get({shape[1]}, b.getF32Type());
  const float count = perChannelCount(shape);
  auto perCount = [count](OpBuilder &nb, Location nl, ValueRange a) -> Value {
    return arith::DivFOp::create(nb, nl, a[0], f32Constant(nb, nl, count));
  };
  Value sum = reduce(b, loc, shape, {1}, ValueRange{x}, firstInput, Combiner::Add);
  Value mean = elementwise(b, loc, channels, ValueRange{sum}, perCount);
  Value squares = reduce(
      b, loc, shape, {1}, ValueRange{x, mean},
      [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
        Value deviation = arith::SubFOp::create(nb, nl, a[0], a[1]);
        return arith::MulFOp::create(nb, nl, deviation, deviation);
      },
      Combiner::Add);
  return {mean, elementwise(b, loc, channels, ValueRange{squares}, perCount)};
}

} // namespace kiln::linalg_backend
