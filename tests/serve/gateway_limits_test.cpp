// What one caller may cost the others: a client that sends its headers slowly is cut off
// at header_read_timeout while another is served at once; idle connections beyond the
// per-client cap give way to a newcomer instead of shutting it out; an oversized body is
// refused with 413. And the [serve] table: how it reads, and the rule that keeps the
// gateway from being an open proxy.
#include <gtest/gtest.h>

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "core/config/load.h"
#include "serve/gateway_config.h"
#include "serve/gateway_routes.h"
#include "tests/serve/gateway_fixture.h"

namespace failover::test {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// A raw TCP connection to the gateway, for clients that misbehave.
struct RawClient {
  explicit RawClient(std::uint16_t port) : socket(io) {
    socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
  }
  // Waits, for at most `limit`, until the server closes the connection; true if it did.
  bool closed_by_server_within(std::chrono::milliseconds limit) {
    bool closed = false;
    std::array<char, 1'024> buffer{};
    std::function<void()> read_more = [&] {
      socket.async_read_some(asio::buffer(buffer), [&](const boost::system::error_code& e, std::size_t) {
        if (e) {
          closed = true;
          return;
        }
        read_more();
      });
    };
    read_more();
    io.run_for(limit);
    return closed;
  }
  asio::io_context io;
  tcp::socket socket;
  boost::system::error_code ec;
};

TEST(GatewayLimits, ASlowHeaderClientIsCutOffWhileOthersAreServed) {
  Fleet fleet;
  ASSERT_TRUE(fleet.ok());
  serve::ServeConfig settings = test_serve_config();
  settings.header_read_timeout = ms(400);
  TestGateway gateway(fleet_config(fleet), settings);
  ASSERT_TRUE(gateway.ok());
  RawClient slow(gateway.port());  // connects and never starts its TLS handshake
  ASSERT_FALSE(slow.ec);
  const auto before = std::chrono::steady_clock::now();
  const HttpExchange normal = gateway.post("/v1/chat/completions", openai_body("ok"));
  EXPECT_EQ(normal.status, 200U) << normal.body;
  EXPECT_LT(normal.elapsed.count(), 1'000) << "served while the slow client holds its connection";
  EXPECT_TRUE(slow.closed_by_server_within(std::chrono::milliseconds(3'000)));
  const auto held = std::chrono::steady_clock::now() - before;
  EXPECT_LT(held, std::chrono::milliseconds(3'000));
}

TEST(GatewayLimits, ASlowPlainHttpHeaderIsCutOffAtTheHeaderReadTimeout) {
  Fleet fleet;
  ASSERT_TRUE(fleet.ok());
  serve::ServeConfig settings = test_serve_config();
  settings.header_read_timeout = ms(300);
  setenv(kProviderKeyEnv, "provider-credential-placeholder", 1);
  serve::GatewayOptions options;
  options.listen = {"127.0.0.1", 0};
  options.core.tls.ca_file = test_ca().ca_file;
  Result<std::unique_ptr<serve::Gateway>> g =
      serve::Gateway::start(serve::GatewayConfig{fleet_config(fleet), settings}, options);
  ASSERT_TRUE(g) << g.error().message();
  RawClient slow((*g)->port());
  ASSERT_FALSE(slow.ec);
  // One header byte at a time would keep an idle timer alive forever; the header-read
  // timer counts from the request's first byte, so dribbling does not help.
  const std::string head = "POST /v1/chat/completions HTTP/1.1\r\n";
  asio::write(slow.socket, asio::buffer(head), slow.ec);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 20 && !slow.ec; ++i) {
    asio::write(slow.socket, asio::buffer("x-dribble: 1\r\n", 14), slow.ec);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the misbehaviour under test: a slow client
  }
  EXPECT_TRUE(slow.closed_by_server_within(std::chrono::milliseconds(3'000)));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(3'000));
  ClientOptions plain;
  plain.tls = false;
  const HttpExchange normal = http_exchange(
      (*g)->port(),
      post("/v1/chat/completions", openai_body("ok"), std::string("authorization: Bearer ") + kGatewayKey + "\r\n"),
      plain);
  EXPECT_EQ(normal.status, 200U) << normal.body;
  (*g)->stop();
}

TEST(GatewayLimits, IdleConnectionsBeyondTheClientCapGiveWayToANewcomer) {
  Fleet fleet;
  ASSERT_TRUE(fleet.ok());
  serve::ServeConfig settings = test_serve_config();
  settings.connections_per_client_max = 4;
  settings.connections_max = 8;
  TestGateway gateway(fleet_config(fleet), settings);
  ASSERT_TRUE(gateway.ok());
  std::vector<std::unique_ptr<RawClient>> idle;
  for (int i = 0; i < 12; ++i) {  // three times the cap, all idle (no TLS handshake even)
    idle.push_back(std::make_unique<RawClient>(gateway.port()));
    ASSERT_FALSE(idle.back()->ec);
  }
  const HttpExchange normal = gateway.post("/v1/chat/completions", openai_body("ok"));
  EXPECT_EQ(normal.status, 200U) << normal.body;
  EXPECT_LT(normal.elapsed.count(), 1'000);
  EXPECT_LE(gateway.gateway().connections(), 4);
  EXPECT_TRUE(idle.front()->closed_by_server_within(std::chrono::milliseconds(3'000)))
      << "the oldest idle connection gave way";
}

TEST(GatewayLimits, RefusesAnOversizedBodyWith413) {
  Fleet fleet;
  ASSERT_TRUE(fleet.ok());
  serve::ServeConfig settings = test_serve_config();
  settings.body_bytes_max = 4'096;
  TestGateway gateway(fleet_config(fleet), settings);
  ASSERT_TRUE(gateway.ok());
  const std::string big = openai_body("ok", false, ",\"padding\":\"" + std::string(8'000, 'x') + "\"");
  const HttpExchange r = gateway.post("/v1/chat/completions", big);
  EXPECT_EQ(r.status, 413U) << r.body;
  EXPECT_EQ(fleet.requests(), 0);
}

// ---- the [serve] table ---------------------------------------------------------------

const char* kBase = R"(
[[providers]]
name = "p"
base_url = "https://api.example.com/v1"
api_key_env = "P_KEY"
[[providers.models]]
id = "m"

[[routes]]
name = "main"
targets = [{ provider = "p", model = "m" }]
)";

Result<serve::ServeConfig> serve_table(const std::string& text) {
  Result<toml::table> root = parse_toml(std::string(kBase) + text, "gw.toml");
  if (!root) return root.error();
  LoadOptions options;
  options.extra_top_level_keys = {"serve"};
  Result<Config> config = config_from_table(*root, "gw.toml", options);
  if (!config) return config.error();
  return serve::read_serve_table(*root, "gw.toml");
}

TEST(GatewayConfig, ReadsTheServeTable) {
  const std::string digest = serve::sha256_hex("sk-1");
  const Result<serve::ServeConfig> s =
      serve_table("[serve]\nlisten = \"0.0.0.0:9000\"\napi_key_sha256 = [\"" + digest +
                  "\"]\nheader_read_timeout = \"2s\"\nconnections_per_client_max = 8\n");
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_TRUE(s->present);
  EXPECT_EQ(s->listen, "0.0.0.0:9000");
  ASSERT_EQ(s->key_sha256.size(), 1U);
  EXPECT_EQ(s->header_read_timeout, sec(2));
  EXPECT_EQ(s->connections_per_client_max, 8);
  EXPECT_TRUE(serve::check_access(*s, {"0.0.0.0", 9000}));
  const Result<serve::ServeConfig> absent = serve_table("");
  ASSERT_TRUE(absent);
  EXPECT_FALSE(absent->present);
}

TEST(GatewayConfig, NamesTheLineAndColumnOfABadValue) {
  const Result<serve::ServeConfig> key = serve_table("[serve]\napi_key_sha256 = [\"sk-plaintext-key\"]\n");
  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().where, "gw.toml:13:19");
  EXPECT_NE(key.error().what.find("serve.api_key_sha256[0]"), std::string::npos) << key.error().what;
  EXPECT_NE(key.error().what.find("--hash-key"), std::string::npos);
  const Result<serve::ServeConfig> unknown = serve_table("[serve]\nthreds = 2\n");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().where, "gw.toml:13:1");
  const Result<serve::ServeConfig> time = serve_table("[serve]\nheader_read_timeout = \"5 s\"\n");
  ASSERT_FALSE(time);
  EXPECT_EQ(time.error().where, "gw.toml:13:23");
  const Result<serve::ServeConfig> cap =
      serve_table("[serve]\nconnections_max = 10\nconnections_per_client_max = 20\n");
  ASSERT_FALSE(cap);
  EXPECT_NE(cap.error().what.find("must not exceed connections_max"), std::string::npos);
}

TEST(GatewayConfig, UnauthenticatedOnlyOnLoopbackAndKeysOtherwiseRequired) {
  const Result<serve::ServeConfig> open = serve_table("[serve]\nallow_unauthenticated = true\n");
  ASSERT_TRUE(open);
  EXPECT_TRUE(serve::check_access(*open, {"127.0.0.1", 0}));
  EXPECT_TRUE(serve::check_access(*open, {"::1", 0}));
  const Status wide = serve::check_access(*open, {"0.0.0.0", 8080});
  ASSERT_FALSE(wide);
  EXPECT_EQ(wide.error().where, "gw.toml:13:25");
  EXPECT_NE(wide.error().what.find("open proxy"), std::string::npos);
  const Result<serve::ServeConfig> none = serve_table("[serve]\nlisten = \"127.0.0.1:0\"\n");
  ASSERT_TRUE(none);
  EXPECT_FALSE(serve::check_access(*none, {"127.0.0.1", 0}));
}

TEST(GatewayConfig, HashesKeysAsSha256Hex) {
  EXPECT_EQ(serve::sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(GatewayRoutes, SplitsMixedRoutesPerProtocolAndNamesWhatIsSkipped) {
  Config c;
  for (const auto& [name, protocol] : {std::pair{"oa", Protocol::openai}, std::pair{"an", Protocol::anthropic}}) {
    ProviderConfig p;
    p.name = name;
    p.protocol = protocol;
    p.base_url = "https://example.com";
    p.models.push_back(ModelConfig{std::string(name) + "-model", 0, 0, 0});
    c.providers.push_back(p);
  }
  RouteConfig mixed;
  mixed.name = "mixed";
  mixed.stream_resume = true;
  mixed.targets = {RouteTarget{c.intern_target(0, 0), 0, 1}, RouteTarget{c.intern_target(1, 0), 1, 1}};
  c.routes.push_back(mixed);
  ASSERT_TRUE(validate(c));
  Result<serve::RouteTable> t = serve::RouteTable::build(c);
  ASSERT_TRUE(t) << t.error().message();
  const serve::RouteChoice* o = t->find("mixed", Protocol::openai);
  const serve::RouteChoice* a = t->find("an-model", Protocol::anthropic);
  ASSERT_NE(o, nullptr);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(o->route, kNoIndex);
  ASSERT_NE(a->route, kNoIndex);
  const Config& engine = t->engine_config();
  EXPECT_EQ(engine.routes[o->route].name, "mixed@openai");
  EXPECT_EQ(engine.routes[a->route].name, "mixed@anthropic");
  ASSERT_EQ(engine.routes[o->route].targets.size(), 1U);
  EXPECT_EQ(engine.routes[o->route].targets[0].target, c.routes[0].targets[0].target) << "the same target: one breaker";
  EXPECT_EQ(o->cross, "an/an-model (anthropic)");
  EXPECT_EQ(o->any, 0U) << "a translated request may take the whole route";
  EXPECT_FALSE(engine.routes[o->route].stream_resume);
  EXPECT_EQ(t->resume_disabled(), std::vector<std::string>{"mixed"});
  EXPECT_EQ(t->find("nothing", Protocol::openai), nullptr);
}

}  // namespace
}  // namespace failover::test
