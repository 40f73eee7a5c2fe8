// The traffic log's reader (sim/traffic_log.h): the gateway's lines (version 1 and the
// unversioned ones before it), the generic JSON-lines and CSV forms, and the error each
// kind of bad line gets, with its line (and for CSV its column).
#include "sim/traffic_log.h"

#include <gtest/gtest.h>

#include <string>

namespace failover::sim {
namespace {

constexpr const char* kGatewayLine =
    R"({"v": 1, "ts_ms": 1765050000100, "arrived_us": 1765050000080500, "id": "r1", "protocol": "openai", )"
    R"("route": "main", "stream": true, "prompt_tokens_est": 41, "prompt_tokens": 43, "output_tokens": 7, )"
    R"("target": "ok/gpt-ok", "attempts": 2, "outcome": "ok", "status": 200, "latency_us": 19450, "tries": [)"
    R"({"target": "storm/gpt-storm", "outcome": "transient", "status": 503, "start_us": 20, "first_byte_us": 6100, )"
    R"("duration_us": 6200}, {"target": "ok/gpt-ok", "outcome": "success", "status": 200, "start_us": 6300, )"
    R"("first_byte_us": 7800, "duration_us": 7900}]})";

TEST(TrafficLog, ReadsAGatewayLineOfVersion1) {
  const Result<TrafficLog> log = parse_traffic_log(std::string(kGatewayLine) + "\n", "g.jsonl");
  ASSERT_TRUE(log.has_value()) << log.error().message();
  EXPECT_EQ(log->form, LogForm::gateway);
  ASSERT_EQ(log->requests.size(), 1U);
  const LogRequest& r = log->requests[0];
  EXPECT_EQ(r.line, 1);
  EXPECT_EQ(r.arrived_us, 1'765'050'000'080'500);
  EXPECT_EQ(r.route, "main");
  EXPECT_TRUE(r.stream);
  EXPECT_EQ(r.protocol, "openai");
  EXPECT_EQ(r.prompt_tokens, 43);  // the usage, not the estimate
  EXPECT_EQ(r.output_tokens, 7);
  ASSERT_EQ(r.attempts.size(), 2U);
  EXPECT_EQ(r.attempts[0].provider, "storm");
  EXPECT_EQ(r.attempts[0].model, "gpt-storm");
  EXPECT_EQ(r.attempts[0].outcome, "transient");
  EXPECT_EQ(r.attempts[0].status, 503);
  EXPECT_EQ(r.attempts[0].start_us, 20);
  EXPECT_EQ(r.attempts[1].first_byte_us, 7'800);
  EXPECT_EQ(r.attempts[1].duration_us, 7'900);
}

TEST(TrafficLog, ReadsUnversionedGatewayLinesAndSkipsRefusedOnes) {
  // Before version 1: no v, no arrived_us (the end time less the latency), no usage.
  const std::string text =
      R"({"ts_ms": 2000, "id": "a", "protocol": "anthropic", "route": "r", "stream": false, "prompt_tokens_est": 9, )"
      R"("target": null, "attempts": 0, "outcome": "refused", "status": 401, "latency_us": 5, "tries": []})"
      "\n"
      R"({"ts_ms": 1000, "id": "b", "protocol": "openai", "route": "r", "stream": false, "prompt_tokens_est": 9, )"
      R"("target": "p/m", "attempts": 1, "outcome": "attempts_exhausted", "status": 503, "latency_us": 250000, )"
      R"("tries": [{"target": "p/m", "outcome": "timeout", "status": 0, "duration_us": 250000}]})"
      "\n";
  const Result<TrafficLog> log = parse_traffic_log(text, "old.jsonl");
  ASSERT_TRUE(log.has_value()) << log.error().message();
  EXPECT_EQ(log->refused, 1);
  ASSERT_EQ(log->requests.size(), 1U);
  EXPECT_EQ(log->requests[0].line, 2);
  EXPECT_EQ(log->requests[0].arrived_us, 750'000);
  EXPECT_EQ(log->requests[0].prompt_tokens, 9);
  EXPECT_FALSE(log->requests[0].output_tokens.has_value());
  EXPECT_EQ(log->requests[0].attempts[0].first_byte_us, -1);
}

TEST(TrafficLog, ReadsGenericJsonLinesInArrivalOrder) {
  const std::string text =
      "{\"timestamp\": \"2026-05-08T11:23:01.5Z\", \"route\": \"main\", \"prompt_tokens\": 10, \"output_tokens\": 20}\n"
      "\n"
      "{\"timestamp\": \"2026-05-08T13:23:00+02:00\", \"model\": \"gpt-4.1\", \"prompt_tokens\": 1, "
      "\"output_tokens\": null, \"stream\": true}\n"
      "{\"timestamp\": 1778239380.25, \"route\": \"main\", \"prompt_tokens\": 0, \"output_tokens\": 0}\n";
  const Result<TrafficLog> log = parse_traffic_log(text, "g.jsonl");
  ASSERT_TRUE(log.has_value()) << log.error().message();
  EXPECT_EQ(log->form, LogForm::json_lines);
  ASSERT_EQ(log->requests.size(), 3U);
  // 11:23:00Z (line 3), 11:23:00.25Z (line 4), 11:23:01.5Z (line 1).
  EXPECT_EQ(log->requests[0].line, 3);
  EXPECT_EQ(log->requests[0].arrived_us, 1'778'239'380'000'000);
  EXPECT_TRUE(log->requests[0].by_model);
  EXPECT_TRUE(log->requests[0].stream);
  EXPECT_FALSE(log->requests[0].output_tokens.has_value());
  EXPECT_EQ(log->requests[1].line, 4);
  EXPECT_EQ(log->requests[1].arrived_us, 1'778'239'380'250'000);
  EXPECT_EQ(log->requests[2].line, 1);
  EXPECT_EQ(log->requests[2].arrived_us, 1'778'239'381'500'000);
  EXPECT_EQ(log->requests[2].output_tokens, 20);
}

TEST(TrafficLog, ReadsCsvWithItsHeaderInAnyOrder) {
  const std::string text =
      "# exported from the warehouse\n"
      "route,timestamp,output_tokens,prompt_tokens,stream\r\n"
      "main, 100.5 ,20,10,true\r\n"
      "cheap,2026-05-08T11:23:00Z,,3,0\n"
      "main,99,1,1,\n";
  const Result<TrafficLog> log = parse_traffic_log(text, "t.csv");
  ASSERT_TRUE(log.has_value()) << log.error().message();
  EXPECT_EQ(log->form, LogForm::csv);
  ASSERT_EQ(log->requests.size(), 3U);
  EXPECT_EQ(log->requests[0].arrived_us, 99'000'000);
  EXPECT_EQ(log->requests[1].arrived_us, 100'500'000);
  EXPECT_TRUE(log->requests[1].stream);
  EXPECT_EQ(log->requests[1].prompt_tokens, 10);
  EXPECT_EQ(log->requests[2].route, "cheap");
  EXPECT_FALSE(log->requests[2].output_tokens.has_value());
}

struct BadLine {
  const char* name;
  std::string text;
  const char* where;
  const char* what;
};

class TrafficLogBad : public ::testing::TestWithParam<BadLine> {};

TEST_P(TrafficLogBad, NamesTheLineAndTheProblem) {
  const Result<TrafficLog> log = parse_traffic_log(GetParam().text, "bad.log");
  ASSERT_FALSE(log.has_value());
  EXPECT_EQ(log.error().where, GetParam().where);
  EXPECT_NE(log.error().what.find(GetParam().what), std::string::npos) << log.error().what;
}

const std::string kGood = "{\"timestamp\": 1, \"route\": \"main\", \"prompt_tokens\": 1, \"output_tokens\": 1}\n";

INSTANTIATE_TEST_SUITE_P(
    Lines, TrafficLogBad,
    ::testing::Values(
        BadLine{"NotJson", kGood + "{\"timestamp\": 2,\n", "bad.log:2", "not JSON"},
        BadLine{"NotAnObject", kGood + "[1, 2]\n", "bad.log:2", "expected a JSON object"},
        BadLine{"NeitherForm", kGood + "{\"when\": 1}\n", "bad.log:2", "neither a gateway line"},
        BadLine{"UnknownKey", kGood + "{\"timestamp\": 1, \"route\": \"a\", \"prompt\": 1}\n", "bad.log:2",
                "prompt: unknown key"},
        BadLine{"RouteAndModel",
                "{\"timestamp\": 1, \"route\": \"a\", \"model\": \"b\", \"prompt_tokens\": 1, \"output_tokens\": 1}\n",
                "bad.log:1", "exactly one of route and model"},
        BadLine{"NegativeTokens", "{\"timestamp\": 1, \"route\": \"a\", \"prompt_tokens\": -3, \"output_tokens\": 1}\n",
                "bad.log:1", "prompt_tokens: -3 is out of range"},
        BadLine{"BadTime",
                "{\"timestamp\": \"yesterday\", \"route\": \"a\", \"prompt_tokens\": 1, \"output_tokens\": 1}\n",
                "bad.log:1", "is not an RFC 3339 time"},
        BadLine{
            "BadDate",
            "{\"timestamp\": \"2026-02-30T00:00:00Z\", \"route\": \"a\", \"prompt_tokens\": 1, \"output_tokens\": 1}\n",
            "bad.log:1", "is not an RFC 3339 time"},
        BadLine{"NewerVersion", "{\"v\": 2, \"arrived_us\": 1, \"route\": \"a\", \"tries\": []}\n", "bad.log:1",
                "version 2 of the traffic log"},
        BadLine{"MissingArrival", "{\"v\": 1, \"route\": \"a\", \"tries\": []}\n", "bad.log:1", "arrived_us: missing"},
        BadLine{"BadTarget",
                "{\"v\": 1, \"arrived_us\": 1, \"route\": \"a\", \"prompt_tokens_est\": 1, \"tries\": [{\"target\": "
                "\"nomodel\", \"outcome\": \"success\", \"status\": 200, \"duration_us\": 1}]}\n",
                "bad.log:1", "tries[0].target: \"nomodel\" is not provider/model"},
        BadLine{"CsvUnknownColumn", "timestamp,route,prompt,output_tokens\n", "bad.log:1:17",
                "\"prompt\" is not a column"},
        BadLine{"CsvMissingColumn", "timestamp,route,prompt_tokens\n", "bad.log:1:1", "the header needs"},
        BadLine{"CsvFieldCount", "timestamp,route,prompt_tokens,output_tokens\n1,a,1,1\n2,a,1\n", "bad.log:3:5",
                "has 3 fields, the header 4"},
        BadLine{"CsvTokens", "timestamp,route,prompt_tokens,output_tokens\n1,a,1,1\n2,a,x1,1\n", "bad.log:3:5",
                "prompt_tokens: \"x1\" is not a token count"},
        BadLine{"CsvTime", "timestamp,route,prompt_tokens,output_tokens\n1.1234567,a,1,1\n", "bad.log:2:1",
                "timestamp: \"1.1234567\" is neither seconds"},
        BadLine{"Empty", "\n\n", "bad.log", "holds no request"}),
    [](const ::testing::TestParamInfo<BadLine>& param_info) { return std::string(param_info.param.name); });

TEST(TrafficLog, Rfc3339) {
  EXPECT_EQ(parse_rfc3339_us("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_rfc3339_us("1970-01-01 00:00:01.000001z"), 1'000'001);
  EXPECT_EQ(parse_rfc3339_us("2026-05-08T11:23:00-01:30"), parse_rfc3339_us("2026-05-08T12:53:00Z"));
  EXPECT_EQ(parse_rfc3339_us("2024-02-29T00:00:00Z"), std::int64_t{1'709'164'800} * 1'000'000);
  EXPECT_FALSE(parse_rfc3339_us("2026-05-08T11:23:00").has_value());  // no zone: ambiguous
  EXPECT_FALSE(parse_rfc3339_us("2026-05-08T24:00:00Z").has_value());
  EXPECT_FALSE(parse_rfc3339_us("2026-05-08T11:23:00.Z").has_value());
}

}  // namespace
}  // namespace failover::sim
