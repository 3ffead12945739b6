// Tests runForked: every task runs once, in child processes when jobs > 1 (their files are the
// only results), at most `jobs` at a time; a failing task's message and a child killed by a
// signal reach the caller; after a failure no new task starts; jobs = 1 runs in this process.
#include "compiler/support/ForkJobs.h"

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

namespace kiln {
namespace {

namespace fs = std::filesystem;

struct ForkJobs : ::testing::Test {
  void SetUp() override {
    dir = fs::temp_directory_path() / ("kiln_fork_jobs_" + std::to_string(getpid()));
    fs::create_directories(dir);
  }
  void TearDown() override { fs::remove_all(dir); }
  fs::path file(size_t i) const { return dir / std::to_string(i); }
  fs::path dir;
};

TEST_F(ForkJobs, EveryTaskRunsOnceInAChild) {
  const pid_t parent = getpid();
  std::string error;
  ASSERT_TRUE(runForked(7, 3, [&](size_t i, std::string &) {
    std::ofstream(file(i)) << (getpid() != parent);
    return true;
  }, error)) << error;
  for (size_t i = 0; i < 7; ++i) {
    std::ifstream in(file(i));
    int inChild = -1;
    in >> inChild;
    EXPECT_EQ(inChild, 1) << "task " << i;
  }
}

TEST_F(ForkJobs, AtMostJobsAtOnce) {
  // Each task holds a marker file while it runs and counts the markers it sees.
  std::string error;
  ASSERT_TRUE(runForked(6, 2, [&](size_t i, std::string &) {
    std::ofstream(dir / ("running_" + std::to_string(i))).flush();
    usleep(100000);
    size_t running = 0;
    for (const auto &entry : fs::directory_iterator(dir))
      running += entry.path().filename().string().rfind("running_", 0) == 0;
    std::ofstream(file(i)) << running;
    fs::remove(dir / ("running_" + std::to_string(i)));
    return true;
  }, error)) << error;
  size_t most = 0;
  for (size_t i = 0; i < 6; ++i) {
    size_t seen = 0;
    std::ifstream(file(i)) >> seen;
    most = std::max(most, seen);
  }
  EXPECT_EQ(most, 2u);
}

TEST_F(ForkJobs, FailuresAndSignalsReachTheCaller) {
  std::string error;
  EXPECT_FALSE(runForked(3, 2, [&](size_t i, std::string &message) {
    message = "task " + std::to_string(i) + " says no";
    return i != 1;
  }, error));
  EXPECT_EQ(error, "task 1 says no");
  EXPECT_FALSE(runForked(2, 2, [&](size_t i, std::string &) {
    if (i == 0)
      raise(SIGKILL);
    return true;
  }, error));
  EXPECT_EQ(error, "task 0 died of signal 9");
}

TEST_F(ForkJobs, NoNewTaskAfterAFailure) {
  // Task 0 fails at once while task 1 runs for a while: tasks 2 to 4 never start.
  std::string error;
  EXPECT_FALSE(runForked(5, 2, [&](size_t i, std::string &message) {
    message = "task 0 fails";
    if (i == 0)
      return false;
    usleep(200000);
    std::ofstream(file(i)).flush();
    return true;
  }, error));
  EXPECT_EQ(error, "task 0 fails");
  EXPECT_TRUE(fs::exists(file(1)));
  for (size_t i = 2; i < 5; ++i)
    EXPECT_FALSE(fs::exists(file(i))) << "task " << i;
}

TEST_F(ForkJobs, OneJobRunsInThisProcessInOrder) {
  std::vector<size_t> order;
  std::string error;
  ASSERT_TRUE(runForked(4, 1, [&](size_t i, std::string &) {
    order.push_back(i);
    return true;
  }, error));
  EXPECT_EQ(order, (std::vector<size_t>{0, 1, 2, 3}));
}

} // namespace
} // namespace kiln
