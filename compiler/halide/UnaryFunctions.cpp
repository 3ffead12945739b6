// The elementwise functions of nn.unary and their derivatives (nn.unary_grad) as Halide
// expressions, the formulas of reference::unaryFunction / unaryDerivative. Every function
// vectorizes: Halide's Float(32) exp, log, erf and sqrt are vector code; tanh, expm1 and log1p,
// which Halide would call from libm once per element, are polynomial or rational approximations
// here (within a few float ulp). softplus, elu, selu, celu and mish stay finite and accurate for
// large |x|.
#include "compiler/halide/Lowering.h"

#include <cmath>
#include <limits>

using mlir::FailureOr;

namespace kiln::halide {

Halide::Expr rationalTanh(Halide::Expr x) {
  // Eigen's float approximation, within 3 ulp; tanh rounds to +-1 beyond the clamp.
  Halide::Expr c = Halide::clamp(x, -7.90531110763549805f, 7.90531110763549805f), c2 = c * c;
  Halide::Expr p = c2 * -2.76076847742355e-16f + 2.00018790482477e-13f;
  for (float coefficient : {-8.60467152213735e-11f, 5.12229709037114e-08f, 1.48572235717979e-05f,
                            6.37261928875436e-04f, 4.89352455891786e-03f})
    p = p * c2 + coefficient;
  Halide::Expr q = c2 * 1.19825839466702e-06f + 1.18534705686654e-04f;
  for (float coefficient : {2.26843463243900e-03f, 4.89352518554385e-03f})
    q = q * c2 + coefficient;
  return Halide::select(Halide::abs(x) < 0.0004f, x, c * p / q);
}

Halide::Expr sigmoid(Halide::Expr x) { return 1.0f / (1.0f + Halide::exp(-x)); }

/// exp(x) - 1 without cancellation near 0: Taylor terms to x^9 / 9! below |x| = 0.5 (relative
/// error below 1e-8 there), exp(x) - 1 beyond.
static Halide::Expr expm1(Halide::Expr x) {
  Halide::Expr series = 1.0f;
  for (int k = 9; k >= 2; --k)
    series = 1.0f + x * (1.0f / static_cast<float>(k)) * series;
  return Halide::select(Halide::abs(x) < 0.5f, x * series, Halide::exp(x) - 1.0f);
}

/// log(1 + u) for u in [0, 1], accurate for tiny u: 2 atanh(s) with s = u / (2 + u) <= 1/3, whose
/// odd series to s^17 / 17 is within 1e-9 relative.
static Halide::Expr log1pUnit(Halide::Expr u) {
  Halide::Expr s = u / (2.0f + u), s2 = s * s, series = 1.0f / 17.0f;
  for (int k = 15; k >= 1; k -= 2)
    series = series * s2 + 1.0f / static_cast<float>(k);
  return 2.0f * s * series;
}

/// log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)): neither overflows nor loses small results.
static Halide::Expr softplus(Halide::Expr x) {
  return Halide::max(x, 0.0f) + log1pUnit(Halide::exp(-Halide::abs(x)));
}

/// tanh(softplus(x)) = n / (n + 2) with n = e (e + 2), e = exp(x); exactly 1 in float past x = 20.
static Halide::Expr tanhSoftplus(Halide::Expr x) {
  Halide::Expr e = Halide::exp(Halide::min(x, 20.0f)), n = e * (e + 2.0f);
  return n / (n + 2.0f);
}

static Halide::Expr sign(Halide::Expr x) {
  return Halide::select(x > 0.0f, 1.0f, Halide::select(x < 0.0f, -1.0f, 0.0f));
}

Halide::Expr power(Halide::Expr base, Halide::Expr exponent) {
  // |base|^exponent, negated for a negative base and an odd integer exponent; NaN for a negative
  // base and a non-integer exponent (as std::pow).
  Halide::Expr magnitude = Halide::exp(exponent * Halide::log(Halide::abs(base)));
  Halide::Expr integer = Halide::floor(exponent) == exponent;
  Halide::Expr odd = integer && Halide::floor(exponent * 0.5f) != exponent * 0.5f;
  Halide::Expr negative = Halide::select(integer, Halide::select(odd, -magnitude, magnitude),
                                         Halide::Expr(std::numeric_limits<float>::quiet_NaN()));
  return Halide::select(exponent == 0.0f, 1.0f, Halide::select(base < 0.0f, negative, magnitude));
}

Halide::Expr power(Halide::Expr base, float exponent) {
  if (exponent == 0.5f)
    return Halide::sqrt(base);
  if (exponent == -0.5f)
    return 1.0f / Halide::sqrt(base);
  if (exponent != std::floor(exponent) || std::fabs(exponent) > 64.0f)
    return power(base, Halide::Expr(exponent));
  // An integer: products by squaring.
  int n = static_cast<int>(std::fabs(exponent));
  Halide::Expr result = 1.0f, square = base;
  bool first = true;
  for (; n > 0; n >>= 1) {
    if (n & 1) {
      result = first ? square : result * square;
      first = false;
    }
    if (n > 1)
      square = square * square;
  }
  return exponent < 0.0f ? 1.0f / result : result;
}

namespace {
constexpr float kSqrtHalf = 0.70710678118654752f;
constexpr float kSqrtTwoOverPi = 0.79788456080286536f;
constexpr float kInverseSqrtTwoPi = 0.39894228040143268f;
constexpr float kTwoOverSqrtPi = 1.12837916709551257f;

Halide::Expr geluTanhArgument(Halide::Expr x) { return kSqrtTwoOverPi * (x + 0.044715f * x * x * x); }
} // namespace

static std::optional<Halide::Expr> valueOf(llvm::StringRef fn, Halide::Expr x, float alpha, float beta) {
  if (fn == "exp")
    return Halide::exp(x);
  if (fn == "log")
    return Halide::log(x);
  if (fn == "sqrt")
    return Halide::sqrt(x);
  if (fn == "abs")
    return Halide::abs(x);
  if (fn == "erf")
    return Halide::erf(x);
  if (fn == "floor")
    return Halide::floor(x);
  if (fn == "ceil")
    return Halide::ceil(x);
  if (fn == "neg")
    return -x;
  if (fn == "reciprocal")
    return 1.0f / x;
  if (fn == "round")
    return Halide::round(x); // halves to even
  if (fn == "sign")
    return sign(x);
  if (fn == "step")
    return Halide::select(x > 0.0f, 1.0f, 0.0f);
  if (fn == "pow")
    return power(x, alpha);
  if (fn == "elu")
    return Halide::select(x > 0.0f, x, alpha * expm1(x));
  if (fn == "selu")
    return beta * Halide::select(x > 0.0f, x, alpha * expm1(x));
  if (fn == "celu")
    return Halide::max(x, 0.0f) + Halide::min(0.0f, alpha * expm1(x / alpha));
  if (fn == "softplus")
    return softplus(x);
  if (fn == "softsign")
    return x / (1.0f + Halide::abs(x));
  if (fn == "mish")
    return x * tanhSoftplus(x);
  if (fn == "gelu")
    return 0.5f * x * (1.0f + Halide::erf(x * kSqrtHalf));
  if (fn == "gelu_tanh")
    return 0.5f * x * (1.0f + rationalTanh(geluTanhArgument(x)));
  if (fn == "thresholded_relu")
    return Halide::select(x > alpha, x, 0.0f);
  if (fn == "silu")
    return x * sigmoid(x);
  if (fn == "affine")
    return x * alpha + beta;
  return std::nullopt;
}

static std::optional<Halide::Expr> derivativeOf(llvm::StringRef fn, Halide::Expr x, float alpha, float beta) {
  if (fn == "exp")
    return Halide::exp(x);
  if (fn == "log")
    return 1.0f / x;
  if (fn == "sqrt")
    return 0.5f / Halide::sqrt(x);
  if (fn == "abs")
    return sign(x);
  if (fn == "erf")
    return kTwoOverSqrtPi * Halide::exp(-x * x);
  if (fn == "floor" || fn == "ceil" || fn == "round" || fn == "sign" || fn == "step")
    return Halide::Expr(0.0f);
  if (fn == "neg")
    return Halide::Expr(-1.0f);
  if (fn == "reciprocal")
    return -1.0f / (x * x);
  if (fn == "pow")
    return alpha == 0.0f ? Halide::Expr(0.0f) : alpha * power(x, alpha - 1.0f);
  if (fn == "elu")
    return Halide::select(x > 0.0f, 1.0f, alpha * Halide::exp(x));
  if (fn == "selu")
    return beta * Halide::select(x > 0.0f, 1.0f, alpha * Halide::exp(x));
  if (fn == "celu")
    return Halide::select(x > 0.0f, 1.0f, Halide::exp(x / alpha));
  if (fn == "softplus")
    return sigmoid(x);
  if (fn == "softsign") {
    Halide::Expr d = 1.0f + Halide::abs(x);
    return 1.0f / (d * d);
  }
  if (fn == "mish") {
    Halide::Expr t = tanhSoftplus(x);
    return t + x * (1.0f - t * t) * sigmoid(x);
  }
  if (fn == "gelu")
    return 0.5f * (1.0f + Halide::erf(x * kSqrtHalf)) + x * Halide::exp(-0.5f * x * x) * kInverseSqrtTwoPi;
  if (fn == "gelu_tanh") {
    Halide::Expr t = rationalTanh(geluTanhArgument(x));
    return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * kSqrtTwoOverPi * (1.0f + 3.0f * 0.044715f * x * x);
  }
  if (fn == "thresholded_relu")
    return Halide::select(x > alpha, 1.0f, 0.0f);
  if (fn == "affine")
    return Halide::Expr(alpha);
  if (fn == "silu") {
    Halide::Expr s = sigmoid(x);
    return s * (1.0f + x * (1.0f - s));
  }
  return std::nullopt;
}

FailureOr<Halide::Expr> unaryFunction(llvm::StringRef fn, Halide::Expr x, float alpha, float beta, bool derivative,
                                      std::string &error) {
  std::optional<Halide::Expr> y = derivative ? derivativeOf(fn, x, alpha, beta) : valueOf(fn, x, alpha, beta);
  if (!y) {
    error = "unknown unary function '" + fn.str() + "' (kiln::nn::unaryFunctions() lists them)";
    return mlir::failure();
  }
  return *y;
}

} // namespace kiln::halide
