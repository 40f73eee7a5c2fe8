// Shared text for the scenario tests: a small two-provider scenario (a 94% 503 storm on
// the primary with a 3-minute buffer), written line by line so that a test can swap
// one line for a bad one and know the line number the loader must name.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace failover::sim::testing {

inline std::vector<std::string> small_scenario_lines() {
  return {
      "[scenario]",                                       // 1
      "title = \"small storm\"",                          // 2
      "duration = \"10m\"",                               // 3
      "seeds = [1, 2]",                                   // 4
      "",                                                 // 5
      "[traffic]",                                        // 6
      "rate_rpm = 2400",                                  // 7
      "arrivals_until = \"9m30s\"",                       // 8
      "",                                                 // 9
      "[[traffic.classes]]",                              // 10
      "name = \"all\"",                                   // 11
      "route = \"main\"",                                 // 12
      "prompt_tokens = 500",                              // 13
      "output_tokens = { p50 = 150, p99 = 400 }",         // 14
      "",                                                 // 15
      "[buffer]",                                         // 16
      "capacity = 7200",                                  // 17
      "mode = \"requeue\"",                               // 18
      "",                                                 // 19
      "[[providers]]",                                    // 20
      "name = \"primary\"",                               // 21
      "concurrency_max = 400",                            // 22
      "[[providers.models]]",                             // 23
      "id = \"m1\"",                                      // 24
      "input_usd_per_mtok = 3.0",                         // 25
      "output_usd_per_mtok = 15.0",                       // 26
      "[providers.sim]",                                  // 27
      "latency = { p50 = \"400ms\", p99 = \"2s\" }",      // 28
      "",                                                 // 29
      "[[providers]]",                                    // 30
      "name = \"backup\"",                                // 31
      "concurrency_max = 400",                            // 32
      "[[providers.models]]",                             // 33
      "id = \"m2\"",                                      // 34
      "input_usd_per_mtok = 2.0",                         // 35
      "output_usd_per_mtok = 8.0",                        // 36
      "[providers.sim]",                                  // 37
      "latency = { p50 = \"300ms\", p99 = \"1500ms\" }",  // 38
      "",                                                 // 39
      "[[routes]]",                                       // 40
      "name = \"main\"",                                  // 41
      "targets = [{ provider = \"primary\", model = \"m1\", priority = 0 }, { provider = \"backup\", model = \"m2\", "
      "priority = 1 }]",             // 42
      "",                            // 43
      "[policy.queue]",              // 44
      "depth_max = 20000",           // 45
      "requests_max = 20000",        // 46
      "",                            // 47
      "[[faults]]",                  // 48
      "name = \"storm\"",            // 49
      "provider = \"primary\"",      // 50
      "kind = \"http_error\"",       // 51
      "start = \"1m\"",              // 52
      "duration = \"8m\"",           // 53
      "intensity = \"94%\"",         // 54
      "delay = \"10s\"",             // 55
      "",                            // 56
      "[baselines]",                 // 57
      "direct = true",               // 58
      "",                            // 59
      "[[expect]]",                  // 60
      "metric = \"overflow_at\"",    // 61
      "never = true",                // 62
      "",                            // 63
      "[[expect]]",                  // 64
      "metric = \"failover_time\"",  // 65
      "at_most = \"60s\"",           // 66
      "",                            // 67
      "[[expect]]",                  // 68
      "policy = \"direct\"",         // 69
      "metric = \"overflow_at\"",    // 70
      "never = true",                // 71
  };
}

inline std::string join_lines(const std::vector<std::string>& lines) {
  std::string text;
  for (const std::string& line : lines) text += line + "\n";
  return text;
}

inline std::string small_scenario() {
  return join_lines(small_scenario_lines());
}

}  // namespace failover::sim::testing
