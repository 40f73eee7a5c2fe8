// parse_url and is_loopback (core/transport/url.h): the base URLs live mode accepts.
#include "core/transport/url.h"

#include <gtest/gtest.h>

namespace failover::transport {
namespace {

TEST(Url, HttpsWithPathKeepsHostPortAndPathWithoutTrailingSlash) {
  Result<Url> u = parse_url("https://api.openai.com/v1/");
  ASSERT_TRUE(u) << u.error().message();
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->host, "api.openai.com");
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->path, "/v1");
  EXPECT_EQ(u->authority(), "api.openai.com");
}

TEST(Url, RootPathIsEmpty) {
  Result<Url> u = parse_url("https://api.anthropic.com");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->path, "");
}

TEST(Url, ExplicitPortAppearsInAuthority) {
  Result<Url> u = parse_url("https://127.0.0.1:8443/anthropic");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->port, 8443);
  EXPECT_EQ(u->authority(), "127.0.0.1:8443");
  EXPECT_EQ(u->path, "/anthropic");
}

TEST(Url, Ipv6LiteralIsUnbracketedButBracketedInAuthority) {
  Result<Url> u = parse_url("http://[::1]:9000/p");
  ASSERT_TRUE(u) << u.error().message();
  EXPECT_FALSE(u->tls);
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->authority(), "[::1]:9000");
}

TEST(Url, PlainHttpToLoopbackIsAllowed) {
  EXPECT_TRUE(parse_url("http://localhost:8080/v1"));
  EXPECT_TRUE(parse_url("http://127.0.0.1:8080"));
  EXPECT_TRUE(parse_url("http://127.255.0.1"));
}

TEST(Url, PlainHttpToAnotherHostIsRefused) {
  Result<Url> u = parse_url("http://api.openai.com/v1");
  ASSERT_FALSE(u);
  EXPECT_NE(u.error().what.find("loopback"), std::string::npos) << u.error().what;
  EXPECT_FALSE(parse_url("http://10.0.0.1:8080"));
  EXPECT_FALSE(parse_url("http://128.0.0.1"));
  EXPECT_FALSE(parse_url("http://localhost.example.com"));
}

TEST(Url, OtherSchemesUserInfoQueryAndFragmentAreRefused) {
  EXPECT_FALSE(parse_url("ftp://example.com"));
  EXPECT_FALSE(parse_url("api.openai.com/v1"));
  EXPECT_FALSE(parse_url("https://user:pass@example.com"));
  EXPECT_FALSE(parse_url("https://example.com/v1?x=1"));
  EXPECT_FALSE(parse_url("https://example.com/v1#frag"));
}

TEST(Url, BadHostsAndPortsAreRefused) {
  EXPECT_FALSE(parse_url("https://"));
  EXPECT_FALSE(parse_url("https://:443"));
  EXPECT_FALSE(parse_url("https://example.com:"));
  EXPECT_FALSE(parse_url("https://example.com:0"));
  EXPECT_FALSE(parse_url("https://example.com:65536"));
  EXPECT_FALSE(parse_url("https://example.com:12ab"));
  EXPECT_FALSE(parse_url("https://[::1"));
  EXPECT_FALSE(parse_url("https://[::1]x"));
  EXPECT_TRUE(parse_url("https://example.com:65535"));
}

TEST(Url, ErrorNamesTheUrl) {
  Result<Url> u = parse_url("gopher://x");
  ASSERT_FALSE(u);
  EXPECT_EQ(u.error().where, "base_url");
  EXPECT_NE(u.error().what.find("gopher://x"), std::string::npos);
}

TEST(Loopback, RecognisesLoopbackNamesAndAddressesOnly) {
  EXPECT_TRUE(is_loopback("localhost"));
  EXPECT_TRUE(is_loopback("::1"));
  EXPECT_TRUE(is_loopback("127.0.0.1"));
  EXPECT_TRUE(is_loopback("127.1.2.3"));
  EXPECT_FALSE(is_loopback("127.0.0.256"));
  EXPECT_FALSE(is_loopback("127.0.0"));
  EXPECT_FALSE(is_loopback("127.0.0.1.5"));
  EXPECT_FALSE(is_loopback("127.0.0.1x"));
  EXPECT_FALSE(is_loopback("10.0.0.1"));
  EXPECT_FALSE(is_loopback("localhost2"));
  EXPECT_FALSE(is_loopback(""));
}

}  // namespace
}  // namespace failover::transport
