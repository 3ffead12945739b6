// kiln tune's progress line on stderr: elapsed and remaining time of the budget, the layer being
// tuned, trials done and its best speedup so far. Redrawn in place on a terminal, one line per
// finished layer otherwise (logs, tests).
#ifndef KILN_TUNE_TUNEPROGRESS_H
#define KILN_TUNE_TUNEPROGRESS_H

#include <chrono>
#include <string>

namespace kiln {

class TuneProgress {
public:
  TuneProgress(double budgetSeconds, int layerCount);

  /// The state of layer `index` (0-based) after another trial.
  void update(int index, const std::string &layer, int trials, double bestSpeedup);
  /// Layer `index` is finished (prints its final line).
  void finishLayer(int index, const std::string &layer, int trials, double speedup);

private:
  std::string line(int index, const std::string &layer, int trials, double speedup) const;
  double budget;
  int layers;
  bool terminal;
  std::chrono::steady_clock::time_point start;
};

} // namespace kiln

#endif
