#include "services/recommend/item_model.h"

#include <gtest/gtest.h>

namespace journey::recommend {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1700000000);

std::vector<std::string> Ids(const std::vector<ScoredItem>& items) {
  std::vector<std::string> ids;
  for (const auto& i : items) ids.push_back(i.item_id);
  return ids;
}

// Feeds sessions of items one second apart; sessions one day apart.
void Feed(ItemModel& m, const std::vector<std::vector<std::string>>& sessions, absl::Time start = kT0) {
  absl::Time t = start;
  int n = 0;
  for (const auto& s : sessions) {
    const std::string key = "u" + std::to_string(n++);
    for (const auto& item : s) {
      m.Observe(key, item, t);
      t += absl::Seconds(1);
    }
    t += absl::Hours(1);
  }
  m.RefreshRankings();
}

TEST(ItemModelTest, RecommendsWhatFollowedTheCurrentItem) {
  ItemModelOptions o;
  o.recommend_seen = false;
  ItemModel m(o);
  Feed(m, {{"a", "b"}, {"a", "b"}, {"a", "c"}, {"x", "y"}});
  auto recs = m.Recommend({"a"}, 2);
  ASSERT_EQ(Ids(recs), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(recs[0].reason, "viewed together with a");
  EXPECT_GT(recs[0].score, recs[1].score);
}

TEST(ItemModelTest, OrderMattersAndRecentItemsWeighMore) {
  ItemModelOptions o;
  o.recommend_seen = false;
  ItemModel m(o);
  // After a comes b; after z comes c. A session [a, z] should favour c (z is more recent).
  Feed(m, {{"a", "b"}, {"a", "b"}, {"z", "c"}, {"z", "c"}});
  EXPECT_EQ(Ids(m.Recommend({"a", "z"}, 2)), (std::vector<std::string>{"c", "b"}));
  // Forward beats backward: after b, a was seen only before it.
  ItemModel m2(o);
  Feed(m2, {{"p", "q"}, {"q", "r"}});
  EXPECT_EQ(Ids(m2.Recommend({"q"}, 1)), std::vector<std::string>{"r"});
}

TEST(ItemModelTest, LearnsThatCustomersReturnToTheCurrentItem) {
  ItemModel m;
  // Customers click the same item twice most of the time.
  std::vector<std::vector<std::string>> sessions;
  for (int i = 0; i < 50; ++i) sessions.push_back({"a", "a", "b"});
  Feed(m, sessions);
  auto recs = m.Recommend({"b", "a"}, 3);
  ASSERT_FALSE(recs.empty());
  EXPECT_EQ(recs[0].item_id, "a");
  EXPECT_EQ(recs[0].reason, "recently viewed");
}

TEST(ItemModelTest, OldCoOccurrenceDecays) {
  ItemModelOptions o;
  o.recommend_seen = false;
  o.half_life = absl::Hours(24);
  ItemModel m(o);
  // a->old three times long ago, a->new once recently: recency wins after many half-lives.
  Feed(m, {{"a", "old"}, {"a", "old"}, {"a", "old"}});
  Feed(m, {{"a", "new"}}, kT0 + absl::Hours(24 * 10));
  EXPECT_EQ(m.Recommend({"a"}, 1)[0].item_id, "new");
}

TEST(ItemModelTest, SessionsSplitOnInactivity) {
  ItemModelOptions o;
  o.recommend_seen = false;
  ItemModel m(o);
  m.Observe("u", "a", kT0);
  m.Observe("u", "b", kT0 + absl::Hours(2));  // new session: no a-b pair
  m.RefreshRankings();
  for (const auto& r : m.Recommend({"a"}, 5)) EXPECT_NE(r.reason, "viewed together with a");
}

TEST(ItemModelTest, ColdStartAndFilterFallBackToPopular) {
  ItemModel m;
  Feed(m, {{"a", "b"}, {"b"}, {"b", "c"}});
  auto popular = m.Recommend({}, 2);
  ASSERT_EQ(popular.size(), 2u);
  EXPECT_EQ(popular[0].item_id, "b");
  EXPECT_EQ(popular[0].reason, "popular");
  // Filter removes b everywhere.
  auto recs = m.Recommend({"a"}, 3, [](const std::string& id) { return id != "b"; });
  for (const auto& r : recs) EXPECT_NE(r.item_id, "b");
  EXPECT_TRUE(m.Recommend({"unknown"}, 0).empty());
}

}  // namespace
}  // namespace journey::recommend
