// How fast the stream consumers (journey, persona) drain events with 1 and 2 replicas, on one
// Redis and on a 3-master cluster: starts the real binaries, appends N envelopes (realistic
// e-commerce events over 16 partitions) and times until the group has no backlog.
//   build/bench/consumer_scale_bench [--events=20000] [--services=journey,persona]
//       [--redis=single,cluster] [--timeout_s=120]
// Prints one JSON line per (service, replicas, redis). Bounded: --timeout_s per run.
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/storage/keys.h"
#include "common/storage/redis_factory.h"
#include "common/stream/consumer_lag_reporter.h"
#include "journey/common/v1/common.pb.h"
#include "prometheus/registry.h"
#include "tests/testing/poll.h"
#include "tests/testing/redis_cluster.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/service_process.h"

namespace {

using journey::storage::RedisClient;
using journey::storage::RedisCommand;
namespace pb = journey::common::v1;

constexpr int kPartitions = 16;

std::string Envelope(int i, int users) {
  static const char* const kFlow[] = {"Product Viewed", "Product Viewed", "Product Added", "Checkout Started",
                                      "Order Completed"};
  const std::string uid = absl::StrCat("bench-user-", i % users);
  pb::EventEnvelope env;
  env.set_kind(pb::ENVELOPE_KIND_EVENT);
  env.set_workspace_id("default");
  env.set_canonical_user_id(uid);
  env.set_partition(journey::keys::PartitionOf(uid, kPartitions));
  env.set_schema_version(1);
  pb::Event* e = env.mutable_event();
  e->set_message_id(absl::StrCat("bench-", i));
  e->set_type(pb::EVENT_TYPE_TRACK);
  e->set_user_id(uid);
  e->set_name(kFlow[(i / users) % 5]);
  e->set_channel(pb::CHANNEL_WEB);
  const int64_t ms = absl::ToUnixMillis(absl::Now()) - 1000;
  e->mutable_timestamp()->set_seconds(ms / 1000);
  e->mutable_timestamp()->set_nanos(static_cast<int32_t>((ms % 1000) * 1000000));
  *env.mutable_ingested_at() = e->timestamp();
  e->set_product_id(absl::StrCat("sku-", i % 97));
  e->set_category(absl::StrCat("cat-", i % 7));
  e->set_price(19.5);
  e->set_quantity(1);
  e->set_currency("EUR");
  if (std::string(e->name()) == "Order Completed") {
    e->set_order_id(absl::StrCat("o-", i));
    e->set_revenue(19.5);
  }
  return env.SerializeAsString();
}

struct Result {
  bool drained = false;
  double seconds = 0;
};

Result Run(const std::string& service, int replicas, const std::string& url, int events, int timeout_s) {
  auto redis = journey::storage::CreateRedisClient(url, 2);
  if (!redis.ok()) return {};
  // Groups at the start of every stream, so the backlog counts every event from the start.
  std::vector<RedisCommand> groups;
  for (int p = 0; p < kPartitions; ++p) {
    groups.push_back({"XGROUP", "CREATE", journey::keys::EventStream(p), service, "0", "MKSTREAM"});
  }
  (void)(*redis)->Pipeline(groups);
  std::vector<std::unique_ptr<journey::testing::ServiceProcess>> procs;
  for (int r = 0; r < replicas; ++r) {
    procs.push_back(std::make_unique<journey::testing::ServiceProcess>(
        service, url, std::map<std::string, std::string>{{"replica_id", absl::StrCat("bench-", r)}}));
    if (auto s = procs.back()->Start(); !s.ok()) {
      std::fprintf(stderr, "%s did not start: %s\n%s\n", service.c_str(), std::string(s.message()).c_str(),
                   procs.back()->LogTail().c_str());
      return {};
    }
  }
  const int users = std::max(1, events / 20);
  const absl::Time start = absl::Now();
  for (int i = 0; i < events;) {
    std::vector<RedisCommand> batch;
    for (int k = 0; k < 500 && i < events; ++k, ++i) {
      const std::string uid = absl::StrCat("bench-user-", i % users);
      batch.push_back({"XADD", journey::keys::EventStream(journey::keys::PartitionOf(uid, kPartitions)), "*", "e",
                       Envelope(i, users)});
    }
    if (!(*redis)->Pipeline(batch).ok()) return {};
  }
  prometheus::Registry registry;
  journey::stream::ConsumerLagReporter lag(redis->get(), &registry, {service, kPartitions, absl::Seconds(1)});
  Result result;
  result.drained = journey::testing::PollUntil(
      [&] {
        auto backlog = lag.ReportOnce();
        return backlog.ok() && *backlog == 0;
      },
      absl::Seconds(timeout_s), absl::Milliseconds(10));
  result.seconds = absl::ToDoubleSeconds(absl::Now() - start);
  if (!result.drained) std::fprintf(stderr, "%s did not drain; its log ends:\n%s\n", service.c_str(), procs[0]->LogTail(800).c_str());
  for (auto& p : procs) p->Stop();
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  int events = 20000;
  std::vector<std::string> services = {"journey", "persona"};
  std::vector<std::string> redis_kinds = {"single", "cluster"};
  int timeout_s = 120;
  for (int i = 1; i < argc; ++i) {
    absl::string_view a = argv[i];
    if (absl::ConsumePrefix(&a, "--events=")) (void)absl::SimpleAtoi(a, &events);
    else if (absl::ConsumePrefix(&a, "--services=")) services = absl::StrSplit(a, ',');
    else if (absl::ConsumePrefix(&a, "--redis=")) redis_kinds = absl::StrSplit(a, ',');
    else if (absl::ConsumePrefix(&a, "--timeout_s=")) (void)absl::SimpleAtoi(a, &timeout_s);
  }
  for (const std::string& service : services) {
    for (const std::string& kind : redis_kinds) {
      const bool cluster = kind == "cluster";
      for (int replicas : {1, 2}) {
        Result r;
        std::string redis_kind = cluster ? "cluster_3_masters" : "single";
        if (cluster) {
          journey::testing::RedisCluster c(3);
          if (!c.Start().ok()) return 2;
          r = Run(service, replicas, c.url(), events, timeout_s);
        } else {
          journey::testing::RedisServer s;
          if (!s.Start().ok()) return 2;
          r = Run(service, replicas, s.url(), events, timeout_s);
        }
        std::printf(
            "{\"bench\":\"consumer_scale\",\"service\":\"%s\",\"replicas\":%d,\"redis\":\"%s\",\"events\":%d,"
            "\"drained\":%s,\"seconds\":%.2f,\"events_per_s\":%.0f}\n",
            service.c_str(), replicas, redis_kind.c_str(), events, r.drained ? "true" : "false", r.seconds,
            r.drained ? events / r.seconds : 0.0);
        std::fflush(stdout);
      }
    }
  }
  return 0;
}
