// Tasks in forked child processes (see ForkJobs.h).
#include "compiler/support/ForkJobs.h"

#include <cerrno>
#include <cstring>
#include <map>
#include <sys/wait.h>
#include <unistd.h>

namespace kiln {
namespace {

/// The most a child writes to its pipe: below PIPE_BUF, so the write never waits for the parent.
constexpr size_t kMessageLimit = 4000;

/// In the child: runs the task, writes its message to `fd` on failure, exits without unwinding
/// (the parent's buffered output and destructors belong to the parent).
[[noreturn]] void runChild(const std::function<bool(size_t, std::string &)> &task, size_t i, int fd) {
  std::string error;
  bool ok = false;
  try {
    ok = task(i, error);
  } catch (const std::exception &e) {
    error = e.what();
  }
  if (!ok) {
    error = error.substr(0, kMessageLimit);
    ssize_t written = write(fd, error.data(), error.size());
    (void)written;
  }
  _exit(ok ? 0 : 1);
}

/// The message a child left in `fd`.
std::string readMessage(int fd) {
  std::string text;
  char buffer[512];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof buffer)) > 0)
    text.append(buffer, static_cast<size_t>(n));
  return text;
}

} // namespace

bool runForked(size_t count, unsigned jobs, const std::function<bool(size_t, std::string &)> &task,
               std::string &error) {
  if (jobs <= 1 || count <= 1) {
    for (size_t i = 0; i < count; ++i)
      if (!task(i, error))
        return false;
    return true;
  }
  std::map<pid_t, std::pair<size_t, int>> running; // pid -> (task, read end of its pipe)
  std::string firstError;
  size_t next = 0;
  while ((next < count && firstError.empty()) || !running.empty()) {
    if (next < count && firstError.empty() && running.size() < jobs) {
      int fds[2];
      if (pipe(fds) != 0) {
        firstError = std::string("cannot create a pipe: ") + std::strerror(errno);
        continue;
      }
      pid_t pid = fork();
      if (pid == 0) {
        close(fds[0]);
        runChild(task, next, fds[1]);
      }
      close(fds[1]);
      if (pid < 0) {
        close(fds[0]);
        firstError = std::string("cannot fork: ") + std::strerror(errno);
        continue;
      }
      running[pid] = {next++, fds[0]};
      continue;
    }
    int status = 0;
    pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR)
        continue;
      firstError = firstError.empty() ? std::string("waitpid: ") + std::strerror(errno) : firstError;
      break;
    }
    auto child = running.find(pid);
    if (child == running.end())
      continue;
    std::string message = readMessage(child->second.second);
    close(child->second.second);
    size_t i = child->second.first;
    running.erase(child);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
      continue;
    if (message.empty())
      message = WIFSIGNALED(status) ? "task " + std::to_string(i) + " died of signal " + std::to_string(WTERMSIG(status))
                                    : "task " + std::to_string(i) + " failed";
    if (firstError.empty())
      firstError = message;
  }
  if (firstError.empty())
    return true;
  error = firstError;
  return false;
}

} // namespace kiln
