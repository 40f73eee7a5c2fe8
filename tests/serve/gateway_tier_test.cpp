// A request whose `model` names a tier ([[tiers]]) is submitted as that tier, so the
// engine downgrades it when the cost budget runs out (on_exhausted = "downgrade"), as
// in the simulator. Tiers are split per protocol like routes: a request that is not
// translated downgrades only to a tier with targets of its own protocol. Against the
// fake fleet over TLS: a pricey "premium" target, a free "cheap" one (both the fleet's
// healthy providers under other names), and a budget a few calls spend.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "serve/gateway_routes.h"
#include "tests/serve/gateway_fixture.h"
#include "tests/serve/log_file.h"

namespace failover::test {
namespace {

Index add_provider(Config& c, const Fleet& fleet, const std::string& name, const std::string& fleet_provider,
                   Protocol protocol, const std::string& model, std::int64_t micro_usd_per_mtok) {
  ProviderConfig p;
  p.name = name;
  p.protocol = protocol;
  p.base_url = fleet.base_url(fleet_provider);
  p.api_key_env = kProviderKeyEnv;
  p.models.push_back(ModelConfig{model, micro_usd_per_mtok, micro_usd_per_mtok, 0});
  c.providers.push_back(p);
  return c.intern_target(static_cast<Index>(c.providers.size() - 1), 0);
}

Index add_route(Config& c, const std::string& name, Index target) {
  RouteConfig r;
  r.name = name;
  r.targets.push_back(RouteTarget{target, 0, 1});
  c.routes.push_back(r);
  return static_cast<Index>(c.routes.size() - 1);
}

// Tier "gold" (premium, OpenAI, $50/1M tokens) and "gold-ant" (premium-ant, Anthropic,
// likewise) both downgrade to "basic" (cheap, OpenAI, free); a budget of $0.002 an hour:
// a premium call reserves about $0.0015 (about 30 tokens at most), so one or two spend it.
Config tier_config(const Fleet& fleet) {
  Config c = fleet_config(fleet);
  const Index premium = add_provider(c, fleet, "premium", "ok", Protocol::openai, "gpt-ok", 50'000'000);
  const Index premium_ant =
      add_provider(c, fleet, "premium-ant", "okant", Protocol::anthropic, "claude-ok", 50'000'000);
  const Index cheap = add_provider(c, fleet, "cheap", "ok", Protocol::openai, "gpt-ok", 0);
  const Index gold = add_route(c, "gold-route", premium);
  const Index gold_ant = add_route(c, "gold-ant-route", premium_ant);
  const Index basic = add_route(c, "basic-route", cheap);
  c.tiers.push_back(TierConfig{"basic", basic, kNoIndex});
  c.tiers.push_back(TierConfig{"gold", gold, 0});
  c.tiers.push_back(TierConfig{"gold-ant", gold_ant, 0});
  c.policy.cost.budget_micro_usd = 2'000;
  c.policy.cost.budget_window = minutes(60);
  c.policy.cost.on_exhausted = BudgetExhausted::downgrade;
  return c;
}

TEST(GatewayTier, ARequestNamingATierIsDowngradedOnceTheCostBudgetIsSpent) {
  Fleet fleet;
  ASSERT_TRUE(fleet.ok());
  std::FILE* log = std::tmpfile();
  ASSERT_NE(log, nullptr);
  TestGateway gateway(tier_config(fleet), test_serve_config(), log);
  ASSERT_TRUE(gateway.ok());
  const HttpExchange first = gateway.post("/v1/chat/completions", openai_body("gold"));
  ASSERT_EQ(first.status, 200U) << first.body;
  EXPECT_EQ(first.field("x-failover-target"), "premium/gpt-ok") << "within budget, the tier's own target serves";
  HttpExchange r;
  for (int i = 0; i < 10; ++i) {  // each premium call spends at least 8 output tokens' worth
    r = gateway.post("/v1/chat/completions", openai_body("gold"));
    ASSERT_EQ(r.status, 200U) << r.body;
    if (r.field("x-failover-target") == "cheap/gpt-ok") break;
  }
  EXPECT_EQ(r.field("x-failover-target"), "cheap/gpt-ok") << "the budget never ran out, or no downgrade";
  const HttpExchange after = gateway.post("/v1/chat/completions", openai_body("gold"));
  EXPECT_EQ(after.field("x-failover-target"), "cheap/gpt-ok") << "the budget stays spent for its window";
  const HttpExchange page = http_exchange(gateway.port(),
                                          "GET /metrics HTTP/1.1\r\nhost: 127.0.0.1\r\n"
                                          "authorization: Bearer " +
                                              std::string(kGatewayKey) + "\r\nconnection: close\r\n\r\n");
  EXPECT_EQ(page.body.find("\nfailover_downgrades_total 0\n"), std::string::npos) << page.body;
  EXPECT_NE(page.body.find("\nfailover_downgrades_total "), std::string::npos) << page.body;
  gateway.gateway().stop();
  const std::string text = read_all(log);
  std::fclose(log);
  EXPECT_NE(text.find("\"tier\": \"gold\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"downgraded\": true"), std::string::npos) << text;
  EXPECT_NE(text.find("\"target\": \"cheap/gpt-ok\""), std::string::npos) << text;
}

TEST(GatewayTier, TiersSplitPerProtocolAndARequestThatCannotCrossIsNotDowngradedAcross) {
  Fleet fleet;
  ASSERT_TRUE(fleet.ok());
  const Config config = tier_config(fleet);
  // The table: for an Anthropic caller that is not translated, "gold-ant" becomes a tier
  // with no downgrade (basic has no Anthropic target); a translated one keeps the user's.
  Result<serve::RouteTable> table = serve::RouteTable::build(config);
  ASSERT_TRUE(table) << table.error().message();
  const std::optional<Index> split = table->engine_config().tier_index("gold-ant@anthropic");
  ASSERT_TRUE(split.has_value());
  EXPECT_EQ(table->engine_config().tiers[*split].downgrade_to, kNoIndex);
  const serve::RouteChoice* choice = table->find("gold-ant", Protocol::anthropic);
  ASSERT_NE(choice, nullptr);
  EXPECT_EQ(choice->tier, *split);
  EXPECT_EQ(choice->tier_any, *config.tier_index("gold-ant"));
  EXPECT_FALSE(choice->cross.empty()) << "its downgrade reaches OpenAI targets: a call that translates may go";

  TestGateway gateway(config, test_serve_config());
  ASSERT_TRUE(gateway.ok());
  // top_k has no OpenAI counterpart: such a request is not translated, so it keeps to
  // Anthropic targets and, past the budget, has no tier to go down to.
  const std::string untranslatable =
      R"({"model":"gold-ant","max_tokens":8,"top_k":5,"messages":[{"role":"user","content":"hello"}]})";
  HttpExchange kept;
  for (int i = 0; i < 10; ++i) {
    kept = gateway.post("/v1/messages", untranslatable);
    if (kept.status != 200U) break;
    EXPECT_EQ(kept.field("x-failover-target"), "premium-ant/claude-ok");
  }
  EXPECT_EQ(kept.status, 429U) << "a request that cannot be translated cannot go to the OpenAI tier: " << kept.body;
  EXPECT_NE(kept.body.find("cost budget"), std::string::npos) << kept.body;
  // A whole answer translates: it is downgraded across protocols, in the caller's shape.
  // (Its body is shorter than the top_k one's, so it reserves less: one more may fit first.)
  HttpExchange whole;
  for (int i = 0; i < 10; ++i) {
    whole = gateway.post("/v1/messages", anthropic_body("gold-ant"));
    ASSERT_EQ(whole.status, 200U) << whole.body;
    if (whole.field("x-failover-target") != "premium-ant/claude-ok") break;
  }
  EXPECT_EQ(whole.field("x-failover-target"), "cheap/gpt-ok");
  EXPECT_NE(whole.body.find("\"type\":\"message\""), std::string::npos) << whole.body;
  // So does a stream, which reserves more than the whole answer that no longer fit: its
  // events are translated back (gateway_stream_translate.h).
  const HttpExchange stream = gateway.post("/v1/messages", anthropic_body("gold-ant", true));
  ASSERT_EQ(stream.status, 200U) << stream.body;
  EXPECT_EQ(stream.field("x-failover-target"), "cheap/gpt-ok");
  EXPECT_NE(stream.body.find("event: message_stop"), std::string::npos) << stream.body;
}

}  // namespace
}  // namespace failover::test
