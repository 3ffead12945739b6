// kiln tune's records: one JSON object per line, the best schedule measured for one layer
// signature on one Halide target, or for a whole pipeline (signature "pipeline ...") which of
// Kiln's schedules and Halide's autoschedulers was fastest. Reading names the file and line of any bad record; merging keeps
// the faster record per key; writing goes through a temporary file renamed into place, so the file
// on disk is always a complete, valid set of records (docs/tuning.md shows the format).
#ifndef KILN_TUNE_TUNINGRECORDS_H
#define KILN_TUNE_TUNINGRECORDS_H

#include "compiler/halide/HalideBackend.h"

#include "mlir/Support/LLVM.h"

#include <string>
#include <vector>

namespace kiln {

struct TuningRecord {
  std::string signature;        ///< HalideLayer::signature, or pipelineSignature()
  std::string target;           ///< Halide host target string the times were measured on
  HalideStageSchedule schedule; ///< layer records: the best schedule (effective knobs)
  double bestMs = 0;            ///< its median time for the layer alone, ms
  double defaultMs = 0;         ///< the default schedule's, measured alongside
  int trials = 0;               ///< candidates measured for this key, over all runs
  int threads = 0;              ///< Halide threads used to measure
  bool complete = false;        ///< the search used its whole budget share (a rerun skips it)
  std::vector<std::string> layers; ///< names of the layers with this signature (informative)
  std::string autoscheduler;       ///< pipeline records: the fastest autoscheduler; empty: Kiln's tuned
                                   ///< schedules; kDefaultSchedules: Kiln's defaults

  bool isPipeline() const { return signature.rfind("pipeline ", 0) == 0; }
};

/// One line of JSON for `record` (no newline).
std::string formatRecord(const TuningRecord &record);

/// Parses one line; on failure sets `error` (without the file and line).
mlir::LogicalResult parseRecord(const std::string &line, TuningRecord &record, std::string &error);

/// Reads every record of `path` (empty lines allowed). A missing file is an empty set when
/// `missingIsEmpty`. Errors read "path:line: error: ...".
mlir::LogicalResult readRecords(const std::string &path, bool missingIsEmpty, std::vector<TuningRecord> &records,
                                std::string &error);

/// Adds `record` to `records`: a new key is appended; for an existing key (signature, target) the
/// record with the smaller bestMs is kept, trials are summed and `complete` is or-ed.
void mergeRecord(std::vector<TuningRecord> &records, const TuningRecord &record);

/// Writes `records` to `path` through `path`.tmp and a rename.
mlir::LogicalResult writeRecords(const std::string &path, const std::vector<TuningRecord> &records,
                                 std::string &error);

/// The tuned schedules of the records of `path` measured on this host's target (what kiln
/// compile --tuning applies) into `options`: layer records into `tuned`, pipeline records into
/// `tunedPipelines`. Errors as readRecords; a missing file is an error.
mlir::LogicalResult readTunedSchedules(const std::string &path, HalideScheduleOptions &options, std::string &error);

/// The Halide host target string records are keyed by.
std::string hostTargetString();

} // namespace kiln

#endif
