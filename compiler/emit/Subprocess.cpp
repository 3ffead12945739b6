// posix_spawn-based tool runner (see Subprocess.h): no shell, no printing, output captured.
#include "compiler/emit/Subprocess.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

namespace kiln {

std::string commandLine(const std::vector<std::string> &argv) {
  std::string line;
  for (const std::string &arg : argv) {
    if (!line.empty())
      line += ' ';
    bool plain = !arg.empty() && arg.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                       "0123456789-_./=,:+@%") == std::string::npos;
    if (plain) {
      line += arg;
      continue;
    }
    line += '\'';
    for (char c : arg)
      line += c == '\'' ? std::string("'\\''") : std::string(1, c);
    line += '\'';
  }
  return line;
}

std::vector<std::string> splitCommand(const std::string &command) {
  std::vector<std::string> words;
  size_t pos = 0;
  while (true) {
    pos = command.find_first_not_of(" \t", pos);
    if (pos == std::string::npos)
      break;
    size_t end = command.find_first_of(" \t", pos);
    words.push_back(command.substr(pos, end == std::string::npos ? std::string::npos : end - pos));
    pos = end;
  }
  return words;
}

bool runTool(const std::vector<std::string> &argv, std::string &output, std::string &error) {
  output.clear();
  if (argv.empty()) {
    error = "internal error: empty command";
    return false;
  }
  int pipeFds[2];
  if (::pipe2(pipeFds, O_CLOEXEC) != 0) {
    error = "cannot run '" + argv[0] + "': pipe: " + std::strerror(errno);
    return false;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipeFds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, pipeFds[1], 2);

  std::vector<char *> args;
  for (const std::string &arg : argv)
    args.push_back(const_cast<char *>(arg.c_str()));
  args.push_back(nullptr);

  pid_t pid = 0;
  int spawnError = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipeFds[1]);
  if (spawnError != 0) {
    ::close(pipeFds[0]);
    error = "cannot run '" + argv[0] + "': " + std::strerror(spawnError);
    return false;
  }
  char buffer[4096];
  while (true) {
    ssize_t n = ::read(pipeFds[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    output.append(buffer, static_cast<size_t>(n));
  }
  ::close(pipeFds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      error = "cannot wait for '" + argv[0] + "': " + std::strerror(errno);
      return false;
    }
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
    return true;
  if (WIFEXITED(status))
    error = "`" + commandLine(argv) + "` exited with status " + std::to_string(WEXITSTATUS(status));
  else if (WIFSIGNALED(status))
    error = "`" + commandLine(argv) + "` was killed by signal " + std::to_string(WTERMSIG(status)) +
            " (" + strsignal(WTERMSIG(status)) + ")";
  else
    error = "`" + commandLine(argv) + "` failed";
  if (!output.empty())
    error += ":\n" + output;
  while (!error.empty() && error.back() == '\n')
    error.pop_back();
  return false;
}

} // namespace kiln
