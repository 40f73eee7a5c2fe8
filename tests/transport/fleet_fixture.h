// The fake fleet served over TLS on 127.0.0.1 for the transport tests: a FleetServer
// on its own io_context thread, started from a scenario in tests/transport/, with the
// test CA's certificate (or the wrong-host one). Every wait here is bounded.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "core/engine/config.h"
#include "serve/fleet_server.h"
#include "sim/scenario_load.h"
#include "tests/support/test_ca.h"

namespace failover::test {

inline std::string transport_file(const std::string& name) {
  return std::string(FAILOVER_SOURCE_DIR) + "/tests/transport/" + name;
}

class Fleet {
 public:
  // Starts the fleet of `scenario_file` (in tests/transport/). wrong_host: serve the
  // certificate for wrong.example instead of localhost/127.0.0.1. time_scale: as
  // `failover fleet --time-scale`.
  explicit Fleet(const std::string& scenario_file = "faults.toml", bool wrong_host = false, std::int64_t time_scale = 1)
      : work_(boost::asio::make_work_guard(io_)) {
    Result<sim::Scenario> s = sim::load_scenario_file(transport_file(scenario_file));
    if (!s) {
      ADD_FAILURE() << s.error().message();
      return;
    }
    scenario_ = std::move(*s);
    serve::FleetOptions options;
    options.host = "127.0.0.1";
    options.tls_cert_file = wrong_host ? test_ca().wrong_host_cert_file : test_ca().server_cert_file;
    options.tls_key_file = wrong_host ? test_ca().wrong_host_key_file : test_ca().server_key_file;
    options.time_scale = time_scale;
    Result<std::unique_ptr<serve::FleetServer>> server = serve::FleetServer::start(io_, scenario_, options);
    if (!server) {
      ADD_FAILURE() << server.error().message();
      return;
    }
    server_ = std::move(*server);
    thread_ = std::thread([this] { io_.run(); });
  }

  ~Fleet() {
    if (server_) {
      std::promise<void> stopped;
      boost::asio::post(io_, [&] {
        server_->stop();
        stopped.set_value();
      });
      stopped.get_future().wait_for(std::chrono::seconds(10));
    }
    work_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }

  Fleet(const Fleet&) = delete;
  Fleet& operator=(const Fleet&) = delete;

  [[nodiscard]] bool ok() const { return server_ != nullptr; }
  [[nodiscard]] std::string base_url(const std::string& provider) const { return server_->base_url(provider); }
  [[nodiscard]] std::uint16_t port() const { return server_->port(); }
  [[nodiscard]] const sim::Scenario& scenario() const { return scenario_; }
  // Requests the fleet has received so far (safe from any thread).
  [[nodiscard]] std::int64_t requests() const { return server_->stats().requests; }
  // Waits, for at most `limit`, until the fleet has received `count` requests.
  [[nodiscard]] bool wait_for_requests(std::int64_t count,
                                       std::chrono::milliseconds limit = std::chrono::seconds(10)) const {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (requests() < count) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return true;
  }

  // The concurrency slots provider `name` holds now: a hung call holds one until its
  // client closes the connection. Read on the fleet's own thread; -1 when that thread
  // did not answer within a second, or there is no such provider.
  [[nodiscard]] std::int32_t inflight(const std::string& name) {
    auto answer = std::make_shared<std::promise<std::int32_t>>();
    std::future<std::int32_t> got = answer->get_future();
    boost::asio::post(io_, [this, name, answer] {
      std::int32_t n = -1;
      for (const serve::ProviderServeStats& p : server_->provider_stats()) {
        if (p.name == name) n = p.inflight;
      }
      answer->set_value(n);
    });
    if (got.wait_for(std::chrono::seconds(1)) != std::future_status::ready) return -1;
    return got.get();
  }

  // The scenario's policy as a live config: every provider pointed at this fleet, its
  // key read from `key_env` (empty: no key).
  [[nodiscard]] Config live_config(const std::string& key_env = "") const {
    Config c = scenario_.policies.front().config;
    for (ProviderConfig& p : c.providers) {
      p.base_url = base_url(p.name);
      p.api_key_env = key_env;
    }
    return c;
  }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  sim::Scenario scenario_;
  std::unique_ptr<serve::FleetServer> server_;
  std::thread thread_;
};

}  // namespace failover::test
