// The TLS client context every live connection uses: TLS 1.2 or newer, the peer's
// certificate always verified (the system trust store, plus an optional CA file for
// private endpoints and test servers). There is deliberately no switch that turns
// verification off. Host-name checks and SNI are set per connection (http_client.cpp).
#pragma once

#include <memory>
#include <string>

#include "core/engine/result.h"

namespace boost::asio::ssl {
class context;
}

namespace failover::transport {

struct TlsOptions {
  std::string ca_file;             // PEM bundle trusted in addition to the system store; empty: none
  bool system_trust_store = true;  // tests turn it off to prove an unknown CA is refused
};

// A client context per the rules above. An unreadable or invalid CA file is an Error
// naming the file. Never throws.
Result<std::shared_ptr<boost::asio::ssl::context>> make_tls_context(const TlsOptions& options);

}  // namespace failover::transport
