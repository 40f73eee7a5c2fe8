#include "tests/support/test_ca.h"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#ifndef FAILOVER_SOURCE_DIR
#error "FAILOVER_SOURCE_DIR must name the source tree (scripts/make-test-ca.sh)"
#endif

extern char** environ;  // NOLINT(readability-redundant-declaration): posix_spawn passes it on

namespace failover::test {
namespace {

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "test_ca: %s\n", what.c_str());
  std::abort();
}

std::string make_temp_dir() {
  std::error_code ec;
  std::filesystem::path base = std::filesystem::temp_directory_path(ec);
  if (ec) base = "/tmp";
  std::string pattern = (base / "failover-test-ca-XXXXXX").string();
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) fail("mkdtemp(" + pattern + "): " + std::strerror(errno));
  return std::string(buf.data());
}

// Runs `bash script dir` without a shell in between and waits for it.
void run_script(const std::string& script, const std::string& dir) {
  std::string bash = "/bin/bash";
  std::vector<char*> argv{bash.data(), const_cast<char*>(script.c_str()), const_cast<char*>(dir.c_str()), nullptr};
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, bash.c_str(), nullptr, nullptr, argv.data(), environ);
  if (rc != 0) fail("cannot start " + script + ": " + std::strerror(rc));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) fail(std::string("waitpid: ") + std::strerror(errno));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fail(script + " " + dir + " failed (status " + std::to_string(status) + ")");
  }
}

// Owns the directory: the function-local static below removes it at process exit.
struct OwnedCa {
  TestCa ca;
  OwnedCa() {
    ca.dir = make_temp_dir();
    run_script(std::string(FAILOVER_SOURCE_DIR) + "/scripts/make-test-ca.sh", ca.dir);
    ca.ca_file = ca.dir + "/ca.pem";
    ca.ca_key_file = ca.dir + "/ca.key";
    ca.server_cert_file = ca.dir + "/server.pem";
    ca.server_key_file = ca.dir + "/server.key";
    ca.wrong_host_cert_file = ca.dir + "/wrong-host.pem";
    ca.wrong_host_key_file = ca.dir + "/wrong-host.key";
    for (const std::string* f :
         {&ca.ca_file, &ca.server_cert_file, &ca.server_key_file, &ca.wrong_host_cert_file, &ca.wrong_host_key_file}) {
      if (!std::filesystem::is_regular_file(*f)) fail("missing " + *f);
    }
  }
  ~OwnedCa() {
    std::error_code ec;
    std::filesystem::remove_all(ca.dir, ec);
  }
  OwnedCa(const OwnedCa&) = delete;
  OwnedCa& operator=(const OwnedCa&) = delete;
};

}  // namespace

const TestCa& test_ca() {
  static const OwnedCa owned;
  return owned.ca;
}

}  // namespace failover::test
