#include "tools/journeyctl/time_flags.h"

#include <gtest/gtest.h>

namespace journey::cli {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1764000000);

TEST(TimeFlagsTest, RelativeAbsoluteAndNow) {
  EXPECT_EQ(*ParseTimeFlag("from", "now", kNow), kNow);
  EXPECT_EQ(*ParseTimeFlag("from", "-7d", kNow), kNow - absl::Hours(24 * 7));
  EXPECT_EQ(*ParseTimeFlag("to", "+1h", kNow), kNow + absl::Hours(1));
  EXPECT_EQ(*ParseTimeFlag("from", "-30m", kNow), kNow - absl::Minutes(30));
  EXPECT_EQ(absl::ToUnixSeconds(*ParseTimeFlag("from", "2025-11-20", kNow)), 1763596800);
  EXPECT_EQ(absl::ToUnixSeconds(*ParseTimeFlag("from", "2025-11-20T01:00:00Z", kNow)), 1763596800 + 3600);
}

TEST(TimeFlagsTest, ErrorsNameTheFlag) {
  auto bad = ParseTimeFlag("from", "last tuesday", kNow);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("--from 'last tuesday'"), std::string::npos);
  auto reversed = ParseRange("now", "-1d", kNow);
  ASSERT_FALSE(reversed.ok());
  EXPECT_NE(reversed.status().message().find("--from"), std::string::npos);
  auto ok = ParseRange("-7d", "now", kNow);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->to().seconds() - ok->from().seconds(), 7 * 86400);
}

}  // namespace
}  // namespace journey::cli
