// stream_translate_bench: what translating a streamed answer across protocols costs the
// gateway (serve/gateway_stream_translate.h) -- the same 200-event streams as
// protocol_bench's StreamDecoder, fed in 1,400-byte chunks (a TLS record's payload) to a
// StreamTranslator from each protocol to the other -- reported per event (the counter
// ns/event), as bytes per second of upstream body and as heap allocations per stream.
// The relay's own StreamDecoder pass is protocol_bench's; this is the cost on top of it.
// How to run: scripts/bench.sh (release preset only).
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "bench/alloc_counter.h"
#include "core/protocol/codec.h"
#include "serve/gateway_stream_translate.h"

namespace failover::bench {
namespace {

void BM_StreamTranslate(benchmark::State& state, Protocol from) {
  protocol::ChatResponse r;
  r.id = "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT";
  r.model = "gpt-4o-2024-08-06";
  while (r.text.size() < 4'000) r.text += "Streaming tokens \xE2\x80\x94 one delta at a time. ";
  r.stop_reason = from == Protocol::openai ? "stop" : "end_turn";
  r.usage = Usage{412, 187, true};
  const std::size_t fixed = from == Protocol::openai ? 4 : 6;  // see encode_stream
  std::string body;
  std::size_t events = 0;
  for (const std::string& e : protocol::encode_stream(from, r, 200 - fixed)) {
    body += e;
    ++events;
  }
  serve::StreamTranslateOptions options;
  options.include_usage = true;
  constexpr std::size_t kChunk = 1'400;
  const AllocCount before = alloc_count();
  for (auto _ : state) {
    serve::StreamTranslator translator(from, options);
    std::string out;
    for (std::size_t at = 0; at < body.size(); at += kChunk) {
      out.clear();
      translator.feed(std::string_view(body).substr(at, kChunk), out);
      benchmark::DoNotOptimize(out);
    }
    if (translator.state() != serve::StreamTranslateState::finished) state.SkipWithError("stream did not finish");
  }
  const AllocCount after = alloc_count();
  const double ops = static_cast<double>(state.iterations());
  state.counters["allocs/stream"] = static_cast<double>(after.allocs - before.allocs) / ops;
  state.counters["ns/event"] = benchmark::Counter(
      static_cast<double>(events) * 1e-9, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(body.size()));
  state.SetLabel(std::to_string(events) + " events, " + std::to_string(body.size()) + " B");
}
BENCHMARK_CAPTURE(BM_StreamTranslate, openai_to_anthropic, Protocol::openai);
BENCHMARK_CAPTURE(BM_StreamTranslate, anthropic_to_openai, Protocol::anthropic);

}  // namespace
}  // namespace failover::bench

BENCHMARK_MAIN();
