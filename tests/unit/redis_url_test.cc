#include "common/storage/redis_url.h"

#include <gtest/gtest.h>

namespace journey::storage {
namespace {

TEST(RedisUrlTest, ParsesFullUrl) {
  auto ep = ParseRedisUrl("redis://app:s3cret@redis.svc:6380/2");
  ASSERT_TRUE(ep.ok()) << ep.status();
  EXPECT_EQ(ep->host, "redis.svc");
  EXPECT_EQ(ep->port, 6380);
  EXPECT_EQ(ep->username, "app");
  EXPECT_EQ(ep->password, "s3cret");
  EXPECT_EQ(ep->db, 2);
}

TEST(RedisUrlTest, PasswordOnlyAndDefaults) {
  auto ep = ParseRedisUrl("redis://:pw@10.0.0.1");
  ASSERT_TRUE(ep.ok());
  EXPECT_EQ(ep->password, "pw");
  EXPECT_EQ(ep->username, "");
  EXPECT_EQ(ep->port, 6379);
  EXPECT_EQ(ep->db, 0);
}

TEST(RedisUrlTest, RejectsBadUrlsNamingThePart) {
  EXPECT_NE(ParseRedisUrl("http://x:1").status().message().find("redis://"), std::string::npos);
  EXPECT_NE(ParseRedisUrl("redis://host:notaport").status().message().find("notaport"), std::string::npos);
  EXPECT_NE(ParseRedisUrl("redis://host:6379/x").status().message().find("database"), std::string::npos);
  EXPECT_FALSE(ParseRedisUrl("redis://:1").ok());
}

}  // namespace
}  // namespace journey::storage
