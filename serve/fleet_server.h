// The fleet served over real HTTP(S): a scenario's fake providers behind a Beast
// server on loopback, each speaking its protocol (OpenAI chat completions or Anthropic
// messages, streaming included) and following the scenario's fault timeline in real
// time scaled by K. Any client -- ours, an official SDK, another gateway -- can be
// tested against the same outages the simulator replays.
//
// Provider P is served under the path prefix "/P": base_url(P) is what a client puts
// in its config's base_url (OpenAI: {base}/chat/completions; Anthropic:
// {base}/v1/messages).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/engine/config.h"
#include "core/engine/result.h"
#include "core/engine/time.h"
#include "sim/scenario.h"

namespace boost::asio {
class io_context;
}

namespace failover::serve {

struct FleetOptions {
  std::string host = "127.0.0.1";  // must be a loopback address
  std::uint16_t port = 0;          // 0: any free port (see FleetServer::port)
  std::string tls_cert_file;       // PEM chain; with tls_key_file: HTTPS, else plain HTTP
  std::string tls_key_file;
  std::int64_t time_scale = 1;  // K: scenario time runs K times faster than real time
  Duration start_at{0};         // scenario time at the moment the server starts
  std::uint64_t seed = 1;       // the fleet's randomness, as a simulation seed
  // Real time a connection may sit with no answer under way (idle between requests, or
  // mid-way through sending one) before the server closes it; 0: never.
  Duration idle_timeout = sec(60);
  // Every answer is max_tokens long, as a simulated call answers its arrival's output
  // tokens (`failover run --live`, which sends those as max_tokens); false: lengths drawn
  // from the scenario's traffic mix, capped by max_tokens (AnswerLengths).
  bool answer_max_tokens = false;
  // Connections open at once, and from one client address (below connections_max, so
  // one address cannot take every connection). A client of the fleet on loopback is one
  // address: `failover run --live` raises both to what its policy's pools may open.
  std::size_t connections_max = 1'024;
  std::size_t connections_per_address_max = 256;
  // The least real time between two paced writes of one answer (serve/fleet_wire.h,
  // coalesce_steps); 0: every piece of a stream is written at its own time, as a provider
  // streams to a client watching it. `failover run --live` sets it: there only the first
  // byte and the end of an answer are measured, and a write per piece costs the machine
  // more than the run can spare.
  Duration write_gap{0};
};

inline constexpr std::size_t kFleetConnectionsLimit = 16'384;

struct FleetStats {
  std::int64_t requests = 0;
  std::int64_t bad_requests = 0;  // not decodable, unknown path or model
};

// One provider's counters, as its FakeProvider kept them (calls, successes, faults).
struct ProviderServeStats {
  std::string name;
  Protocol protocol = Protocol::openai;
  sim::ProviderStats stats;
  std::int32_t inflight = 0;  // concurrency slots held now (hangs until their client closes)
};

// Whether `host` is one the fleet may listen on: a loopback IP literal (127.0.0.0/8,
// ::1) or "localhost". FleetServer::start checks it too; the CLI calls it first to tell
// a usage error from a failure to start.
Status check_listen_host(const std::string& host);

class FleetServer {
 public:
  virtual ~FleetServer() = default;
  // Binds and starts accepting on `io`; the caller runs `io` (on one thread).
  static Result<std::unique_ptr<FleetServer>> start(boost::asio::io_context& io, const sim::Scenario& scenario,
                                                    const FleetOptions& options);
  [[nodiscard]] virtual std::uint16_t port() const noexcept = 0;
  // The steady_clock instant at which scenario time was options.start_at: scenario time
  // t is reached at origin() + (t - start_at) / K. A client that replays the scenario's
  // traffic against the fleet schedules it from here.
  [[nodiscard]] virtual std::chrono::steady_clock::time_point origin() const noexcept = 0;
  [[nodiscard]] virtual std::string base_url(std::string_view provider) const = 0;
  [[nodiscard]] virtual FleetStats stats() const noexcept = 0;  // safe from any thread
  // Per provider, in the scenario's order. Only on the io_context's thread, or once it
  // no longer runs.
  [[nodiscard]] virtual std::vector<ProviderServeStats> provider_stats() const = 0;
  // Stops accepting and closes every connection (freeing held slots); pending handlers
  // finish on `io`, which then runs out of work. Posted to `io`: callable from any thread.
  virtual void stop() = 0;
};

}  // namespace failover::serve
