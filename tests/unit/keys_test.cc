#include "common/storage/keys.h"

#include <gtest/gtest.h>

namespace journey::keys {
namespace {

// The Redis Cluster hash tag of a key: what lies between the first '{' and the next '}'.
std::string HashTag(const std::string& key) {
  auto open = key.find('{');
  auto close = key.find('}', open + 1);
  return key.substr(open + 1, close - open - 1);
}

TEST(KeysTest, PerUserKeysShareTheUserHashTagAndCarryTheWorkspace) {
  for (const std::string& key : {View("ws1", "u-42"), Profile("ws1", "u-42"), Alias("ws1", "u-42")}) {
    EXPECT_EQ(HashTag(key), "u-42") << key;
    EXPECT_NE(key.find(":ws1:"), std::string::npos) << key;
  }
}

TEST(KeysTest, BracesInIdsCannotEscapeTheHashTag) {
  std::string key = View("default", "evil}id{x");
  EXPECT_EQ(HashTag(key), "evil%7Did%7Bx");
  // Distinct ids stay distinct after escaping.
  EXPECT_NE(View("default", "a%7Db"), View("default", "a}b"));
}

TEST(KeysTest, PartitionIsStableAndInRange) {
  EXPECT_EQ(PartitionOf("user-1", 16), PartitionOf("user-1", 16));
  EXPECT_EQ(PartitionOf("anything", 1), 0u);
  int seen[16] = {0};
  for (int i = 0; i < 1600; ++i) {
    uint32_t p = PartitionOf("user-" + std::to_string(i), 16);
    ASSERT_LT(p, 16u);
    ++seen[p];
  }
  for (int count : seen) EXPECT_GT(count, 50);  // roughly even spread
}

TEST(KeysTest, DedupKeyLivesInItsStreamPartitionSlot) {
  EXPECT_EQ(HashTag(DedupBucket("default", 3, 20423)), HashTag(EventStream(3)));
  EXPECT_EQ(EventStream(3), "jy:events:{p3}");
}

}  // namespace
}  // namespace journey::keys
