// kiln tune's progress line (see TuneProgress.h).
#include "compiler/tune/TuneProgress.h"

#include <algorithm>
#include <cstdio>
#include <unistd.h>

namespace kiln {

static std::string minutes(double seconds) {
  int s = static_cast<int>(std::max(0.0, seconds) + 0.5);
  char text[32];
  std::snprintf(text, sizeof text, "%dm%02ds", s / 60, s % 60);
  return text;
}

TuneProgress::TuneProgress(double budgetSeconds, int layerCount)
    : budget(budgetSeconds), layers(layerCount), terminal(isatty(STDERR_FILENO)),
      start(std::chrono::steady_clock::now()) {}

std::string TuneProgress::line(int index, const std::string &layer, int trials, double speedup) const {
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const int width = 20;
  int filled = budget > 0 ? std::min(width, static_cast<int>(width * elapsed / budget)) : width;
  std::string bar = "[" + std::string(filled, '#') + std::string(width - filled, '.') + "]";
  char text[512];
  std::snprintf(text, sizeof text, "%s %s, ETA %s | layer %d/%d %.60s | %d trials | best %.2fx", bar.c_str(),
                minutes(elapsed).c_str(), minutes(budget - elapsed).c_str(), index + 1, layers, layer.c_str(), trials,
                speedup);
  return text;
}

void TuneProgress::update(int index, const std::string &layer, int trials, double bestSpeedup) {
  if (!terminal)
    return;
  std::fprintf(stderr, "\r\033[K%s", line(index, layer, trials, bestSpeedup).c_str());
  std::fflush(stderr);
}

void TuneProgress::finishLayer(int index, const std::string &layer, int trials, double speedup) {
  std::fprintf(stderr, "%s%s\n", terminal ? "\r\033[K" : "", line(index, layer, trials, speedup).c_str());
  std::fflush(stderr);
}

} // namespace kiln
