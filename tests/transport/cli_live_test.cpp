// `failover live` as a subprocess against the fleet on loopback: answers, exit codes,
// Ctrl-C with a grace period, and -- the point of this file -- that no byte of its
// output ever holds the API key, whatever goes wrong. The program is looked up next to
// the test binary's folder (build/failover beside build/tests/transport_tests).
#include <gtest/gtest.h>

#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/transport/fleet_fixture.h"

extern char** environ;

namespace failover::test {
namespace {

namespace fs = std::filesystem;

constexpr const char* kKeyEnv = "FAILOVER_CANARY_KEY";

std::string failover_binary() {
  const fs::path exe = fs::read_symlink("/proc/self/exe");
  return (exe.parent_path().parent_path() / "failover").string();
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A key no output could contain by accident: a fixed prefix and a per-run suffix.
std::string canary_key() {
  const auto ticks = std::chrono::steady_clock::now().time_since_epoch().count();
  return std::string("sk-test-") + "FAILOVER-CANARY-" + std::to_string(getpid()) + "-" + std::to_string(ticks);
}

class LiveCli : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fleet_.ok());
    binary_ = failover_binary();
    ASSERT_TRUE(fs::exists(binary_)) << "build the failover program first: " << binary_;
    dir_ = fs::temp_directory_path() / ("failover-live-cli-" + std::to_string(getpid()));
    fs::create_directories(dir_);
    key_ = canary_key();
    setenv(kKeyEnv, key_.c_str(), 1);
    write_config("live.toml", kKeyEnv);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Every provider of tests/transport/faults.toml, with a route of its own, and "main"
  // (the 503 storm, then "ok"). `attempt` is the attempt and first-byte timeout.
  void write_config(const std::string& name, const std::string& key_env, const std::string& attempt = "300ms",
                    const std::string& request = "3s") {
    std::ofstream out(dir_ / name);
    for (const Index i : {0u, 1u, 2u, 3u, 4u, 5u, 6u, 7u}) {
      const ProviderConfig& provider = fleet_.scenario().policies.front().config.providers.at(i);
      const char* p = provider.name.c_str();
      const bool anthropic = provider.protocol == Protocol::anthropic;
      const std::string& model = provider.models.front().id;
      out << "[[providers]]\nname = \"" << p << "\"\nbase_url = \"" << fleet_.base_url(p) << "\"\nprotocol = \""
          << (anthropic ? "anthropic" : "openai") << "\"\napi_key_env = \"" << key_env << "\"\n"
          << "[[providers.models]]\nid = \"" << model << "\"\ninput_usd_per_mtok = 2.0\noutput_usd_per_mtok = 8.0\n\n";
      out << "[[routes]]\nname = \"" << p << "\"\ntargets = [{ provider = \"" << p << "\", model = \"" << model
          << "\" }]\n\n";
    }
    out << "[[routes]]\nname = \"main\"\ntargets = [\n  { provider = \"storm\", model = \"gpt-storm\", priority = 0 "
           "},\n"
        << "  { provider = \"ok\", model = \"gpt-ok\", priority = 1 },\n]\n\n";
    out << "[policy.timeouts]\nattempt = \"" << attempt << "\"\nfirst_byte = \"" << attempt << "\"\nrequest = \""
        << request << "\"\nconnect = \"2s\"\n";
    out << "[policy.retry]\nattempts_max = 2\nbackoff_base = \"10ms\"\n";
  }

  void write_input(const std::vector<std::string>& routes) {
    std::ofstream out(dir_ / "in.jsonl");
    for (const std::string& r : routes)
      out << "{\"prompt\": \"hello\", \"route\": \"" << r << "\", \"max_tokens\": 20}\n";
  }

  // Runs `failover live ARGS` with stdout and stderr into one file; sends SIGINT after
  // `interrupt_after` when given. Returns the exit code (-1: killed after 30 s).
  // `inspect`, when given, is called once with the running child's pid (before SIGINT).
  int run(const std::vector<std::string>& args,
          std::chrono::milliseconds interrupt_after = std::chrono::milliseconds(0),
          const std::function<void(pid_t)>& inspect = {}) {
    std::vector<std::string> argv{binary_, "live"};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> cargs;
    for (std::string& a : argv) cargs.push_back(a.data());
    cargs.push_back(nullptr);
    const std::string out_file = (dir_ / "output.txt").string();
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    pid_t pid = 0;
    const int spawned = posix_spawn(&pid, binary_.c_str(), &actions, nullptr, cargs.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    EXPECT_EQ(spawned, 0);
    if (spawned != 0) return -1;
    const auto start = std::chrono::steady_clock::now();
    bool interrupted = interrupt_after.count() == 0;
    int status = 0;
    if (inspect) inspect(pid);
    for (;;) {
      const pid_t done = waitpid(pid, &status, WNOHANG);
      if (done == pid) break;
      const auto elapsed = std::chrono::steady_clock::now() - start;
      if (!interrupted && elapsed >= interrupt_after) {
        kill(pid, SIGINT);
        interrupted = true;
      }
      if (elapsed > std::chrono::seconds(30)) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        output_ = read_file(out_file);
        return -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    output_ = read_file(out_file);
    all_output_ += output_;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  Fleet fleet_;
  std::string binary_;
  fs::path dir_;
  std::string key_;
  std::string output_;      // the last run's stdout and stderr
  std::string all_output_;  // every run's
};

TEST_F(LiveCli, AnswersAndFailoverExitZeroWhenEveryRequestSucceeds) {
  write_input({"ok", "main", "okant", "main"});
  const std::string config = (dir_ / "live.toml").string();
  EXPECT_EQ(run({"--config", config, "--input", (dir_ / "in.jsonl").string(), "--ca-file", test_ca().ca_file}), 0)
      << output_;
  EXPECT_NE(output_.find("4 succeeded"), std::string::npos) << output_;
  EXPECT_NE(output_.find("ok/gpt-ok, 2 attempts"), std::string::npos) << output_;  // failed over from the storm
  EXPECT_NE(output_.find("the fleet answers"), std::string::npos) << output_;
}

TEST_F(LiveCli, NoOutputEverContainsTheApiKey) {
  write_input({"ok", "main", "garbled", "reset", "hang", "cut", "limited", "okant"});
  const std::string config = (dir_ / "live.toml").string();
  const std::string input = (dir_ / "in.jsonl").string();
  const std::string ca = test_ca().ca_file;
  EXPECT_EQ(run({"--config", config, "--input", input, "--ca-file", ca, "--concurrency", "3"}), 1) << output_;
  EXPECT_NE(output_.find("failed"), std::string::npos) << output_;
  EXPECT_EQ(run({"--config", config, "--input", input, "--ca-file", ca, "--json", "--stream"}), 1) << output_;
  EXPECT_NE(output_.find("\"summary\""), std::string::npos) << output_;
  EXPECT_EQ(run({"--config", config, "--input", input}), 1) << output_;  // no CA: every handshake fails
  EXPECT_NE(output_.find("TLS handshake"), std::string::npos) << output_;
  write_config("missing.toml", "FAILOVER_CANARY_MISSING");
  unsetenv("FAILOVER_CANARY_MISSING");
  EXPECT_EQ(run({"--config", (dir_ / "missing.toml").string(), "--prompt", "hi", "--ca-file", ca}), 2) << output_;
  EXPECT_NE(output_.find("FAILOVER_CANARY_MISSING"), std::string::npos) << output_;
  EXPECT_EQ(all_output_.find(key_), std::string::npos) << "the API key appeared in the output";
  EXPECT_EQ(all_output_.find("FAILOVER-CANARY"), std::string::npos) << "part of the API key appeared in the output";
}

TEST_F(LiveCli, InterruptStopsAdmittingAndCancelsAfterTheGracePeriod) {
  write_input({"hang", "hang", "hang", "hang", "hang", "hang", "hang", "hang"});
  // Long timeouts: only the interrupt can end these requests early.
  write_config("slow.toml", kKeyEnv, "20s", "60s");
  const auto t0 = std::chrono::steady_clock::now();
  // Interrupt once the fleet holds both hung requests (live sets its SIGINT handler
  // before it sends anything): a fixed delay raced a slow start on a loaded machine.
  const std::int64_t expected_requests = fleet_.requests() + 2;
  const int code =
      run({"--config", (dir_ / "slow.toml").string(), "--input", (dir_ / "in.jsonl").string(), "--ca-file",
           test_ca().ca_file, "--concurrency", "2", "--grace", "300ms"},
          std::chrono::milliseconds(1), [&](pid_t) { EXPECT_TRUE(fleet_.wait_for_requests(expected_requests)); });
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(code, 1) << output_;
  EXPECT_LT(elapsed, std::chrono::seconds(5)) << output_;
  EXPECT_NE(output_.find("2 aborted, 6 not sent"), std::string::npos) << output_;
  // An aborted request reports the attempt it sent and the time it ran, not zeros.
  EXPECT_EQ(output_.find("0 attempts, 0.0 ms"), std::string::npos) << output_;
  EXPECT_NE(output_.find("aborted (aborted), 1 attempt, "), std::string::npos) << output_;
}

// `--input /dev/zero` grew to gigabytes: a line is read only up to the limit.
TEST_F(LiveCli, AnEndlessInputLineStopsAtTheLimit) {
  const std::string config = (dir_ / "live.toml").string();
  EXPECT_EQ(run({"--config", config, "--input", "/dev/zero"}), 2) << output_;
  EXPECT_NE(output_.find("/dev/zero:1: the line is longer than 4 MiB"), std::string::npos) << output_;
}

// The child's "Max core file size" soft limit, polled until it reads `want` or 5 s pass.
std::string core_limit_of(pid_t pid, const std::string& want) {
  std::string value;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    std::istringstream limits(read_file("/proc/" + std::to_string(pid) + "/limits"));
    for (std::string line; std::getline(limits, line);) {
      if (line.rfind("Max core file size", 0) != 0) continue;
      std::istringstream fields(line.substr(std::string("Max core file size").size()));
      fields >> value;
    }
    if (value == want) return value;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return value;
}

// The API keys are in live's memory: no core dump unless --allow-core-dump.
TEST_F(LiveCli, WritesNoCoreDumpUnlessAsked) {
  rlimit core{};
  ASSERT_EQ(getrlimit(RLIMIT_CORE, &core), 0);
  if (core.rlim_max != RLIM_INFINITY && core.rlim_max < 4096)
    GTEST_SKIP() << "core dumps are off for this test already";
  const rlimit saved = core;
#if defined(__SANITIZE_ADDRESS__)
  // AddressSanitizer's runtime turns core dumps off at start (disable_coredump=1 by
  // default): let the child under test decide for itself.
  const char* asan = std::getenv("ASAN_OPTIONS");
  const std::string options = std::string(asan != nullptr ? asan : "") + ":disable_coredump=0";
  setenv("ASAN_OPTIONS", options.c_str(), 1);
#endif
  core.rlim_cur = 4096;
  ASSERT_EQ(setrlimit(RLIMIT_CORE, &core), 0);  // the child inherits a non-zero limit
  write_input({"hang"});
  write_config("slow.toml", kKeyEnv, "20s", "60s");
  const std::vector<std::string> args{"--config",  (dir_ / "slow.toml").string(),
                                      "--input",   (dir_ / "in.jsonl").string(),
                                      "--ca-file", test_ca().ca_file,
                                      "--grace",   "0"};
  // Once the fleet has the request, live handles SIGINT (it sets the handler first).
  std::string seen;
  std::int64_t expected_requests = fleet_.requests() + 1;
  const auto inspect = [&](const std::string& want) {
    return [&, want](pid_t pid) {
      EXPECT_TRUE(fleet_.wait_for_requests(expected_requests));
      seen = core_limit_of(pid, want);
    };
  };
  EXPECT_EQ(run(args, std::chrono::milliseconds(1), inspect("0")), 1) << output_;
  EXPECT_EQ(seen, "0");
  std::vector<std::string> allowed = args;
  allowed.push_back("--allow-core-dump");
  expected_requests = fleet_.requests() + 1;
  EXPECT_EQ(run(allowed, std::chrono::milliseconds(1), inspect("4096")), 1) << output_;
  EXPECT_EQ(seen, "4096");
  setrlimit(RLIMIT_CORE, &saved);
}

TEST_F(LiveCli, UsageErrorsExitTwo) {
  const std::string config = (dir_ / "live.toml").string();
  EXPECT_EQ(run({"--config", config}), 2) << output_;  // neither --prompt nor --input
  EXPECT_EQ(run({"--config", config, "--prompt", "x", "--route", "nope"}), 2) << output_;
  EXPECT_NE(output_.find("no route named \"nope\""), std::string::npos) << output_;
  EXPECT_EQ(run({"--config", config, "--prompt", "x", "--grace", "soon"}), 2) << output_;
  EXPECT_EQ(run({"--config", (dir_ / "absent.toml").string(), "--prompt", "x"}), 2) << output_;
}

}  // namespace
}  // namespace failover::test
