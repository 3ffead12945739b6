// convert-nn-to-linalg, the training-mode forms and their backward rules (as
// compiler/halide/TrainingForms.cpp): activation_grad and dropout_train (elementwise generics; the
// dropout mask is DropoutHash.h's hash in i32 arithmetic of the step, the seed and the flat index),
// batch_norm_train / batch_norm_grad_input / batch_norm_grad_scale / running_stat_update (from the
// batch's per-channel statistics, Reductions.cpp), and the gradients of nn.unary (Elementwise.cpp's
// derivatives), nn.slice (a gather over the input's shape) and nn.reduce (elementwise from x, y, dy).
#include "compiler/linalg/PopulatePatterns.h"

#include "kiln/Dialect/NN/DropoutHash.h"
#include "kiln/Dialect/NN/NNOps.h"
#include "kiln/Dialect/NN/ShapeRules.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

namespace kiln::linalg_backend {
namespace {

struct ActivationGradLowering : OpConversionPattern<nn::ActivationGradOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(nn::ActivationGradOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &b) const override {
    StringRef activation = op.getActivation();
    if (activation != "relu" && activation != "leaky_relu" && activation != "tanh" && activation != "sigmoid")
      return b.notifyMatchFailure(op, "nn.activation_grad: unknown activation '" + activation + "'");
    float alpha = op.getAlpha().convertToFloat();
    b.replaceOp(
        op, elementwise(b, op.getLoc(), cast<RankedTensorType>(op.getType()),
                        ValueRange{adaptor.getOutput(), adaptor.getGradOutput()},
                        [activation, alpha](OpBuilder &nb, Location l, ValueRange a) -> Value {
                          Value y = a[0], dy = a[1], one = f32Constant(nb, l, 1.0f);
                          if (activation == "relu" || activation == "leaky_relu") {
                            Value positive =
                                arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OGT, y, f32Constant(nb, l, 0.0f));
                            Value otherwise =
                                activation == "relu"
                                    ? f32Constant(nb, l, 0.0f)
                                    : arith::MulFOp::create(nb, l, dy, f32Constant(nb, l, alpha)).getResult();
                            return arith::SelectOp::create(nb, l, positive, dy, otherwise);
                          }
                          if (activation == "tanh")
                            return arith::MulFOp::create(
                                nb, l, dy, arith::SubFOp::create(nb, l, one, arith::MulFOp::create(nb, l, y, y)));
                          return arith::MulFOp::create(nb, l, arith::MulFOp::create(nb, l, dy, y),
                                                       arith::SubFOp::create(nb, l, one, y));
                        }));
    return success();
  }
};

/// nn::dropoutHash of DropoutHash.h on i32 values (multiplication wraps mod 2^32).
Value dropoutHash(OpBuilder &b, Location l, Value step, uint32_t seed, Value index) {
  auto constant = [&](uint32_t value) -> Value {
    return arith::ConstantIntOp::create(b, l, static_cast<int64_t>(value), 32);
  };
  auto mul = [&](Value x, uint32_t by) -> Value { return arith::MulIOp::create(b, l, x, constant(by)); };
  auto mixShift = [&](Value x, uint32_t shift) -> Value {
    return arith::XOrIOp::create(b, l, x, arith::ShRUIOp::create(b, l, x, constant(shift)));
  };
  Value h = arith::XOrIOp::create(
      b, l, arith::XOrIOp::create(b, l, mul(index, 0x9E3779B1u), constant(seed * 0x85EBCA77u)), mul(step, 0xC2B2AE3Du));
  h = mul(mixShift(h, 16), 0x7FEB352Du);
  h = mul(mixShift(h, 15), 0x846CA68Bu);
  return mixShift(h, 16);
}

struct DropoutTrainLowering : OpConversionPattern<nn::DropoutTrainOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(nn::DropoutTrainOp op, OpAdaptor adaptor, ConversionPatternRewriter &b) const override {
    Location loc = op.getLoc();
    auto type = cast<RankedTensorType>(op.getType());
    const float rate = op.getRate().convertToFloat();
    const uint32_t seed = static_cast<uint32_t>(op.getSeed()), threshold = nn::dropoutThreshold(rate);
    Value step = arith::FPToUIOp::create(b, loc, b.getI32Type(), scalarAt(b, loc, adaptor.getHyper(), 1));
    b.replaceOp(
        op, elementwise(
                b, loc, type, ValueRange{adaptor.getInput()}, [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                  // The flat C-order index of the element.
                  Value flat = linalg::IndexOp::create(nb, l, 0);
                  for (int64_t d = 1; d < type.getRank(); ++d)
                    flat = arith::AddIOp::create(
                        nb, l,
                        arith::MulIOp::create(nb, l, flat, arith::ConstantIndexOp::create(nb, l, type.getDimSize(d))),
                        linalg::IndexOp::create(nb, l, d));
                  Value index = arith::IndexCastOp::create(nb, l, nb.getI32Type(), flat);
                  Value keeps =
                      arith::CmpIOp::create(nb, l, arith::CmpIPredicate::uge, dropoutHash(nb, l, step, seed, index),
                                            arith::ConstantIntOp::create(nb, l, static_cast<int64_t>(threshold), 32));
                  Value scaled = arith::DivFOp::create(nb, l, a[0], f32Constant(nb, l, 1.0f - rate));
                  return arith::SelectOp::create(nb, l, keeps, scaled, f32Constant(nb, l, 0.0f));
                }));
    return success();
  }
};

/// The batch statistics of a batch-norm op's input and 1 / sqrt(variance + epsilon), each [C].
struct Normalised {
  Value x;
  ChannelStatistics stats;
  Value inverseStd;
};

Normalised normalised(OpBuilder &b, Location loc, Value x, float epsilon) {
  Normalised n{x, channelStatistics(b, loc, x), {}};
  n.inverseStd =
      elementwise(b, loc, cast<RankedTensorType>(n.stats.variance.getType()), ValueRange{n.stats.variance},
                  [epsilon](OpBuilder &nb, Location l, ValueRange a) -> Value {
                    Value var = arith::AddFOp::create(nb, l, a[0], f32Constant(nb, l, epsilon));
                    return arith::DivFOp::create(nb, l, f32Constant(nb, l, 1.0f), math::SqrtOp::create(nb, l, var));
                  });
  return n;
}

/// xhat = (x - mean) * istd from block arguments x, mean, istd.
Value xhat(OpBuilder &b, Location l, Value x, Value mean, Value istd) {
  return arith::MulFOp::create(b, l, arith::SubFOp::create(b, l, x, mean), istd);
}

/// The per-channel sum of grad_output * xhat.
Value scaleGradient(OpBuilder &b, Location loc, const Normalised &n, Value dy) {
  return reduce(
      b, loc, cast<RankedTensorType>(n.x.getType()).getShape(), {1}, ValueRange{dy, n.x, n.stats.mean, n.inverseStd},
      [](OpBuilder &nb, Location l, ValueRange a) -> Value {
        return arith::MulFOp::create(nb, l, a[0], xhat(nb, l, a[1], a[2], a[3]));
      },
      Combiner::Add);
}

struct BatchNormTrainLowering : OpConversionPattern<nn::BatchNormTrainOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(nn::BatchNormTrainOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &b) const override {
    Location loc = op.getLoc();
    Normalised n = normalised(b, loc, adaptor.getInput(), op.getEpsilon().convertToFloat());
    b.replaceOp(op, elementwise(b, loc, cast<RankedTensorType>(op.getType()),
                                ValueRange{n.x, n.stats.mean, n.inverseStd, adaptor.getScale(), adaptor.getShift()},
                                [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                                  Value scaled = arith::MulFOp::create(nb, l, xhat(nb, l, a[0], a[1], a[2]), a[3]);
                                  return arith::AddFOp::create(nb, l, scaled, a[4]);
                                }));
    return success();
  }
};

struct BatchNormGradInputLowering : OpConversionPattern<nn::BatchNormGradInputOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(nn::BatchNormGradInputOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &b) const override {
    Location loc = op.getLoc();
    Normalised n = normalised(b, loc, adaptor.getInput(), op.getEpsilon().convertToFloat());
    Value dy = adaptor.getGradOutput();
    auto type = cast<RankedTensorType>(op.getType());
    const float count = perChannelCount(type.getShape());
    Value sumDy = reduce(b, loc, type.getShape(), {1}, ValueRange{dy}, firstInput, Combiner::Add);
    Value sumDyXhat = scaleGradient(b, loc, n, dy);
    // scale * istd * (dy - sum(dy) / M - xhat * (sum(dy * xhat) / M)).
    b.replaceOp(
        op,
        elementwise(b, loc, type, ValueRange{n.x, dy, n.stats.mean, n.inverseStd, adaptor.getScale(), sumDy, sumDyXhat},
                    [count](OpBuilder &nb, Location l, ValueRange a) -> Value {
                      Value m = f32Constant(nb, l, count);
                      Value centred = arith::SubFOp::create(nb, l, a[1], arith::DivFOp::create(nb, l, a[5], m));
                      Value projection = arith::MulFOp::create(nb, l, xhat(nb, l, a[0], a[2], a[3]),
                                                               arith::DivFOp::create(nb, l, a[6], m));
                      Value factor = arith::MulFOp::create(nb, l, a[4], a[3]);
                      return arith::MulFOp::create(nb, l, factor, arith::SubFOp::create(nb, l, centred, projection));
                    }));
    return success();
  }
};

struct BatchNormGradScaleLowering : OpConversionPattern<nn::BatchNormGradScaleOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(nn::BatchNormGradScaleOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &b) const override {
    Normalised n = normalised(b, op.getLoc(), adaptor.getInput(), op.getEpsilon().convertToFloat());
    b.replaceOp(op, scaleGradient(b, op.getLoc(), n, adaptor.getGradOutput()));
    return success();
  }
};

struct RunningStatUpdateLowering : OpConversionPattern<nn::RunningStatUpdateOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(nn::RunningStatUpdateOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &b) const override {
    Location loc = op.getLoc();
    StringRef statistic = op.getStatistic();
    if (statistic != "mean" && statistic != "var")
      return b.notifyMatchFailure(op, "nn.running_stat_update: unknown statistic '" + statistic + "'");
    ChannelStatistics stats = channelStatistics(b, loc, adaptor.getInput());
    const float count = perChannelCount(cast<RankedTensorType>(adaptor.getInput().getType()).getShape());
    const float momentum = op.getMomentum().convertToFloat();
    // The unbiased variance is M / (M - 1) times the biased one.
    const float correction = statistic == "mean" ? 1.0f : count / (count - 1.0f);
    Value batch = statistic == "mean" ? stats.mean : stats.variance;
    b.replaceOp(op,
                elementwise(b, loc, cast<RankedTensorType>(op.getType()), ValueRange{adaptor.getRunning(), batch},
                            [=](OpBuilder &nb, Location l, ValueRange a) -> Value {
                              Value value =
                                  statistic == "mean"
                                      ? a[1]
                                      : arith::MulFOp::create(nb, l, a[1], f32Constant(nb, l, correction)).getResult();
                              Value kept = arith::MulFOp::create(nb, l, f32Constant(nb, l, 1.0f - momentum), a[0]);
                              return arith::AddFOp::create(
                                  nb, l, kept, arith::MulFOp::create(nb, l, f32Constant(nb, l, momentum), value));
                            }));
    return success();
  }
};

struct UnaryGradLowering : OpConversionPattern<nn::UnaryGradOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(nn::UnaryGradOp op, OpAdaptor adaptor, ConversionPatternRewriter &b) const override {
    std::string fn = op.getFn().str();
    if (!llvm::is_contained(nn::unaryFunctions(), fn))
      return b.notifyMatchFailure(op, "nn.unary_grad: unknown function '" + fn + "'");
    float alpha = op.getAlpha().convertToFloat(), beta = op.getBeta().convertToFloat();
    b.replaceOp(op, elementwise(b, op.getLoc(), cast<RankedTensorType>(op.getType()),
                                ValueRange{adaptor.getInput(), adaptor.getGradOutput()},
                                [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                                  ScalarBuilder s{nb, l};
                                  return s.mul(a[1], unaryDerivative(s, fn, a[0], alpha, beta));
                                }));
    return success();
  }
};

/// result[j] = grad_output[i] where j = starts + i * steps along every dimension, else 0: one
/// generic over the result reading grad_output with tensor.extract at i = (j - start) / step
/// (clamped into range, the select discards it) wherever j - start is a multiple of the step and i
/// is in range. Negative steps need no special case.
struct SliceGradLowering : OpConversionPattern<nn::SliceGradOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(nn::SliceGradOp op, OpAdaptor adaptor, ConversionPatternRewriter &b) const override {
    auto type = cast<RankedTensorType>(op.getType());
    Value dy = adaptor.getGradOutput();
    ArrayRef<int64_t> taken = cast<RankedTensorType>(dy.getType()).getShape();
    SmallVector<int64_t> starts(op.getStarts()), steps(op.getSteps());
    ScalarFn gather = [&](OpBuilder &nb, Location l, ValueRange) -> Value {
      auto index = [&](int64_t v) -> Value { return arith::ConstantIndexOp::create(nb, l, v); };
      Value hit = arith::ConstantIntOp::create(nb, l, 1, 1);
      SmallVector<Value> at;
      for (int64_t d = 0; d < type.getRank(); ++d) {
        Value offset = arith::SubIOp::create(nb, l, linalg::IndexOp::create(nb, l, d), index(starts[d]));
        Value i = arith::DivSIOp::create(nb, l, offset, index(steps[d]));
        Value remainder = arith::RemSIOp::create(nb, l, offset, index(steps[d]));
        Value exact = arith::CmpIOp::create(nb, l, arith::CmpIPredicate::eq, remainder, index(0));
        Value inRange =
            arith::AndIOp::create(nb, l, arith::CmpIOp::create(nb, l, arith::CmpIPredicate::sge, i, index(0)),
                                  arith::CmpIOp::create(nb, l, arith::CmpIPredicate::slt, i, index(taken[d])));
        hit = arith::AndIOp::create(nb, l, hit, arith::AndIOp::create(nb, l, exact, inRange));
        at.push_back(arith::MinSIOp::create(nb, l, arith::MaxSIOp::create(nb, l, i, index(0)), index(taken[d] - 1)));
      }
      return arith::SelectOp::create(nb, l, hit, tensor::ExtractOp::create(nb, l, dy, at), f32Constant(nb, l, 0.0f));
    };
    b.replaceOp(op, mapped(b, op.getLoc(), type, ValueRange{}, {}, gather));
    return success();
  }
};

/// dx from x and the broadcast y and dy (ODS description of nn.reduce_grad): one generic, after a
/// count of the elements equal to the extreme for max / min.
struct ReduceGradLowering : OpConversionPattern<nn::ReduceGradOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(nn::ReduceGradOp op, OpAdaptor adaptor, ConversionPatternRewriter &b) const override {
    Location loc = op.getLoc();
    auto type = cast<RankedTensorType>(op.getType());
    Value input = adaptor.getInput(), output = adaptor.getOutput();
    auto reducedType = cast<RankedTensorType>(output.getType());
    std::string kind = op.getKind().str();
    if (!llvm::is_contained(nn::reduceKinds(), kind))
      return b.notifyMatchFailure(op, "nn.reduce_grad: unknown kind '" + kind + "'");
    if (kind == "arg_max" || kind == "arg_min") {
      b.replaceOp(op, filledTensor(b, loc, type, 0.0f));
      return success();
    }
    double count = static_cast<double>(type.getNumElements() / reducedType.getNumElements());
    AffineMap spread = broadcastMap(reducedType, type);
    SmallVector<Value> inputs{input, output, adaptor.getGradOutput()};
    SmallVector<AffineMap> maps{AffineMap::getMultiDimIdentityMap(type.getRank(), b.getContext()), spread, spread};
    if (kind == "max" || kind == "min") {
      SmallVector<int64_t> kept;
      for (int64_t d = 0; d < type.getRank(); ++d)
        if (!llvm::is_contained(op.getAxes(), d))
          kept.push_back(d);
      Value ties = reduce(
          b, loc, type.getShape(), kept, ValueRange{input, output},
          [](OpBuilder &nb, Location l, ValueRange a) {
            ScalarBuilder s{nb, l};
            return s.select(s.eq(a[0], a[1]), s.c(1.0), s.c(0.0));
          },
          Combiner::Add);
      inputs.push_back(withReducedDims(b, loc, ties, reducedType));
      maps.push_back(spread);
    }
    ScalarFn gradient = [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
      ScalarBuilder s{nb, l};
      Value x = a[0], y = a[1], dy = a[2];
      if (kind == "sum")
        return dy;
      if (kind == "mean")
        return s.div(dy, s.c(count));
      if (kind == "sum_square")
        return s.mul(s.mul(s.c(2.0), x), dy);
      if (kind == "l1")
        return s.mul(unaryFunction(s, "sign", x, 1.0f, 1.0f), dy);
      if (kind == "l2")
        return s.select(s.eq(y, s.c(0.0)), s.c(0.0), s.mul(s.div(x, y), dy));
      if (kind == "log_sum")
        return s.div(dy, s.exp(y));
      if (kind == "log_sum_exp")
        return s.mul(s.exp(s.sub(x, y)), dy);
      if (kind == "prod")
        return s.mul(s.div(y, x), dy);
      return s.select(s.eq(x, y), s.div(dy, a[3]), s.c(0.0)); // max, min: dy shared by the ties
    };
    b.replaceOp(op, mapped(b, loc, type, inputs, maps, gradient));
    return success();
  }
};

} // namespace

void populateTrainingFormPatterns(RewritePatternSet &patterns) {
  patterns.add<ActivationGradLowering, DropoutTrainLowering, BatchNormTrainLowering, BatchNormGradInputLowering,
               BatchNormGradScaleLowering, RunningStatUpdateLowering, UnaryGradLowering, SliceGradLowering,
               ReduceGradLowering>(patterns.getContext());
}

} // namespace kiln::linalg_backend
