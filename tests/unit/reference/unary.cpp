// Tests nn.unary's functions and their derivatives (reference::unaryFunction and unaryDerivative,
// and nn.unary / nn.unary_grad through the interpreter) against values PyTorch computed.
#include "run_model.h"

#include "compiler/reference/Kernels.h"
#include "compiler/reference/TrainingKernels.h"

#include "kiln/Dialect/NN/ShapeRules.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringRef.h"

#include <algorithm>
#include <cmath>

using namespace kiln;
using kiln::test::tensor;

namespace {

struct UnaryValues {
  const char *fn;
  double alpha, beta;
  std::vector<double> x, y, derivative;
};

// y = fn(x) and dy/dx, printed by tests/unit/reference/unary_values.py (torch 1.13, float64,
// autograd; selu is torch's with its alpha and scale as beta; step is (x > 0); celu is
// alpha * elu(x / alpha); at x = 0 torch takes sign(0) = 0 for abs and the x <= 0 branch for
// elu and selu, as the reference does).
const UnaryValues kUnaryValues[] = {
    {"exp", 1, 1,
     {-2.5, -1, -0.3, 0, 0.2, 0.7, 1.5, 3},
     {0.0820849986238988, 0.367879441171442, 0.740818220681718, 1, 1.22140275816017, 2.01375270747048,
      4.48168907033806, 20.0855369231877},
     {0.0820849986238988, 0.367879441171442, 0.740818220681718, 1, 1.22140275816017, 2.01375270747048,
      4.48168907033806, 20.0855369231877}},
    {"log", 1, 1,
     {0.2, 0.5, 1, 2.5, 4},
     {-1.6094379124341, -0.693147180559945, 0, 0.916290731874155, 1.38629436111989},
     {5, 2, 1, 0.4, 0.25}},
    {"sqrt", 1, 1,
     {0.2, 0.5, 1, 2.5, 4},
     {0.447213595499958, 0.707106781186548, 1, 1.58113883008419, 2},
     {1.11803398874989, 0.707106781186547, 0.5, 0.316227766016838, 0.25}},
    {"abs", 1, 1,
     {-2.5, -1, -0.3, 0, 0.2, 0.7, 1.5, 3},
     {2.5, 1, 0.3, 0, 0.2, 0.7, 1.5, 3},
     {-1, -1, -1, 0, 1, 1, 1, 1}},
    {"erf", 1, 1,
     {-2.5, -1, -0.3, 0, 0.2, 0.7, 1.5, 3},
     {-0.999593047982555, -0.842700792949715, -0.328626759459127, 0, 0.222702589210478, 0.677801193837418,
      0.966105146475311, 0.999977909503001},
     {0.00217828423035271, 0.415107497420595, 1.03126090961896, 1.12837916709551, 1.08413478710486,
      0.691274860410539, 0.118930289223629, 0.000139253051946748}},
    {"floor", 1, 1,
     {-2.5, -1, -0.3, 0, 0.2, 0.7, 1.5, 3},
     {-3, -1, -1, 0, 0, 0, 1, 3},
     {0, 0, 0, 0, 0, 0, 0, 0}},
    {"ceil", 1, 1,
     {-2.5, -1, -0.3, 0, 0.2, 0.7, 1.5, 3},
     {-2, -1, -0, 0, 1, 1, 2, 3},
     {0, 0, 0, 0, 0, 0, 0, 0}},
    {"neg", 1, 1,
     {-2.5, -1, -0.3, 0, 0.2, 0.7, 1.5, 3},
     {2.5, 1, 0.3, -0, -0.2, -0.7, -1.5, -3},
     {-1, -1, -1, -1, -1, -1, -1, -1}},
    {"reciprocal", 1, 1,
     {0.2, 0.5, 1, 2.5, 4},
     {5, 2, 1, 0.4, 0.25},
     {-25, -4, -1, -0.16, -0.0625}},
    {"round", 1, 1,
     {-2.5, -1.5, -0.5, -0.3, 0.5, 0.7, 1.5, 2.5},
     {-2, -2, -0, -0, 0, 1, 2, 2},
     {0, 0, 0, 0, 0, 0, 0, 0}},
    {"sign", 1, 1,
     {-2.5, -1, -0.3, 0, 0.2, 0.7, 1.5, 3},
     {-1, -1, -1, 0, 1, 1, 1, 1},
     {0, 0, 0, 0, 0, 0, 0, 0}},
    {"step", 1, 1,
     {-2.5, -1, -0.3, 0, 0.2, 0.7, 1.5, 3},
     {0, 0, 0, 0, 1, 1, 1, 1},
     {0, 0, 0, 0, 0, 0, 0, 0}},
    {"pow", 3, 1,
     {-2.5, -1, -0.3, 0, 0.2, 0.7, 1.5, 3},
     {-15.625, -1, -0.027, 0, 0.008, 0.343, 3.375, 27},
     {18.75, 3, 0.27, 0, 0.12, 1.47, 6.75, 27}},
    {"pow", 2.5, 1,
     {0.2, 0.5, 1, 2.5, 4},
     {0.0178885438199983, 0.176776695296637, 1, 9.88211768802619, 32},
     {0.223606797749979, 0.883883476483184, 2.5, 9.88211768802618, 20}},
    {"elu", 0.69999999999999996, 1,
     {-2.5, -1, -0.3, 0, 0.2, 0.7, 1.5, 3},
     {-0.642540500963271, -0.44248439117999, -0.181427245522797, 0, 0.2, 0.7, 1.5, 3},
     {0.0574594990367292, 0.25751560882001, 0.518572754477203, 0.7, 1, 1, 1, 1}},
    {"selu", 1.6732632423543772, 1.0507009873554805,
     {-2.5, -1, -0.3, 0, 0.2, 0.7, 1.5, 3},
     {-1.61378575887324, -1.11133073781256, -0.455667315379122, 0, 0.210140197471096, 0.735490691148836,
      1.57605148103322, 3.15210296206644},
     {0.144313581974134, 0.646768603034814, 1.30243202546825, 1.75809934084738, 1.05070098735548,
      1.05070098735548, 1.05070098735548, 1.05070098735548}},
    {"celu", 0.80000000000000004, 1,
     {-2.5, -1, -0.3, 0, 0.2, 0.7, 1.5, 3},
     {-0.764850453101274, -0.570796162511848, -0.250168576967222, 0, 0.2, 0.7, 1.5, 3},
     {0.0439369336234074, 0.28650479686019, 0.687289278790972, 1, 1, 1, 1, 1}},
    {"softplus", 1, 1,
     {-2.5, -1, -0.3, 0, 0.2, 0.7, 1.5, 3},
     {0.0788897342925496, 0.313261687518223, 0.554355244468527, 0.693147180559945, 0.798138869381592,
      1.10318604888546, 1.70141327798275, 3.04858735157374},
     {0.0758581800212436, 0.268941421369995, 0.425557483188341, 0.5, 0.549833997312478, 0.668187772168166,
      0.817574476193644, 0.952574126822433}},
    {"softsign", 1, 1,
     {-2.5, -1, -0.3, 0, 0.2, 0.7, 1.5, 3},
     {-0.714285714285714, -0.5, -0.230769230769231, 0, 0.166666666666667, 0.411764705882353, 0.6, 0.75},
     {0.0816326530612245, 0.25, 0.591715976331361, 1, 0.694444444444444, 0.346020761245675, 0.16, 0.0625}},
    {"mish", 1, 1,
     {-2.5, -1, -0.3, 0, 0.2, 0.7, 1.5, 3},
     {-0.196816203906533, -0.303401461374109, -0.151133177138335, 0, 0.132599001862159, 0.561148377643852,
      1.4033782663958, 2.98653500496796},
     {-0.109743572750186, 0.059216755877395, 0.408510876935702, 0.6, 0.724624540419841, 0.968794868200186,
      1.08848798500785, 1.02110691092944}},
    {"gelu", 1, 1,
     {-2.5, -1, -0.3, 0, 0.2, 0.7, 1.5, 3},
     {-0.0155241633144404, -0.158655253931457, -0.114626573343314, 0, 0.115851941887821, 0.530625443443849,
      1.39978919809671, 2.99595030590511},
     {-0.0376110859081452, -0.0833154705876863, 0.26767223317289, 0.5, 0.657468248234194, 0.97661410113366,
      1.12746919222998, 1.01194564720418}},
    {"gelu_tanh", 1, 1,
     {-2.5, -1, -0.3, 0, 0.2, 0.7, 1.5, 3},
     {-0.0150842660899986, -0.158808009391723, -0.114629076457241, 0, 0.115851429782106, 0.530570134705117,
      1.39957157698023, 2.99636260791823},
     {-0.0379515762126662, -0.0829640838457826, 0.267704548361198, 0.5, 0.6574581491957, 0.976357218656104,
      1.12771079315143, 1.01158416663097}},
    {"thresholded_relu", 0.40000000000000002, 1,
     {-2.5, -1, -0.3, 0, 0.2, 0.7, 1.5, 3},
     {0, 0, 0, 0, 0, 0.7, 1.5, 3},
     {0, 0, 0, 0, 0, 1, 1, 1}},
    {"silu", 1, 1,
     {-2.5, -1, -0.3, 0, 0.2, 0.7, 1.5, 3},
     {-0.189645450053109, -0.268941421369995, -0.127667244956502, 0, 0.109966799462496, 0.467731440517716,
      1.22636171429047, 2.8577223804673},
     {-0.0994011113415268, 0.0723294881285133, 0.352219989681117, 0.5, 0.59933731185485, 0.823386783473342,
      1.04129415429914, 1.08810410601517}},
    {"affine", -0.69999999999999996, 0.29999999999999999,
     {-2.5, -1, -0.3, 0, 0.2, 0.7, 1.5, 3},
     {2.05, 1, 0.51, 0.3, 0.16, -0.19, -0.75, -1.8},
     {-0.7, -0.7, -0.7, -0.7, -0.7, -0.7, -0.7, -0.7}},
};

/// |actual - expected| within 1e-12 of max(1, |expected|): both are float64 computations.
void expectClose(double actual, double expected, const std::string &what) {
  EXPECT_NEAR(actual, expected, 1e-12 * std::max(1.0, std::fabs(expected))) << what;
}

TEST(UnaryFunction, MatchesPyTorch) {
  for (const UnaryValues &v : kUnaryValues)
    for (size_t i = 0; i < v.x.size(); ++i) {
      const std::string what = std::string(v.fn) + "(" + std::to_string(v.x[i]) + ")";
      expectClose(reference::unaryFunction(v.fn, v.x[i], v.alpha, v.beta), v.y[i], what);
      expectClose(reference::unaryDerivative(v.fn, v.x[i], v.alpha, v.beta), v.derivative[i], what + "'");
    }
}

TEST(UnaryFunction, TableCoversEveryFunction) {
  for (llvm::StringRef fn : nn::unaryFunctions())
    EXPECT_TRUE(llvm::any_of(kUnaryValues, [&](const UnaryValues &v) { return fn == v.fn; })) << fn.str();
}

TEST(UnaryFunction, RoundHalvesToEven) {
  for (auto [x, y] : {std::pair{0.5, 0.0}, std::pair{1.5, 2.0}, std::pair{2.5, 2.0}, std::pair{-2.5, -2.0}})
    EXPECT_EQ(reference::unaryFunction("round", x, 1.0, 1.0), y) << x;
}

/// The rows of kUnaryValues for `fn` with `alpha` as float tensors: x, y and the derivative.
const UnaryValues &valuesOf(llvm::StringRef fn, double alpha) {
  return *llvm::find_if(kUnaryValues, [&](const UnaryValues &v) { return fn == v.fn && v.alpha == alpha; });
}

HostTensor floats(const std::vector<double> &values) {
  HostTensor t({static_cast<int64_t>(values.size())});
  std::transform(values.begin(), values.end(), t.data.begin(), [](double v) { return static_cast<float>(v); });
  return t;
}

TEST(Unary, OpPassesAlphaAndBetaToTheFunction) {
  // selu's constants and elu's alpha as f32 attributes: float results within 1e-6.
  for (auto [fn, alpha] : {std::pair{"selu", 1.6732632423543772}, std::pair{"elu", 0.7}, std::pair{"celu", 0.8}}) {
    const UnaryValues &v = valuesOf(fn, alpha);
    const std::string attributes = "fn = \"" + std::string(fn) + "\", alpha = " + std::to_string(v.alpha) +
                                   " : f32, beta = " + std::to_string(v.beta) + " : f32";
    HostTensor y = test::runOp("unary", {floats(v.x)}, {static_cast<int64_t>(v.x.size())}, attributes);
    test::expectTensor(y, floats(v.y).shape, floats(v.y).data, 1e-6f);
  }
}

TEST(UnaryGrad, IsTheOutputGradientTimesTheDerivative) {
  const UnaryValues &v = valuesOf("gelu", 1.0);
  HostTensor dy = floats(v.x);
  for (size_t i = 0; i < v.x.size(); ++i)
    dy.data[i] = static_cast<float>(0.5 * double(i) - 1.0);
  std::vector<float> expected;
  for (size_t i = 0; i < v.x.size(); ++i)
    expected.push_back(static_cast<float>(double(dy.data[i]) * v.derivative[i]));
  HostTensor dx = test::runOp("unary_grad", {floats(v.x), dy}, dy.shape, "fn = \"gelu\"");
  test::expectTensor(dx, dy.shape, expected, 1e-6f);
}

} // namespace
