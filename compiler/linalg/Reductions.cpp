// Reductions shared by the lowerings (as compiler/halide/Reductions.cpp for the Halide backend): one
// linalg.generic combining a term over every dimension but a kept few (channel sums, row
// statistics, whole-tensor sums), softmax's max and sum of exponentials along an axis, and a
// batch's per-channel mean and variance; and nn.reduce, every kind, built from them.
#include "compiler/linalg/PopulatePatterns.h"

#include "kiln/Dialect/NN/NNOps.h"

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
  auto shapeType = RankedTensorType::get(shape, b.getF32Type());
  AffineMap keptMap = AffineMap::get(rank, 0, keptExprs, ctx);
  SmallVector<AffineMap> maps;
  for (Value input : inputs) {
    auto inputType = cast<RankedTensorType>(input.getType());
    maps.push_back(inputType.getRank() == rank ? broadcastMap(inputType, shapeType) : keptMap);
  }
  maps.push_back(keptMap);
  const float inf = std::numeric_limits<float>::infinity();
  float start = combiner == Combiner::Add   ? 0.0f
                : combiner == Combiner::Max ? -inf
                : combiner == Combiner::Min ? inf
                                            : 1.0f;
  auto type = RankedTensorType::get(keptShape, b.getF32Type());
  return linalg::GenericOp::create(b, loc, TypeRange{type}, inputs, ValueRange{filledTensor(b, loc, type, start)}, maps,
                                   iterators,
                                   [&](OpBuilder &nb, Location nl, ValueRange args) {
                                     Value value = term(nb, nl, args), acc = args.back();
                                     Value combined;
                                     switch (combiner) {
                                     case Combiner::Add:
                                       combined = arith::AddFOp::create(nb, nl, acc, value);
                                       break;
                                     case Combiner::Max:
                                       combined = arith::MaximumFOp::create(nb, nl, acc, value);
                                       break;
                                     case Combiner::Min:
                                       combined = arith::MinimumFOp::create(nb, nl, acc, value);
                                       break;
                                     case Combiner::Mul:
                                       combined = arith::MulFOp::create(nb, nl, acc, value);
                                       break;
                                     }
                                     linalg::YieldOp::create(nb, nl, combined);
                                   })
      .getResult(0);
}

namespace {

/// nn.reduce: reduce() over the kept dimensions (two passes for log_sum_exp, the maximum first, and
/// for arg_max / arg_min, the extreme first and then the least index holding it), a finishing
/// generic for mean / l2 / log_sum / log_sum_exp, then the reduced dimensions back as extent 1.
struct ReduceLowering : OpConversionPattern<nn::ReduceOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(nn::ReduceOp op, OpAdaptor adaptor, ConversionPatternRewriter &b) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    ArrayRef<int64_t> shape = cast<RankedTensorType>(x.getType()).getShape();
    ArrayRef<int64_t> axes = op.getAxes();
    SmallVector<int64_t> kept;
    double count = 1.0;
    for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d) {
      if (llvm::is_contained(axes, d))
        count *= static_cast<double>(shape[d]);
      else
        kept.push_back(d);
    }
    auto reduceWith = [&](ValueRange inputs, const ScalarFn &term, Combiner combiner) {
      return reduce(b, loc, shape, kept, inputs, term, combiner);
    };
    auto finish = [&](ValueRange inputs, const ScalarFn &body) {
      return elementwise(b, loc, cast<RankedTensorType>(inputs[0].getType()), inputs, body);
    };
    auto squared = [](OpBuilder &nb, Location l, ValueRange a) -> Value {
      return ScalarBuilder{nb, l}.mul(a[0], a[0]);
    };
    StringRef kind = op.getKind();
    Value result;
    if (kind == "sum" || kind == "mean" || kind == "log_sum") {
      result = reduceWith(x, firstInput, Combiner::Add);
      if (kind != "sum")
        result = finish(result, [&](OpBuilder &nb, Location l, ValueRange a) {
          ScalarBuilder s{nb, l};
          return kind == "mean" ? s.div(a[0], s.c(count)) : s.log(a[0]);
        });
    } else if (kind == "max" || kind == "min" || kind == "prod") {
      result = reduceWith(x, firstInput, kind == "max" ? Combiner::Max : kind == "min" ? Combiner::Min : Combiner::Mul);
    } else if (kind == "sum_square" || kind == "l2") {
      result = reduceWith(x, squared, Combiner::Add);
      if (kind == "l2")
        result = finish(result, [](OpBuilder &nb, Location l, ValueRange a) {
          return ScalarBuilder{nb, l}.sqrt(a[0]);
        });
    } else if (kind == "l1") {
      result = reduceWith(
          x,
          [](OpBuilder &nb, Location l, ValueRange a) {
            return ScalarBuilder{nb, l}.abs(a[0]);
          },
          Combiner::Add);
    } else if (kind == "log_sum_exp") {
      Value max = reduceWith(x, firstInput, Combiner::Max);
      Value sum = reduceWith(
          ValueRange{x, max},
          [](OpBuilder &nb, Location l, ValueRange a) {
            ScalarBuilder s{nb, l};
            return s.exp(s.sub(a[0], a[1]));
          },
          Combiner::Add);
      result = finish(ValueRange{max, sum}, [](OpBuilder &nb, Location l, ValueRange a) {
        ScalarBuilder s{nb, l};
        return s.add(a[0], s.log(a[1]));
      });
    } else if (kind == "arg_max" || kind == "arg_min") {
      Value extreme = reduceWith(x, firstInput, kind == "arg_max" ? Combiner::Max : Combiner::Min);
      int64_t axis = axes[0];
      result = reduceWith(
          ValueRange{x, extreme},
          [axis](OpBuilder &nb, Location l, ValueRange a) {
            ScalarBuilder s{nb, l};
            Value index = arith::IndexCastOp::create(nb, l, nb.getI64Type(), linalg::IndexOp::create(nb, l, axis));
            Value position = arith::SIToFPOp::create(nb, l, nb.getF32Type(), index);
            return s.select(s.eq(a[0], a[1]), position, s.c(std::numeric_limits<float>::infinity()));
          },
          Combiner::Min);
    } else {
      return b.notifyMatchFailure(op, "nn.reduce: unknown kind '" + kind + "'");
    }
    b.replaceOp(op, withReducedDims(b, loc, result, cast<RankedTensorType>(op.getType())));
    return success();
  }
};

} // namespace

void populateReductionPatterns(RewritePatternSet &patterns) { patterns.add<ReduceLowering>(patterns.getContext()); }

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
