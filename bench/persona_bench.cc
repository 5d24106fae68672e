// Persona throughput: stream events applied per second with 50 segments defined (the
// consumer's batch path: pipelined load, apply, evaluate, CAS commit), and GetProfile
// latency percentiles, against a private redis-server on a free port. Prints JSON.
//   build/bench/persona_bench [--events=100000] [--users=5000] [--batch=512] [--reads=5000]
//                             [--journey=0|1] [--parsed_profiles=20000] [--apply_threads=2]
// --journey=1 first writes a journey snapshot per user into the shared view (stage, 5 stage
// visits, 30 touchpoints, 20 product ids), as the journey service running alongside would.
// --parsed_profiles: the consumer's ParsedProfileCache capacity (0 = parse every load).
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <thread>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "bench/bench_flags.h"
#include "bench/process_cpu.h"
#include "common/storage/hiredis_client.h"
#include "common/storage/keys.h"
#include "services/persona/membership_engine.h"
#include "services/persona/persona_logic.h"
#include "services/persona/profile_stream_handler.h"
#include "services/persona/proto_time.h"
#include "services/persona/segment_files.h"
#include "tests/testing/redis_server.h"

namespace {

using namespace journey;
using namespace journey::persona;

// 50 definitions mixing every kind of node: windows, traits, computed, stage, consent, personas.
std::string FiftySegments() {
  const char* events[] = {"Product Viewed", "Product Added", "Order Completed", "Checkout Started", "Page Viewed"};
  std::string yaml = "segments:\n";
  for (int i = 0; i < 50; ++i) {
    const char* ev = events[i % 5];
    absl::StrAppend(&yaml, "  - id: seg_", i, "\n", (i % 10 == 9) ? "    persona: true\n    priority: " : "",
                    (i % 10 == 9) ? absl::StrCat(i, "\n") : "", "    condition:\n      all:\n",
                    "        - event_count: {event: ", ev, ", op: \">=\", count: ", 1 + i % 3, ", window: ",
                    (i % 4 == 0 ? "1d" : i % 4 == 1 ? "7d" : i % 4 == 2 ? "30d" : "90d"), "}\n",
                    "        - any:\n",
                    "            - compare: {attribute: computed.revenue, op: \">=\", value: ", 10 * (i % 7), "}\n",
                    "            - compare: {attribute: trait.plan, op: in, value: [gold, silver]}\n",
                    "            - compare: {attribute: consent.marketing, op: \"==\", value: true}\n",
                    "        - not: {compare: {attribute: journey.stage, op: \"==\", value: LOYALTY}}\n");
  }
  return yaml;
}

}  // namespace

int main(int argc, char** argv) {
  const long events = journey::bench::IntFlag<long>(argc, argv, "events", 100000);
  const long users = journey::bench::IntFlag<long>(argc, argv, "users", 5000);
  const long batch_size = journey::bench::IntFlag<long>(argc, argv, "batch", 512);
  const long reads = journey::bench::IntFlag<long>(argc, argv, "reads", 5000);
  const long journey_snapshots = journey::bench::IntFlag<long>(argc, argv, "journey", 0);
  const long parsed_profiles = journey::bench::IntFlag<long>(argc, argv, "parsed_profiles", 20000);
  // As the service's --consumer_apply_threads: partitions applied at once by one replica.
  const long apply_threads = std::max(1L, journey::bench::IntFlag<long>(argc, argv, "apply_threads", 2));
  const int partitions = 16;

  journey::testing::RedisServer redis;
  if (!redis.Start().ok()) {
    std::fprintf(stderr, "redis-server did not start\n");
    return 1;
  }
  storage::HiredisOptions options;
  options.endpoint.port = redis.port();
  auto client = storage::HiredisClient::Create(options);
  if (!client.ok()) return 1;
  RealClock* clock = RealClock::Get();
  SegmentCatalog catalog(client->get(), clock);
  auto defs = ParseSegmentDefinitions(FiftySegments());
  if (!defs.ok()) {
    std::fprintf(stderr, "%s\n", std::string(defs.status().message()).c_str());
    return 1;
  }
  for (const auto& d : *defs) {
    if (auto v = catalog.Apply("default", d); !v.ok()) {
      std::fprintf(stderr, "%s: %s\n", d.id().c_str(), std::string(v.status().message()).c_str());
      return 1;
    }
  }
  ProfileStore store(client->get());
  ProfileAggregator aggregator;
  MembershipEngine engine(&catalog);
  StreamHandlerOptions handler_options;
  handler_options.parsed_profiles = static_cast<size_t>(parsed_profiles);
  ProfileStreamHandler handler(&store, &aggregator, &engine, clock, handler_options);

  if (journey_snapshots != 0) {
    std::vector<storage::RedisCommand> writes;
    for (long u = 0; u < users; ++u) {
      const std::string uid = absl::StrCat("bench-user-", u);
      cpb::JourneySnapshot j;
      j.set_user_id(uid);
      j.set_workspace_id("default");
      j.set_journey_id("default");
      j.set_stage("DECISION");
      for (const char* stage : {"AWARENESS", "CONSIDERATION", "DECISION", "PURCHASE", "DECISION"}) {
        auto* v = j.add_history();
        v->set_stage(stage);
        v->set_entered_by("Product Viewed");
        ToProto(absl::Now(), v->mutable_entered_at());
      }
      for (int t = 0; t < 30; ++t) {
        auto* tp = j.add_touchpoints();
        tp->set_channel(cpb::CHANNEL_WEB);
        tp->set_event_name("Product Viewed");
        tp->set_product_id(absl::StrCat("prod-", t));
        tp->set_stage("CONSIDERATION");
        tp->set_message_id(absl::StrCat(uid, "-m", t));
        tp->set_category("cat-1");
        ToProto(absl::Now(), tp->mutable_time());
      }
      for (int r = 0; r < 20; ++r) j.add_recent_product_ids(absl::StrCat("prod-", r));
      writes.push_back({"HSET", keys::View("default", uid), std::string(keys::kViewJourneyField), j.SerializeAsString()});
    }
    if (!client->get()->Pipeline(writes).ok()) return 1;
  }

  // Events per partition, as the consumer would read them.
  std::mt19937 rng(7);
  const char* names[] = {"Product Viewed", "Product Viewed", "Product Viewed", "Product Added",
                         "Checkout Started", "Order Completed", "Page Viewed"};
  std::vector<std::vector<stream::StreamEntry>> per_partition(partitions);
  const absl::Time now = absl::Now();
  for (long i = 0; i < events; ++i) {
    const std::string uid = absl::StrCat("bench-user-", rng() % users);
    stream::StreamEntry e;
    const uint32_t p = keys::PartitionOf(uid, partitions);
    e.id = absl::StrCat(1000000 + i, "-0");
    auto& env = e.envelope;
    env.set_kind(cpb::ENVELOPE_KIND_EVENT);
    env.set_workspace_id("default");
    env.set_canonical_user_id(uid);
    auto* ev = env.mutable_event();
    ev->set_type(cpb::EVENT_TYPE_TRACK);
    ev->set_name(names[rng() % 7]);
    ev->set_category(absl::StrCat("cat-", rng() % 20));
    ev->set_channel(static_cast<cpb::Channel>(1 + rng() % 3));
    if (ev->name() == "Order Completed") {
      ev->set_order_id(absl::StrCat("o-", i));
      ev->set_revenue(5 + rng() % 200);
    }
    ToProto(now - absl::Seconds(rng() % (86400 * 30)), ev->mutable_timestamp());
    per_partition[p].push_back(std::move(e));
  }

  const absl::Time start = absl::Now();
  const double cpu_start = journey::bench::SelfCpuSeconds();
  const double redis_cpu_start = journey::bench::RedisCpuSeconds(client->get());
  std::atomic<long> applied{0};
  std::atomic<bool> failed{false};
  std::vector<std::thread> appliers;
  for (long t = 0; t < apply_threads; ++t) {
    appliers.emplace_back([&, t] {
      for (int p = static_cast<int>(t); p < partitions; p += static_cast<int>(apply_threads)) {
        auto& entries = per_partition[p];
        for (size_t off = 0; off < entries.size() && !failed; off += batch_size) {
          std::vector<stream::StreamEntry> batch(entries.begin() + off,
                                                 entries.begin() + std::min(entries.size(), off + batch_size));
          if (auto s = handler.ApplyBatch(p, batch); !s.ok()) {
            std::fprintf(stderr, "apply: %s\n", std::string(s.message()).c_str());
            failed = true;
            return;
          }
          applied += static_cast<long>(batch.size());
        }
      }
    });
  }
  for (auto& t : appliers) t.join();
  if (failed) return 1;
  const double apply_s = absl::ToDoubleSeconds(absl::Now() - start);
  const double apply_cpu_s = journey::bench::SelfCpuSeconds() - cpu_start;
  const double redis_cpu_s = journey::bench::RedisCpuSeconds(client->get()) - redis_cpu_start;

  PersonaLogic logic(&store, &aggregator, &engine, clock, {});
  std::vector<double> lat_us;
  lat_us.reserve(reads);
  for (long i = 0; i < reads; ++i) {
    const std::string uid = absl::StrCat("bench-user-", rng() % users);
    const absl::Time t0 = absl::Now();
    auto p = logic.GetProfile(uid, "");
    lat_us.push_back(absl::ToDoubleMicroseconds(absl::Now() - t0));
    if (!p.ok()) return 1;
  }
  std::sort(lat_us.begin(), lat_us.end());
  auto pct = [&](double q) { return lat_us.empty() ? 0.0 : lat_us[std::min(lat_us.size() - 1, size_t(q * lat_us.size()))]; };
  auto changes = client->get()->Command({"XLEN", keys::SegmentChanges("default")});
  std::printf(
      "{\"segments\": %zu, \"apply_threads\": %ld, \"journey_snapshots\": %s, \"events\": %ld, \"users\": %ld, \"batch\": %ld, \"apply_seconds\": %.3f, "
      "\"events_per_second\": %.0f, \"apply_cpu_seconds\": %.3f, \"events_per_cpu_second\": %.0f, "
      "\"redis_cpu_seconds\": %.3f, \"events_per_cpu_second_with_redis\": %.0f, \"membership_changes\": %lld, "
      "\"parsed_profile_hits\": %zu, \"parsed_profile_misses\": %zu, \"get_profile\": {\"reads\": %ld, "
      "\"p50_us\": %.0f, \"p99_us\": %.0f, \"max_us\": %.0f}}\n",
      defs->size(), apply_threads, journey_snapshots != 0 ? "true" : "false", applied.load(), users, batch_size, apply_s, applied / apply_s, apply_cpu_s, applied / apply_cpu_s,
      redis_cpu_s, applied / (apply_cpu_s + redis_cpu_s),
      changes.ok() ? changes->integer : -1LL, handler.parsed_profiles().hits(), handler.parsed_profiles().misses(), reads, pct(0.5), pct(0.99), lat_us.empty() ? 0.0 : lat_us.back());
  return 0;
}
