// `kiln inspect`: imports a model and prints its layer table (compiler/analysis/ModelSummary.h),
// optionally writing a Graphviz graph of it, or printing the schedule each conv/dense layer gets
// from a tuning file.
#ifndef KILN_ANALYSIS_INSPECTCOMMAND_H
#define KILN_ANALYSIS_INSPECTCOMMAND_H

#include <cstdint>
#include <optional>
#include <string>

namespace kiln {

struct InspectOptions {
  std::string modelPath;
  std::optional<int64_t> batch;
  std::string dotPath; ///< empty: no graph
  std::string tuningPath; ///< kiln tune records: also print the Halide schedule each layer gets
};

/// Reports errors on stderr and returns the process exit code.
int runInspect(const InspectOptions &options);

} // namespace kiln

#endif
