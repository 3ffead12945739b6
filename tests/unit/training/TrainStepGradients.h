// Test helpers for nn-autodiff: a @forward written op by op as MLIR text, and the check of the
// gradients nn-autodiff's @train_step gives its parameters against central differences of the
// step's loss.
#ifndef KILN_TESTS_UNIT_TRAINING_TRAINSTEPGRADIENTS_H
#define KILN_TESTS_UNIT_TRAINING_TRAINSTEPGRADIENTS_H

#include "GradientCheck.h"

#include <map>
#include <string>
#include <vector>

namespace kiln::test {

/// Uniform values in [lo, hi) none of which is within `margin` of a point of `kinks`.
HostTensor randomAvoiding(std::vector<int64_t> shape, std::mt19937 &rng, double lo, double hi,
                          const std::vector<double> &kinks, double margin = 0.05);

/// A @forward written op by op in MLIR's generic form, with the values of its arguments.
class ForwardModel {
public:
  /// A trained parameter argument (nn.param = name); returns its SSA name, "%<name>".
  std::string param(const std::string &name, HostTensor value);
  /// An input argument (no gradient).
  std::string input(const std::string &name, HostTensor value);
  /// Appends `"nn.<op>"(operands) {attributes} : (...) -> tensor<result>`; returns its result.
  std::string op(const std::string &name, const std::vector<std::string> &operands, std::vector<int64_t> result,
                 const std::string &attributes = "");
  /// The module text of @forward returning `output`.
  std::string text(const std::string &output) const;
  /// The value of `value` (an argument or an op's result) on the arguments' values.
  HostTensor evaluate(const std::string &value) const;
  /// Whether every element of `value` is at least `margin` from each of `kinks`.
  bool staysClearOf(const std::string &value, const std::vector<double> &kinks, double margin) const;

  /// Runs nn-autodiff{loss=mse optimizer=sgd} on text(output) and checks, for every parameter, the
  /// gradient @train_step gives it ((p - p') / lr after one sgd step) against central differences
  /// of the step's loss: the mse to a target uniform in [-1, 1), or, with `targetNearOutput`, to
  /// the output plus that noise. The first keeps the loss far from its minimum and so close to
  /// linear in the output (small truncation error); the second keeps the loss, and so its float
  /// rounding, small whatever the output's offset, for the small gradients of a network's first
  /// layers. Fails the test, naming the parameter and its relative L2 error, where that error is
  /// above fd.tolerance; a failure of the pass or the interpreter fails it too.
  void expectGradients(const std::string &output, std::mt19937 &rng, const FiniteDifference &fd,
                       bool targetNearOutput = false) const;

private:
  struct Argument {
    std::string name;
    HostTensor value;
    bool trained;
  };
  std::vector<Argument> arguments;
  std::map<std::string, std::vector<int64_t>> shapes; ///< by SSA name
  std::string body;
};

} // namespace kiln::test

#endif
