// Runs independent tasks in forked child processes, a few at a time: the way the compiler uses
// both cores for work that is not thread-safe (Halide compiles one pipeline on one thread and
// shares global state between pipelines, so they cannot run on threads of one process).
#ifndef KILN_SUPPORT_FORKJOBS_H
#define KILN_SUPPORT_FORKJOBS_H

#include <cstddef>
#include <functional>
#include <string>

namespace kiln {

/// Runs `task(i, error)` for every i in [0, count), each in a child process forked from this one,
/// at most `jobs` at a time (with `jobs` <= 1 or `count` <= 1, in this process, in order). A task
/// reports failure by returning false with a message in `error` (up to 4000 bytes reach the
/// parent). Returns false, with the first failure's message (or how a child died), when any task
/// fails; after a failure no new task starts (the running ones finish). Effects of a task on this process's memory are lost: it must
/// leave its results in files.
bool runForked(size_t count, unsigned jobs, const std::function<bool(size_t, std::string &)> &task,
               std::string &error);

} // namespace kiln

#endif
