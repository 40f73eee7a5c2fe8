// `failover live --config FILE (--prompt TEXT | --input FILE.jsonl)`: sends real
// requests through the engine and the HTTPS transport (core/transport/live_driver.h).
// Prints each answer with the target that served it (or, with --json, one JSON object
// per request and a summary object), then the health and cost of every target. At most
// --concurrency requests are unfinished at once. SIGINT/SIGTERM stop admitting new
// requests, give the ones in flight --grace to finish, then cancel the rest. Exit code:
// 0 when every request succeeded, 1 when one did not (or at a runtime error), 2 on a
// usage error, a config that does not load or a missing API key. Keys are never printed.
#include <sys/prctl.h>
#include <sys/resource.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/commands.h"
#include "core/config/load.h"
#include "core/config/toml_values.h"
#include "core/transport/live_driver.h"
#include "core/transport/live_input.h"
#include "serve/gateway_config.h"
#include "sim/json_writer.h"

namespace failover::cli {
namespace {

namespace asio = boost::asio;
using transport::LiveDriver;
using transport::LiveRequest;
using transport::LiveResult;

constexpr std::size_t kInputLinesMax = 1'000'000;
// Every request's text is held until the run ends: bound the whole input, not just a line.
constexpr std::size_t kInputBytesMax = std::size_t{256} << 20U;

struct LiveOptions {
  std::string config_file;
  std::string prompt;
  std::string input_file;  // "-": stdin
  bool allow_core_dump = false;
  int concurrency = 16;
  bool stream = false;
  bool json = false;
  std::string route;
  std::string tier;
  std::int64_t max_tokens = 1'024;
  std::string ca_file;
  std::string grace = "10s";
  std::size_t response_bytes_max = transport::kResponseBytesMaxDefault;
  bool quiet = false;  // no answer text, summary only
};

// ---- formatting --------------------------------------------------------------------

std::string usd(std::int64_t micro_usd) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.6f", static_cast<double>(micro_usd) / 1e6);
  return buf;
}

double millis(Duration d) {
  return static_cast<double>(to_us(d)) / 1e3;
}

const char* status_word(const LiveResult& r) {
  return r.aborted ? "aborted" : to_string(r.status);
}

// ---- input -------------------------------------------------------------------------

// Each request to send, already resolved against the config.
struct Job {
  LiveRequest request;
  std::string label;  // "file:line" or "prompt"
};

std::optional<Index> resolve(const Config& c, const std::string& route, const std::string& tier, bool& is_tier,
                             std::string& error) {
  if (!route.empty()) {
    is_tier = false;
    if (auto r = c.route_index(route)) return r;
    error = "no route named \"" + route + "\"";
    return std::nullopt;
  }
  if (!tier.empty()) {
    is_tier = true;
    if (auto t = c.tier_index(tier)) return t;
    error = "no tier named \"" + tier + "\"";
    return std::nullopt;
  }
  is_tier = false;
  return Index{0};  // neither given: the first route of the config
}

bool make_job(const Config& c, const LiveOptions& o, transport::InputLine line, const std::string& label,
              std::vector<Job>& jobs) {
  Job job;
  job.label = label;
  job.request.messages = std::move(line.messages);
  job.request.max_tokens = line.max_tokens.value_or(o.max_tokens);
  job.request.stream = o.stream;
  const bool own = !line.route.empty() || !line.tier.empty();
  bool is_tier = false;
  std::string error;
  const std::optional<Index> index =
      own ? resolve(c, line.route, line.tier, is_tier, error) : resolve(c, o.route, o.tier, is_tier, error);
  if (!index) {
    std::fprintf(stderr, "error: %s: %s\n", label.c_str(), error.c_str());
    return false;
  }
  (is_tier ? job.request.tier : job.request.route) = *index;
  jobs.push_back(std::move(job));
  return true;
}

std::optional<std::vector<Job>> read_jobs(const Config& c, const LiveOptions& o) {
  std::vector<Job> jobs;
  if (!o.prompt.empty()) {
    transport::InputLine line;
    line.messages.push_back(protocol::Message{"user", o.prompt});
    if (!make_job(c, o, std::move(line), "prompt", jobs)) return std::nullopt;
    return jobs;
  }
  std::ifstream file;
  if (o.input_file != "-") {
    file.open(o.input_file);
    if (!file) {
      std::fprintf(stderr, "error: %s: cannot open the input file\n", o.input_file.c_str());
      return std::nullopt;
    }
  }
  std::istream& in = o.input_file == "-" ? std::cin : file;
  std::string text;
  std::size_t input_bytes = 0;
  bool ok = true;
  for (std::size_t n = 1;; ++n) {
    const transport::LineRead read = transport::read_line(in, text, transport::kInputLineBytesMax);
    if (read == transport::LineRead::end) break;
    if (read == transport::LineRead::too_long) {
      std::fprintf(stderr, "error: %s:%zu: the line is longer than %zu MiB (the limit of one request line)\n",
                   o.input_file.c_str(), n, transport::kInputLineBytesMax >> 20U);
      return std::nullopt;
    }
    input_bytes += text.size() + 1;
    if (input_bytes > kInputBytesMax) {
      std::fprintf(stderr, "error: %s:%zu: the input is larger than %zu MiB\n", o.input_file.c_str(), n,
                   kInputBytesMax >> 20U);
      return std::nullopt;
    }
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    if (jobs.size() >= kInputLinesMax) {
      std::fprintf(stderr, "error: %s: more than %zu requests\n", o.input_file.c_str(), kInputLinesMax);
      return std::nullopt;
    }
    const std::string label = o.input_file + ":" + std::to_string(n);
    Result<transport::InputLine> line = transport::parse_input_line(text, label);
    if (!line) {
      std::fprintf(stderr, "error: %s\n", line.error().message().c_str());
      ok = false;
      continue;
    }
    ok = make_job(c, o, std::move(*line), label, jobs) && ok;
  }
  if (!ok) return std::nullopt;
  if (jobs.empty()) std::fprintf(stderr, "error: %s: no request in the input\n", o.input_file.c_str());
  return jobs.empty() ? std::nullopt : std::optional<std::vector<Job>>(std::move(jobs));
}

// ---- the run -----------------------------------------------------------------------

struct Run {
  const LiveOptions* options = nullptr;
  std::vector<Job> jobs;
  std::vector<LiveResult> results;   // in completion order
  std::vector<double> latencies_ms;  // succeeded requests
  std::size_t next = 0;              // the next job to submit
  std::size_t inflight = 0;
  bool stopping = false;
  bool submit_posted = false;
  bool echo_stream = false;  // one streamed request on a terminal: its text is printed as it comes
};

// Who served a request, and its last error, are null when there is none.
void text_or_null(sim::JsonWriter& j, std::string_view key, const std::string& value) {
  if (value.empty()) {
    j.null(key);
  } else {
    j.text(key, value);
  }
}

// One request as a line of JSON; the answer's text left out (null) when `quiet`.
std::string result_json(const LiveResult& r, const Job& job, bool quiet) {
  sim::JsonWriter j;
  j.open_inline("", '{');
  j.integer("id", r.id);
  j.text("input", job.label);
  j.text("status", status_word(r));
  j.text("reason", r.aborted ? "aborted" : to_string(r.reason));
  text_or_null(j, "provider", r.provider);
  text_or_null(j, "model", r.model);
  j.integer("attempts", r.attempts);
  j.real("latency_ms", millis(r.latency), 6);
  j.raw("cost_usd", usd(r.cost_micro_usd));
  j.boolean("downgraded", r.downgraded);
  const bool answered = r.status == RequestStatus::succeeded && !r.aborted;
  if (quiet || !answered) {
    j.null("text");
  } else {
    j.text("text", r.text);  // an empty answer is "", not null
  }
  text_or_null(j, "error", r.last_error);
  j.close('}');
  return j.finish();
}

void print_result(const Run& run, const LiveResult& r, const Job& job) {
  const LiveOptions& o = *run.options;
  if (run.echo_stream) std::printf("\n");  // after the streamed text
  if (o.json) {
    std::fputs(result_json(r, job, o.quiet).c_str(), stdout);
    return;
  }
  if (r.status == RequestStatus::succeeded && !r.aborted) {
    std::printf("[%llu] %s: %s/%s, %d attempt%s, %.1f ms, $%s%s\n", static_cast<unsigned long long>(r.id),
                job.label.c_str(), r.provider.c_str(), r.model.c_str(), r.attempts, r.attempts == 1 ? "" : "s",
                millis(r.latency), usd(r.cost_micro_usd).c_str(), r.downgraded ? " (downgraded)" : "");
    if (!o.quiet && !run.echo_stream) std::printf("%s\n", r.text.c_str());
    return;
  }
  std::printf("[%llu] %s: %s (%s), %d attempt%s, %.1f ms%s%s\n", static_cast<unsigned long long>(r.id),
              job.label.c_str(), status_word(r), r.aborted ? "aborted" : to_string(r.reason), r.attempts,
              r.attempts == 1 ? "" : "s", millis(r.latency),
              r.last_error.empty() ? "" : "; last error: ", r.last_error.c_str());
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const auto rank = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(rank, v.size() - 1)];
}

struct Counts {
  std::int64_t succeeded = 0;
  std::int64_t failed = 0;
  std::int64_t dropped = 0;
  std::int64_t aborted = 0;
  std::int64_t cost_micro_usd = 0;
};

Counts count(const Run& run) {
  Counts c;
  for (const LiveResult& r : run.results) {
    c.cost_micro_usd += r.cost_micro_usd;
    if (r.aborted) {
      ++c.aborted;
    } else if (r.status == RequestStatus::succeeded) {
      ++c.succeeded;
    } else if (r.status == RequestStatus::failed) {
      ++c.failed;
    } else {
      ++c.dropped;
    }
  }
  return c;
}

void print_summary_json(const Run& run, const LiveDriver& driver, double wall_s) {
  const Counts c = count(run);
  const HealthReport h = driver.health();
  const Config& config = driver.config();
  sim::JsonWriter j;
  j.open_inline("", '{');
  j.open_inline("summary", '{');
  j.integer("requests", run.results.size());
  j.integer("not_sent", run.jobs.size() - run.next);
  j.integer("succeeded", c.succeeded);
  j.integer("failed", c.failed);
  j.integer("dropped", c.dropped);
  j.integer("aborted", c.aborted);
  j.real("wall_seconds", wall_s, 6);
  j.real("requests_per_second", wall_s > 0 ? static_cast<double>(run.results.size()) / wall_s : 0.0, 6);
  j.open_inline("latency_ms", '{');
  j.real("p50", percentile(run.latencies_ms, 0.50), 6);
  j.real("p99", percentile(run.latencies_ms, 0.99), 6);
  j.close('}');
  j.integer("attempts", h.totals.attempts);
  j.raw("cost_usd", usd(h.totals.cost_micro_usd));
  j.raw("possibly_billed_usd", usd(h.totals.possibly_billed_micro_usd));
  j.open_inline("targets", '[');
  for (const TargetHealth& t : h.targets) {
    j.open_inline("", '{');
    j.text("provider", config.provider_of(t.target).name);
    j.text("model", config.model(t.target).id);
    j.text("breaker", to_string(t.breaker));
    j.integer("attempts", t.attempts);
    j.integer("successes", t.successes);
    j.integer("failures", t.failures);
    j.integer("rate_limited", t.rate_limited);
    j.raw("cost_usd", usd(t.cost_micro_usd));
    j.close('}');
  }
  j.close(']');
  j.close('}');
  j.close('}');
  std::fputs(j.finish().c_str(), stdout);
}

void print_summary(const Run& run, const LiveDriver& driver, double wall_s) {
  if (run.options->json) {
    print_summary_json(run, driver, wall_s);
    return;
  }
  const Counts c = count(run);
  const HealthReport h = driver.health();
  const Config& config = driver.config();
  std::printf("\n%zu requests in %.3f s (%.1f/s): %lld succeeded, %lld failed, %lld dropped, %lld aborted",
              run.results.size(), wall_s, wall_s > 0 ? static_cast<double>(run.results.size()) / wall_s : 0.0,
              static_cast<long long>(c.succeeded), static_cast<long long>(c.failed), static_cast<long long>(c.dropped),
              static_cast<long long>(c.aborted));
  if (run.next < run.jobs.size()) std::printf(", %zu not sent", run.jobs.size() - run.next);
  std::printf("\nlatency of successes: p50 %.1f ms, p99 %.1f ms\n", percentile(run.latencies_ms, 0.50),
              percentile(run.latencies_ms, 0.99));
  std::printf("\n%-40s %-9s %9s %9s %9s %9s %12s\n", "target", "breaker", "attempts", "successes", "failures", "429s",
              "cost ($)");
  for (const TargetHealth& t : h.targets) {
    const std::string name = config.provider_of(t.target).name + "/" + config.model(t.target).id;
    std::printf("%-40s %-9s %9lld %9lld %9lld %9lld %12s\n", name.c_str(), to_string(t.breaker),
                static_cast<long long>(t.attempts), static_cast<long long>(t.successes),
                static_cast<long long>(t.failures), static_cast<long long>(t.rate_limited),
                usd(t.cost_micro_usd).c_str());
  }
  std::printf("attempts %lld (retries %lld, hedges %lld), cost $%s, possibly billed $%s\n",
              static_cast<long long>(h.totals.attempts), static_cast<long long>(h.totals.retries),
              static_cast<long long>(h.totals.hedges), usd(h.totals.cost_micro_usd).c_str(),
              usd(h.totals.possibly_billed_micro_usd).c_str());
}

void submit_more(Run& run, LiveDriver& driver, asio::io_context& io);

void on_done(Run& run, LiveDriver& driver, asio::io_context& io, std::size_t job, LiveResult&& r) {
  --run.inflight;
  if (r.status == RequestStatus::succeeded && !r.aborted) run.latencies_ms.push_back(millis(r.latency));
  print_result(run, r, run.jobs[job]);
  std::fflush(stdout);
  run.results.push_back(std::move(r));
  if (run.submit_posted) return;
  run.submit_posted = true;  // not from inside the driver's callback: from a fresh handler
  asio::post(io, [&run, &driver, &io] {
    run.submit_posted = false;
    submit_more(run, driver, io);
  });
}

void submit_more(Run& run, LiveDriver& driver, asio::io_context& io) {
  const auto window = static_cast<std::size_t>(run.options->concurrency);
  while (!run.stopping && run.inflight < window && run.next < run.jobs.size()) {
    const std::size_t job = run.next++;
    ++run.inflight;
    driver.submit(run.jobs[job].request,
                  [&run, &driver, &io, job](LiveResult&& r) { on_done(run, driver, io, job, std::move(r)); });
  }
  if (run.inflight == 0 && (run.stopping || run.next == run.jobs.size())) io.stop();
}

int live(const LiveOptions& o) {
  (void)keep_secrets_out_of_core_dumps(o.allow_core_dump);
  // The file may carry the gateway's [serve] table (docs/serve.md): checked, then left to `failover serve`.
  Result<serve::GatewayConfig> file = serve::load_gateway_config(o.config_file);
  Result<Config> config = file ? Result<Config>(std::move(file->config)) : Result<Config>(file.error());
  if (!config) {
    std::fprintf(stderr, "error: %s\n", config.error().message().c_str());
    return 2;
  }
  Result<Duration> grace = config::parse_duration(o.grace);
  if (!grace) {
    std::fprintf(stderr, "error: --grace %s: %s\n", o.grace.c_str(), grace.error().what.c_str());
    return 2;
  }
  Run run;
  run.options = &o;
  std::optional<std::vector<Job>> jobs = read_jobs(*config, o);
  if (!jobs) return 2;
  run.jobs = std::move(*jobs);
  run.echo_stream = o.stream && !o.json && !o.quiet && run.jobs.size() == 1;
  if (run.echo_stream) {
    run.jobs.front().request.on_text = [](std::string_view text) {
      std::fwrite(text.data(), 1, text.size(), stdout);
      std::fflush(stdout);
    };
  }

  asio::io_context io;
  transport::LiveOptions lo;
  lo.tls.ca_file = o.ca_file;
  lo.response_bytes_max = o.response_bytes_max;
  lo.log = [](std::string_view line) { std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data()); };
  Result<std::unique_ptr<LiveDriver>> driver = LiveDriver::create(io, *config, lo);
  if (!driver) {
    std::fprintf(stderr, "error: %s\n", driver.error().message().c_str());
    return 2;
  }
  LiveDriver& d = **driver;

  asio::signal_set signals(io, SIGINT, SIGTERM);
  asio::steady_timer grace_timer(io);
  std::function<void(const boost::system::error_code&, int)> on_signal;
  on_signal = [&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    if (run.stopping) {  // a second signal: cancel now
      d.abort();
      return;
    }
    run.stopping = true;
    std::fprintf(stderr, "signal %d: no new requests; %zu in flight get %s to finish\n", sig, run.inflight,
                 o.grace.c_str());
    grace_timer.expires_after(std::chrono::microseconds(to_us(*grace)));
    grace_timer.async_wait([&](const boost::system::error_code& tec) {
      if (!tec) d.abort();
    });
    if (run.inflight == 0) io.stop();
    signals.async_wait(on_signal);
  };
  signals.async_wait(on_signal);

  const auto start = std::chrono::steady_clock::now();
  asio::post(io, [&] { submit_more(run, d, io); });
  try {
    io.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  print_summary(run, d, wall_s);
  const Counts c = count(run);
  return c.succeeded == static_cast<std::int64_t>(run.jobs.size()) ? 0 : 1;
}

}  // namespace

// API keys (and prompts) sit in this process's memory: a core dump would write them to
// disk where anyone who can read cores finds them. Unless --allow-core-dump, no core is
// written and the process is not dumpable (no ptrace attach by other users, no
// /proc/PID/mem). Done first, before a key is read from the environment.
bool keep_secrets_out_of_core_dumps(bool allow_core_dump) {
  if (allow_core_dump) return true;
  const rlimit none{0, 0};
  const bool no_core = setrlimit(RLIMIT_CORE, &none) == 0;
  const bool undumpable = prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0;
  if (!no_core || !undumpable) std::fprintf(stderr, "warning: could not disable core dumps; API keys may reach one\n");
  return no_core && undumpable;
}

void add_live_command(CLI::App& app) {
  auto o = std::make_shared<LiveOptions>();
  CLI::App* cmd =
      app.add_subcommand("live", "Send real requests through the failover engine over HTTPS (docs/live.md)");
  cmd->add_option("--config", o->config_file, "TOML config: providers, routes, policy (docs/config.md)")->required();
  CLI::Option* prompt = cmd->add_option("--prompt", o->prompt, "one request: this text as the user message");
  CLI::Option* input = cmd->add_option("--input", o->input_file,
                                       "requests, one JSON object a line: {\"prompt\": ...} or {\"messages\": [...]}, "
                                       "optional route, tier, max_tokens (- for stdin)");
  prompt->excludes(input);
  cmd->add_option("--concurrency", o->concurrency, "requests unfinished at once at most")
      ->check(CLI::Range(1, 100'000));
  cmd->add_flag("--stream", o->stream, "ask for streamed (SSE) answers");
  cmd->add_flag("--json", o->json, "print one JSON object per request and a summary object");
  cmd->add_flag("--quiet", o->quiet, "leave the answer text out");
  CLI::Option* route =
      cmd->add_option("--route", o->route, "the route of requests that name none (default: the first)");
  cmd->add_option("--tier", o->tier, "the tier of requests that name no route or tier")->excludes(route);
  cmd->add_option("--max-tokens", o->max_tokens, "max_tokens of requests that give none")
      ->check(CLI::Range(1, 1'000'000));
  cmd->add_option("--ca-file", o->ca_file,
                  "PEM CA bundle trusted besides the system store (private or test endpoints)");
  cmd->add_option("--grace", o->grace, "after SIGINT/SIGTERM, how long requests in flight may finish (\"10s\")");
  cmd->add_flag("--allow-core-dump", o->allow_core_dump,
                "let a crash write a core dump (by default none is written: it would hold the API keys)");
  cmd->add_option("--response-max-bytes", o->response_bytes_max, "a larger response body is malformed (default 8 MiB)")
      ->check(CLI::Range(std::size_t{1'024}, transport::kResponseBytesMaxLimit));
  cmd->callback([o] {
    if (o->prompt.empty() == o->input_file.empty()) {
      std::fprintf(stderr, "error: give one of --prompt TEXT and --input FILE.jsonl\n");
      set_exit_code(2);
      return;
    }
    set_exit_code(live(*o));
  });
}

}  // namespace failover::cli
