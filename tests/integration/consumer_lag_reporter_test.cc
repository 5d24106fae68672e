// ConsumerLagReporter against a real redis-server: the gauge counts undelivered plus pending
// entries of the group, per partition, and 0 where nothing was appended yet.
#include "common/stream/consumer_lag_reporter.h"

#include "absl/strings/str_cat.h"
#include "common/storage/hiredis_client.h"
#include "common/storage/keys.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "tests/testing/redis_server.h"

namespace journey::stream {
namespace {

double GaugeValue(prometheus::Registry& registry, const std::string& group, int partition) {
  for (const auto& family : registry.Collect()) {
    if (family.name != "journey_consumer_lag_entries") continue;
    for (const auto& m : family.metric) {
      bool g = false, p = false;
      for (const auto& l : m.label) {
        g |= l.name == "group" && l.value == group;
        p |= l.name == "partition" && l.value == std::to_string(partition);
      }
      if (g && p) return m.gauge.value;
    }
  }
  return -1;
}

TEST(ConsumerLagReporter, CountsUndeliveredAndPendingEntries) {
  testing::RedisServer server;
  ASSERT_TRUE(server.Start().ok());
  auto redis = storage::HiredisClient::FromUrl(server.url());
  ASSERT_TRUE(redis.ok());
  storage::RedisClient& r = **redis;
  const std::string stream = keys::EventStream(1);
  ASSERT_TRUE(r.Command({"XGROUP", "CREATE", stream, "journey", "0", "MKSTREAM"}).ok());
  ASSERT_TRUE(r.Command({"XGROUP", "CREATE", stream, "persona", "0"}).ok());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(r.Command({"XADD", stream, "*", "e", absl::StrCat(i)}).ok());

  prometheus::Registry registry;
  ConsumerLagReporter reporter(&r, &registry, {"journey", 4, absl::Seconds(5)});
  auto total = reporter.ReportOnce();
  ASSERT_TRUE(total.ok()) << total.status();
  EXPECT_EQ(*total, 10);
  EXPECT_EQ(GaugeValue(registry, "journey", 1), 10);
  EXPECT_EQ(GaugeValue(registry, "journey", 0), 0) << "no stream yet";

  // Deliver 4, acknowledge 2: 6 undelivered + 2 pending.
  auto read = r.Command({"XREADGROUP", "GROUP", "journey", "c", "COUNT", "4", "STREAMS", stream, ">"});
  ASSERT_TRUE(read.ok());
  const auto& entries = read->elements[0].elements[1].elements;
  ASSERT_EQ(entries.size(), 4u);
  ASSERT_TRUE(r.Command({"XACK", stream, "journey", entries[0].elements[0].str, entries[1].elements[0].str}).ok());
  total = reporter.ReportOnce();
  ASSERT_TRUE(total.ok());
  EXPECT_EQ(*total, 8);
  EXPECT_EQ(GaugeValue(registry, "journey", 1), 8);

  // Another group's progress is its own.
  ConsumerLagReporter persona(&r, &registry, {"persona", 4, absl::Seconds(5)});
  EXPECT_EQ(*persona.ReportOnce(), 10);
}

}  // namespace
}  // namespace journey::stream
