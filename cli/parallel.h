// Threads for the failover program: the simulator owns none (STYLE 3.4), so the CLI runs
// independent tasks -- one simulation each -- on a pool of its own, and lists the
// scenario files a command line names. Shared by `run` and `sweep`; results never
// depend on how many threads ran them, only wall times do.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "sim/expect.h"

namespace failover::cli {

// Runs task(i) for every i in [0, count) on up to `jobs` threads, the calling thread
// one of them, each task exactly once, in any order. Once `*stop` (optional) reads true
// no further task starts; the running ones finish. `done(i, wall_seconds)` (optional)
// runs after each task, on the thread that ran it.
void parallel_for(int jobs, std::size_t count, const std::function<void(std::size_t)>& task,
                  const std::atomic<bool>* stop = nullptr, const std::function<void(std::size_t, double)>& done = {});

// A sim::ParallelFor on up to `jobs` threads that records each task's wall time.
sim::ParallelFor timed_parallel_for(int jobs, std::vector<double>& wall_seconds);

// The machine's hardware threads (at least 1, at most 256): the default --jobs.
int hardware_jobs();

// The scenario files the command line names: each file as given, each folder's *.toml
// files sorted by name. Says why (on stderr) and returns empty on a path that is
// neither, or a folder without a scenario.
std::optional<std::vector<std::string>> scenario_files(const std::vector<std::string>& paths);

}  // namespace failover::cli
