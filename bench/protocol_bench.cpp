// protocol_bench: what the codecs cost per byte -- decode_response on a typical ~1 KB
// OpenAI and Anthropic answer, encode_request for a short conversation, and
// StreamDecoder over a 200-event stream fed in network-sized chunks -- reported as bytes
// per second of body (SetBytesProcessed) plus heap allocations per operation. How to
// run: scripts/bench.sh (release preset only).
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "bench/alloc_counter.h"
#include "core/protocol/codec.h"
#include "core/protocol/sse.h"

namespace failover::bench {
namespace {

using protocol::ChatRequest;
using protocol::ChatResponse;

// An answer of about 1 KB once encoded: 900 bytes of text with a few escapes and
// multi-byte characters, as real answers have.
ChatResponse typical_response() {
  ChatResponse r;
  r.id = "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT";
  r.model = "gpt-4o-2024-08-06";
  std::string text;
  while (text.size() < 900) text += "The \"quick\" brown fox \xE2\x80\x94 jumps over the lazy dog.\n";
  r.text = text;
  r.stop_reason = "stop";
  r.usage = Usage{412, 187, true};
  return r;
}

void report_allocs(benchmark::State& state, AllocCount before) {
  const AllocCount after = alloc_count();
  const double ops = static_cast<double>(state.iterations());
  state.counters["allocs/op"] = static_cast<double>(after.allocs - before.allocs) / ops;
}

void BM_DecodeResponse(benchmark::State& state, Protocol protocol) {
  const std::string body = protocol::encode_response(protocol, typical_response());
  const AllocCount before = alloc_count();
  for (auto _ : state) {
    auto r = protocol::decode_response(protocol, body);
    benchmark::DoNotOptimize(r);
  }
  report_allocs(state, before);
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(body.size()));
  state.SetLabel(std::to_string(body.size()) + " B body");
}
BENCHMARK_CAPTURE(BM_DecodeResponse, openai, Protocol::openai);
BENCHMARK_CAPTURE(BM_DecodeResponse, anthropic, Protocol::anthropic);

void BM_EncodeRequest(benchmark::State& state, Protocol protocol) {
  ChatRequest request;
  request.model = "gpt-4o-2024-08-06";
  request.messages = {{"system", "You are a concise assistant. Answer in one paragraph."},
                      {"user", "What is the capital of France, and why did it become the capital?"},
                      {"assistant", "Paris. It was the seat of the Capetian kings from 987 onwards."},
                      {"user", "And before that? Give me the \"short\" version \xE2\x80\x94 two sentences."}};
  request.max_tokens = 512;
  request.temperature = 0.7;
  request.stream = true;
  std::size_t bytes = 0;
  const AllocCount before = alloc_count();
  for (auto _ : state) {
    auto e = protocol::encode_request(protocol, request);
    bytes += e.body.size();
    benchmark::DoNotOptimize(e);
  }
  report_allocs(state, before);
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}
BENCHMARK_CAPTURE(BM_EncodeRequest, openai, Protocol::openai);
BENCHMARK_CAPTURE(BM_EncodeRequest, anthropic, Protocol::anthropic);

// 200 events in all: the text split so that, with the protocol's fixed events around
// it, the stream holds exactly 200; fed in 1,400-byte chunks (a TLS record's payload).
void BM_StreamDecoder(benchmark::State& state, Protocol protocol) {
  ChatResponse r = typical_response();
  r.text.clear();
  while (r.text.size() < 4'000) r.text += "Streaming tokens \xE2\x80\x94 one delta at a time. ";
  const std::size_t fixed = protocol == Protocol::openai ? 4 : 6;  // see encode_stream
  std::string body;
  std::size_t events = 0;
  for (const std::string& e : protocol::encode_stream(protocol, r, 200 - fixed)) {
    body += e;
    ++events;
  }
  constexpr std::size_t kChunk = 1'400;
  const AllocCount before = alloc_count();
  for (auto _ : state) {
    protocol::StreamDecoder decoder(protocol);
    for (std::size_t at = 0; at < body.size(); at += kChunk) {
      auto text = decoder.feed(std::string_view(body).substr(at, kChunk));
      benchmark::DoNotOptimize(text);
    }
    if (decoder.finish() != protocol::StreamEnd::complete) state.SkipWithError("stream did not complete");
  }
  report_allocs(state, before);
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(body.size()));
  state.SetLabel(std::to_string(events) + " events, " + std::to_string(body.size()) + " B");
}
BENCHMARK_CAPTURE(BM_StreamDecoder, openai, Protocol::openai);
BENCHMARK_CAPTURE(BM_StreamDecoder, anthropic, Protocol::anthropic);

}  // namespace
}  // namespace failover::bench

BENCHMARK_MAIN();
