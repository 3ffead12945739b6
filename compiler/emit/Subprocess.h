// Runs an external tool (C compiler, linker, archiver) from an argument vector, without a
// shell, capturing what it prints. Used by library emission; usable by any tool driver.
#ifndef KILN_EMIT_SUBPROCESS_H
#define KILN_EMIT_SUBPROCESS_H

#include <string>
#include <vector>

namespace kiln {

/// Runs argv[0] (looked up in PATH) with `argv`, stdin from /dev/null, stdout and stderr
/// captured together into `output`. Returns true when the tool exited with status 0. Otherwise
/// `error` says which command failed and how (cannot start, exit status, signal), followed by
/// what the tool printed.
bool runTool(const std::vector<std::string> &argv, std::string &output, std::string &error);

/// The command as a shell-like line, for messages ('quoted' where needed).
std::string commandLine(const std::vector<std::string> &argv);

/// Splits a command given in an environment variable such as CC="ccache gcc -m64" at spaces.
std::vector<std::string> splitCommand(const std::string &command);

} // namespace kiln

#endif
