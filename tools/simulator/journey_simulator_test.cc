// The simulator is seeded, keeps each customer's events in time order, logs customers in
// with Identify after anonymous browsing, and plants the checkout friction it promises.
#include "tools/simulator/journey_simulator.h"

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <map>
#include <set>

namespace journey::sim {
namespace {

namespace cv1 = journey::common::v1;

SimulatorOptions Options(uint64_t seed) {
  SimulatorOptions o;
  o.customers = 600;
  o.days = 14;
  o.seed = seed;
  o.end = absl::FromUnixSeconds(1764000000);
  o.batch_size = 97;
  return o;
}

std::vector<cv1::Event> Simulate(const SimulatorOptions& o, SimulationSummary* summary = nullptr) {
  VectorSink sink;
  SimulationSummary local;
  EXPECT_TRUE(JourneySimulator(o).Run(sink, summary ? summary : &local).ok());
  return sink.events();
}

TEST(JourneySimulatorTest, SameSeedSameEventsOtherSeedOtherEvents) {
  const auto a = Simulate(Options(7));
  const auto b = Simulate(Options(7));
  const auto c = Simulate(Options(8));
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_TRUE(google::protobuf::util::MessageDifferencer::Equals(a[i], b[i])) << i;
  }
  EXPECT_NE(a.size(), c.size());
}

TEST(JourneySimulatorTest, EventsAreValidOrderedAndInsideTheRange) {
  const SimulatorOptions o = Options(42);
  const auto events = Simulate(o);
  ASSERT_GT(events.size(), 600u * 5);
  std::map<std::string, int64_t> last_time;
  std::set<std::string> ids;
  for (const auto& e : events) {
    EXPECT_TRUE(ids.insert(e.message_id()).second) << "duplicate message id " << e.message_id();
    EXPECT_FALSE(e.anonymous_id().empty());
    EXPECT_NE(e.channel(), cv1::CHANNEL_UNSPECIFIED) << e.name();
    EXPECT_LE(e.timestamp().seconds(), absl::ToUnixSeconds(o.end));
    EXPECT_GE(e.timestamp().seconds(), absl::ToUnixSeconds(o.end - absl::Hours(24 * o.days)));
    auto [it, fresh] = last_time.emplace(e.anonymous_id(), e.timestamp().seconds());
    if (!fresh) {
      EXPECT_GE(e.timestamp().seconds(), it->second) << e.message_id();
      it->second = e.timestamp().seconds();
    }
    if (e.type() == cv1::EVENT_TYPE_TRACK) {
      EXPECT_FALSE(e.name().empty());
    }
    if (e.has_sentiment_score()) {
      EXPECT_NE(e.sentiment_scale(), cv1::SENTIMENT_SCALE_UNSPECIFIED) << e.name();
    }
  }
}

TEST(JourneySimulatorTest, AnonymousBrowsingThenIdentify) {
  const auto events = Simulate(Options(42));
  std::map<std::string, bool> identified;
  int identifies = 0, anonymous_before = 0;
  for (const auto& e : events) {
    if (e.type() == cv1::EVENT_TYPE_IDENTIFY) {
      ++identifies;
      EXPECT_FALSE(e.user_id().empty());
      EXPECT_TRUE(e.traits().contains("email"));
      identified[e.anonymous_id()] = true;
      continue;
    }
    // Before the Identify a customer is anonymous; after it every event carries the user id.
    EXPECT_EQ(e.user_id().empty(), !identified[e.anonymous_id()]) << e.message_id();
    anonymous_before += e.user_id().empty();
  }
  EXPECT_GT(identifies, 200);
  EXPECT_GT(anonymous_before, 1000);
}

TEST(JourneySimulatorTest, PlantsTheCheckoutFriction) {
  SimulationSummary summary;
  const auto events = Simulate(Options(42), &summary);
  // Of the shipping steps viewed on the web, the surprised ones lose customers and rate it badly.
  int web_shipping = 0, surprised = 0, rated = 0;
  double rating_sum = 0;
  for (const auto& e : events) {
    if (e.name() != "Checkout Step Viewed" || e.step() != 2) continue;
    if (e.channel() == cv1::CHANNEL_WEB) ++web_shipping;
    if (e.shipping() > 0) {
      ++surprised;
      EXPECT_EQ(e.channel(), cv1::CHANNEL_WEB) << "the app's checkout has no surprise";
    }
    if (e.has_sentiment_score() && e.channel() == cv1::CHANNEL_WEB) {
      ++rated;
      rating_sum += (e.sentiment_score() - 1) / 4;  // CSAT 1-5 -> [0, 1]
      if (e.shipping() > 0) {
        EXPECT_LE(e.sentiment_score(), 2);
      }
    }
  }
  EXPECT_EQ(surprised, summary.friction_hits);
  EXPECT_NEAR(static_cast<double>(surprised) / web_shipping, 0.4, 0.12);
  EXPECT_GT(summary.friction_losses, summary.friction_hits / 3);
  ASSERT_GT(rated, 30);
  EXPECT_LT(rating_sum / rated, 0.45) << "the shipping step must rate well below the rest of the journey";
  EXPECT_EQ(summary.customers, 600);
  EXPECT_EQ(summary.customers_by_persona.size(), 4u);
  // Customers end up spread over the stages.
  for (const char* stage : {"AWARENESS", "CONSIDERATION", "DECISION", "PURCHASE", "POST_PURCHASE", "LOYALTY"}) {
    EXPECT_GT(summary.customers_by_last_stage[stage], 5) << stage;
  }
}

}  // namespace
}  // namespace journey::sim

namespace journey::sim {
namespace {

TEST(ReactToRecommendationsTest, ProductsOfTheFavouriteCategoryConvertMore) {
  SimulatedCustomer c;
  c.last_product_id = "sku-beans-01";
  c.favourite_category = "beans";
  std::mt19937_64 rng(7);
  int fitting_orders = 0, fitting_clicks = 0, other_orders = 0, other_clicks = 0;
  constexpr int kVisits = 20000;
  for (int i = 0; i < kVisits; ++i) {
    // The product on screen itself does not count as a fitting recommendation.
    VisitReaction fit = ReactToRecommendations(c, {"sku-beans-01", "sku-kettle-01", "sku-beans-03"}, rng);
    fitting_orders += fit.bought;
    fitting_clicks += fit.clicked;
    if (fit.clicked) {
      EXPECT_EQ(fit.product_id, "sku-beans-03");
    }
    if (fit.bought && fit.clicked) {
      EXPECT_DOUBLE_EQ(fit.revenue, 19.5);
    }
    VisitReaction other = ReactToRecommendations(c, {"sku-beans-01", "sku-kettle-01", "sku-grinder-10"}, rng);
    other_orders += other.bought;
    other_clicks += other.clicked;
  }
  EXPECT_EQ(other_clicks, 0);
  EXPECT_NEAR(static_cast<double>(fitting_clicks) / kVisits, 0.5, 0.02);
  // 0.5 * 0.5 + 0.5 * 0.04 = 0.27 against 0.04.
  EXPECT_NEAR(static_cast<double>(fitting_orders) / kVisits, 0.27, 0.015);
  EXPECT_NEAR(static_cast<double>(other_orders) / kVisits, 0.04, 0.006);
  EXPECT_TRUE(ReactToRecommendations(c, {}, rng).product_id.empty());
}

}  // namespace
}  // namespace journey::sim
