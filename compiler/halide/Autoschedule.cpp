// Halide's autoschedulers as an alternative to Kiln's schedules: the plugin is loaded from the
// directory CMake found it in, then schedules every Func of the pipeline from the estimates the
// lowering set on the inputs and outputs (their static shapes).
#include "compiler/halide/Lowering.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <set>
#include <thread>

namespace kiln {

const std::vector<std::string> &halideAutoschedulers() {
  static const std::vector<std::string> names = {"Adams2019", "Mullapudi2016", "Li2018"};
  return names;
}

} // namespace kiln

namespace kiln::halide {

void applyAutoscheduler(Halide::Pipeline &pipeline, const std::string &name, int threads) {
  static std::set<std::string> loaded;
  if (loaded.insert(name).second) {
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    Halide::load_plugin(std::string(KILN_HALIDE_PLUGIN_DIR) + "/libautoschedule_" + lower + ".so");
  }
  // Adams2019's default beam search (32 wide) ran over 10 minutes and 13 GiB on ResNet-18 32x32
  // here; greedy (beam 1) still grew past 15 GiB on ResNet-18 224 within 5 minutes; greedy
  // without subtiling took 29 s and 1.6 GiB. Values the user set are kept.
  if (name == "Adams2019") {
    setenv("HL_BEAM_SIZE", "1", /*overwrite=*/0);
    setenv("HL_NO_SUBTILING", "1", /*overwrite=*/0);
  }
  if (threads <= 0)
    threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  // The last-level cache and the cost of a load against an op are the values Halide's own
  // apps use for x86 servers.
  const uint64_t cacheBytes = 32ull << 20;
  pipeline.auto_schedule(name, Halide::get_host_target(), Halide::MachineParams(threads, cacheBytes, 40));
}

} // namespace kiln::halide
