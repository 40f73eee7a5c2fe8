// The test certificate authority: made once per test process, at run time, by
// scripts/make-test-ca.sh in a fresh temporary directory that is removed at exit. The
// loopback TLS tests (serve_tests, transport_tests) serve with server.pem and verify
// against ca.pem; wrong-host.pem is a valid certificate for another name only, which a
// client checking the host name must refuse. No key material is kept in the repository.
#pragma once

#include <string>

namespace failover::test {

struct TestCa {
  std::string dir;                   // the temporary directory holding every file below
  std::string ca_file;               // ca.pem: the CA certificate to trust
  std::string ca_key_file;           // ca.key
  std::string server_cert_file;      // server.pem: DNS:localhost, IP:127.0.0.1, IP:::1
  std::string server_key_file;       // server.key
  std::string wrong_host_cert_file;  // wrong-host.pem: DNS:wrong.example only
  std::string wrong_host_key_file;   // wrong-host.key
};

// The process's test CA, made on first use (thread-safe). If the script fails it
// prints why and aborts the process: every TLS test would fail anyway.
const TestCa& test_ca();

}  // namespace failover::test
