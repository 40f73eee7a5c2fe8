#include "core/transport/tls.h"

#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <exception>

#include "core/engine/assert.h"

namespace failover::transport {

namespace ssl = boost::asio::ssl;

Result<std::shared_ptr<ssl::context>> make_tls_context(const TlsOptions& options) {
  try {
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                     ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    if (SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION) != 1) {
      return Error{"tls", "cannot require TLS 1.2 or newer"};
    }
    ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
    if (options.system_trust_store) {
      boost::system::error_code ec;
      ctx->set_default_verify_paths(ec);
      if (ec) return Error{"tls", "cannot load the system trust store: " + ec.message()};
    }
    if (!options.ca_file.empty()) {
      boost::system::error_code ec;
      ctx->load_verify_file(options.ca_file, ec);
      if (ec) return Error{options.ca_file, "cannot load the CA file: " + ec.message()};
    }
    FAILOVER_ASSERT(ctx != nullptr);
    return ctx;
  } catch (const std::exception& e) {
    return Error{"tls", std::string("cannot make the TLS context: ") + e.what()};
  }
}

}  // namespace failover::transport
