// policy.timeouts.connect: the live transport's connect + TLS handshake timeout. The
// engine ignores it; the loader reads it and validate() requires it to be positive.
#include <gtest/gtest.h>

#include <string>

#include "core/config/load.h"

namespace failover {
namespace {

constexpr const char* kMinimal = R"([[providers]]
name = "a"
[[providers.models]]
id = "m"
[[routes]]
name = "r"
targets = [{ provider = "a", model = "m" }]
)";

Result<Config> with_timeouts(const std::string& body) {
  return load_config_string(std::string(kMinimal) + "[policy.timeouts]\n" + body, "t.toml");
}

TEST(ConnectTimeout, DefaultsToTenSeconds) {
  const Result<Config> r = with_timeouts("");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->policy.timeouts.connect, sec(10));
}

TEST(ConnectTimeout, IsReadFromPolicyTimeouts) {
  const Result<Config> r = with_timeouts("connect = \"750ms\"\n");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->policy.timeouts.connect, ms(750));
}

TEST(ConnectTimeout, ZeroIsRefused) {
  const Result<Config> r = with_timeouts("connect = \"0\"\n");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("policy.timeouts.connect"), std::string::npos) << r.error().message();
}

}  // namespace
}  // namespace failover
