// A certificate authority made for one run and thrown away after it: `failover run
// --live` serves the scenario's fleet over TLS on loopback and verifies it, as any
// client does, against a CA that exists only for that run. Made with OpenSSL in memory
// (EC P-256, valid for one day): a CA certificate and a server certificate for
// IP:127.0.0.1, DNS:localhost, written into a fresh private (0700) temporary directory
// because the fleet and the TLS client take PEM files; the directory is removed when
// the RunCa is destroyed. No key leaves the directory, and the directory outlives the
// run by nothing.
#pragma once

#include <memory>
#include <string>

#include "core/engine/result.h"

namespace failover::serve {

class RunCa {
 public:
  // Makes the keys and certificates and writes them. An Error says which step failed.
  static Result<std::unique_ptr<RunCa>> make();
  ~RunCa();
  RunCa(const RunCa&) = delete;
  RunCa& operator=(const RunCa&) = delete;

  [[nodiscard]] const std::string& ca_file() const noexcept { return ca_file_; }             // trust this
  [[nodiscard]] const std::string& server_cert_file() const noexcept { return cert_file_; }  // serve with these
  [[nodiscard]] const std::string& server_key_file() const noexcept { return key_file_; }

 private:
  RunCa() = default;
  std::string dir_;
  std::string ca_file_;
  std::string cert_file_;
  std::string key_file_;
};

}  // namespace failover::serve
