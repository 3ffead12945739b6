// kiln tune's summary table and kiln inspect --tuning's schedule table (see TuneReport.h).
#include "compiler/tune/TuneReport.h"

#include "compiler/tune/ScheduleSpace.h"

#include "llvm/Support/Format.h"

#include <algorithm>

namespace kiln {

/// Prints `rows` (the first is the header) as left-aligned columns; the last column is not padded.
static void printColumns(const std::vector<std::vector<std::string>> &rows, llvm::raw_ostream &os) {
  std::vector<size_t> width(rows.front().size(), 0);
  for (const auto &row : rows)
    for (size_t c = 0; c < row.size(); ++c)
      width[c] = std::max(width[c], row[c].size());
  for (size_t r = 0; r < rows.size(); ++r) {
    for (size_t c = 0; c < rows[r].size(); ++c)
      os << (c + 1 < rows[r].size() ? llvm::left_justify(rows[r][c], width[c] + 2) : llvm::left_justify(rows[r][c], 0));
    os << "\n";
    if (r == 0) {
      size_t total = 0;
      for (size_t w : width)
        total += w + 2;
      os << std::string(std::min<size_t>(total, 120), '-') << "\n";
    }
  }
}

static std::string fixed(double value, int digits) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::format(digits == 2 ? "%.2f" : "%.3f", value);
  return text;
}

void printTuneSummary(const std::vector<LayerTuning> &results, llvm::raw_ostream &os) {
  std::vector<std::vector<std::string>> rows = {
      {"layers", "default ms", "best ms", "speedup", "schedule", "note", "signature"}};
  for (const LayerTuning &r : results) {
    std::string layers = r.layers.front() + (r.layers.size() > 1 ? " +" + std::to_string(r.layers.size() - 1) : "");
    bool timed = r.bestMs > 0;
    rows.push_back({layers, timed ? fixed(r.defaultMs, 3) : "-", timed ? fixed(r.bestMs, 3) : "-",
                    timed ? fixed(r.defaultMs / r.bestMs, 2) + "x" : "-", formatSchedule(r.kind, r.best),
                    r.note.empty() ? "tuned" : r.note, r.signature});
  }
  printColumns(rows, os);
}

void printLayerSchedules(const HalideModel &model, llvm::raw_ostream &os) {
  if (!model.autoscheduler.empty()) {
    os << "the whole pipeline: Halide's " << model.autoscheduler << " autoscheduler (kiln tune found it fastest)\n";
    return;
  }
  std::vector<std::vector<std::string>> rows = {{"layer", "schedule", "source", "signature"}};
  for (const HalideLayer &layer : model.layers)
    rows.push_back({layer.name, formatSchedule(layer.kind, layer.schedule), layer.tuned ? "tuned" : "default",
                    layer.signature});
  printColumns(rows, os);
}

} // namespace kiln
