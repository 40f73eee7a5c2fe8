// Threads and scenario file lists for the failover program (cli/parallel.h).
#include "cli/parallel.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <system_error>
#include <thread>

namespace failover::cli {

void parallel_for(int jobs, std::size_t count, const std::function<void(std::size_t)>& task,
                  const std::atomic<bool>* stop, const std::function<void(std::size_t, double)>& done) {
  std::atomic<std::size_t> next{0};
  const auto worker = [&] {
    while (stop == nullptr || !stop->load()) {
      const std::size_t i = next++;
      if (i >= count) return;
      const auto start = std::chrono::steady_clock::now();
      task(i);
      if (done) done(i, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
  };
  const std::size_t threads = std::min<std::size_t>(static_cast<std::size_t>(std::max(jobs, 1)), count);
  std::vector<std::thread> pool;
  for (std::size_t t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (std::thread& t : pool) t.join();
}

sim::ParallelFor timed_parallel_for(int jobs, std::vector<double>& wall_seconds) {
  return [jobs, &wall_seconds](std::size_t count, const std::function<void(std::size_t)>& task) {
    wall_seconds.assign(count, 0.0);
    parallel_for(jobs, count, task, nullptr,
                 [&wall_seconds](std::size_t i, double seconds) { wall_seconds[i] = seconds; });
  };
}

int hardware_jobs() {
  const unsigned n = std::thread::hardware_concurrency();
  return static_cast<int>(std::clamp(n, 1U, 256U));
}

std::optional<std::vector<std::string>> scenario_files(const std::vector<std::string>& paths) {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  bool ok = true;
  for (const std::string& path : paths) {
    std::error_code ec;
    if (!fs::is_directory(path, ec)) {
      if (!fs::exists(path, ec)) {
        std::fprintf(stderr, "error: %s: no such file or folder\n", path.c_str());
        ok = false;
        continue;
      }
      files.push_back(path);
      continue;
    }
    std::vector<std::string> found;
    for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
      std::error_code type_ec;
      if (it->path().extension() == ".toml" && it->is_regular_file(type_ec)) found.push_back(it->path().string());
    }
    if (ec) {
      std::fprintf(stderr, "error: %s: cannot list the folder: %s\n", path.c_str(), ec.message().c_str());
      ok = false;
      continue;
    }
    if (found.empty()) {
      std::fprintf(stderr, "error: %s: the folder holds no *.toml scenario\n", path.c_str());
      ok = false;
      continue;
    }
    std::sort(found.begin(), found.end());
    files.insert(files.end(), found.begin(), found.end());
  }
  if (!ok) return std::nullopt;
  return files;
}

}  // namespace failover::cli
