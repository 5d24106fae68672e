// trigger_latency_bench: how long from the event that causes a stage transition to the
// triggered action in its partition's action stream, at a steady offered rate. Starts its own
// redis-server; one journey replica in process (the service's consumer, applier, triggers and
// outbox); a producer appends events to the event streams at `rate` per second for `seconds`,
// like ingest (75% views, 15% adds, 7% orders, 3% reviews). A trigger fires on every entry to
// DECISION. Latency = the action's stream entry id minus the cause event's entry id (both
// Redis server clock, ms). Prints one JSON object.
//   build/bench/trigger_latency_bench [rate=10000] [seconds=10] [users=20000] [triggers=1]
// triggers=0 runs the same load with no trigger configured, so the cost of the triggers
// reads as the difference in CPU per event (process + redis-server), which other load on
// the machine hardly moves, unlike the wall-clock latency.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "bench/process_cpu.h"
#include "common/orchestration/action_outbox.h"
#include "common/storage/hiredis_client.h"
#include "common/storage/keys.h"
#include "common/stream/partitioned_consumer.h"
#include "services/journey/action_triggers.h"
#include "services/journey/event_fields.h"
#include "services/journey/journey_applier.h"
#include "tests/testing/redis_server.h"

namespace {

using namespace journey;
using namespace journey::journey_state;
namespace pb = journey::common::v1;
constexpr int kPartitions = 16;

long long IdMs(const std::string& id) {
  long long ms = 0;
  (void)absl::SimpleAtoi(id.substr(0, id.find('-')), &ms);
  return ms;
}

pb::EventEnvelope MakeEvent(std::mt19937* rng, int users, int i) {
  std::uniform_int_distribution<int> user(0, users - 1), pick(0, 99), product(0, 4999);
  pb::EventEnvelope env;
  env.set_kind(pb::ENVELOPE_KIND_EVENT);
  env.set_workspace_id("default");
  const std::string uid = absl::StrCat("t-", user(*rng));
  env.set_canonical_user_id(uid);
  pb::Event* e = env.mutable_event();
  e->set_type(pb::EVENT_TYPE_TRACK);
  e->set_user_id(uid);
  e->set_message_id(absl::StrCat("tm-", i));
  e->set_channel(pb::CHANNEL_WEB);
  const int r = pick(*rng);
  e->set_name(r < 75 ? "Product Viewed" : r < 90 ? "Product Added" : r < 97 ? "Order Completed" : "Product Reviewed");
  e->set_product_id(absl::StrCat("p", product(*rng)));
  e->set_price(10 + product(*rng) % 200);
  SetTimestamp(absl::Now(), e->mutable_timestamp());
  return env;
}

double Percentile(std::vector<long long> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return static_cast<double>(v[std::min(v.size() - 1, static_cast<size_t>(q * v.size()))]);
}

}  // namespace

int main(int argc, char** argv) {
  int rate = 10000, seconds = 10, users = 20000;
  if (argc > 1) (void)absl::SimpleAtoi(argv[1], &rate);
  if (argc > 2) (void)absl::SimpleAtoi(argv[2], &seconds);
  if (argc > 3) (void)absl::SimpleAtoi(argv[3], &users);
  int with_triggers = 1;
  if (argc > 4) (void)absl::SimpleAtoi(argv[4], &with_triggers);
  journey::testing::RedisServer server;
  if (!server.Start().ok()) {
    std::fprintf(stderr, "cannot start redis-server\n");
    return 2;
  }
  auto redis = *storage::HiredisClient::FromUrl(server.url());
  auto producer_redis = *storage::HiredisClient::FromUrl(server.url());
  RealClock* clock = RealClock::Get();
  auto def = LoadDefinitionFile(std::string(JOURNEY_SOURCE_DIR) + "/config/journeys/default.yaml");
  if (!def.ok()) return 1;
  DefinitionStore defs(redis.get(), clock, "default", *CompiledDefinition::Compile(*def));
  auto triggers = orchestration::ParseTriggerYaml(R"(
triggers:
  - {id: decision-nudge, on: transition, stage: DECISION, offer: free-shipping-threshold, channel: app}
  - {id: cart-recovery, on: abandoned, stage: DECISION, offer: cart-recovery-10, channel: email, consent: marketing, promotional: true}
)", "bench");
  if (!triggers.ok()) return 1;
  triggers->holdout.share_bp = 0;  // every transition becomes an action
  orchestration::ActionOutbox outbox(redis.get(), clock, *triggers);
  ActionTriggers action_triggers(&outbox);
  JourneyApplier applier(redis.get(), &defs, clock, ApplierOptions{"default", kPartitions, 1'000'000});
  if (with_triggers != 0) applier.SetActionTriggers(&action_triggers);
  stream::ConsumerOptions opts;
  opts.group = "journey";
  opts.replica_id = "bench";
  opts.partitions = kPartitions;
  opts.apply_threads = 2;  // the service default
  stream::PartitionedConsumer consumer(redis.get(), &applier, opts);
  consumer.Start();
  while (consumer.OwnedPartitions().size() < static_cast<size_t>(kPartitions)) absl::SleepFor(absl::Milliseconds(10));

  // Producer: every millisecond, the events due by then, in one pipeline (like ingest's batches).
  std::mt19937 rng(11);
  std::map<std::string, long long> event_ms;  // message id -> entry id ms
  const double cpu0 = bench::ProcessCpuSeconds(getpid());
  const double redis_cpu0 = bench::RedisCpuSeconds(redis.get());
  const absl::Time start = absl::Now();
  const long long total = static_cast<long long>(rate) * seconds;
  long long sent = 0;
  while (sent < total) {
    const long long due = std::min<long long>(total, static_cast<long long>(absl::ToDoubleSeconds(absl::Now() - start) * rate));
    if (due <= sent) {
      absl::SleepFor(absl::Microseconds(200));
      continue;
    }
    std::vector<storage::RedisCommand> cmds;
    std::vector<std::string> ids;
    for (; sent < due; ++sent) {
      pb::EventEnvelope env = MakeEvent(&rng, users, static_cast<int>(sent));
      const uint32_t p = keys::PartitionOf(env.canonical_user_id(), kPartitions);
      ids.push_back(env.event().message_id());
      cmds.push_back({"XADD", keys::EventStream(p), "*", "e", env.SerializeAsString()});
    }
    auto replies = producer_redis->Pipeline(cmds);
    if (!replies.ok()) return 1;
    for (size_t i = 0; i < ids.size(); ++i) event_ms[ids[i]] = IdMs((*replies)[i].str);
  }
  const double produce_s = absl::ToDoubleSeconds(absl::Now() - start);
  // Drained: every partition's group has delivered the stream's last entry and has none pending.
  for (int tries = 0; tries < 6000; ++tries) {
    bool drained = true;
    for (int p = 0; p < kPartitions && drained; ++p) {
      auto groups = redis->Command({"XINFO", "GROUPS", keys::EventStream(p)});
      auto info = redis->Command({"XINFO", "STREAM", keys::EventStream(p)});
      if (!groups.ok() || !info.ok() || groups->elements.empty()) { drained = false; break; }
      std::string last, delivered;
      long long pending = 0;
      for (size_t i = 0; i + 1 < info->elements.size(); i += 2) {
        if (info->elements[i].str == "last-generated-id") last = info->elements[i + 1].str;
      }
      const auto& g = groups->elements[0].elements;
      for (size_t i = 0; i + 1 < g.size(); i += 2) {
        if (g[i].str == "last-delivered-id") delivered = g[i + 1].str;
        if (g[i].str == "pending") pending = g[i + 1].integer;
      }
      drained = last == delivered && pending == 0;
    }
    if (drained) break;
    absl::SleepFor(absl::Milliseconds(10));
  }
  const double wall_s = absl::ToDoubleSeconds(absl::Now() - start);
  const double cpu_s = bench::ProcessCpuSeconds(getpid()) - cpu0;
  const double redis_cpu_s = bench::RedisCpuSeconds(redis.get()) - redis_cpu0;
  consumer.Stop();

  std::vector<long long> latency_ms;
  for (int p = 0; p < kPartitions; ++p) {
    auto entries = redis->Command({"XRANGE", keys::ActionStream(p), "-", "+"});
    if (!entries.ok()) return 1;
    for (const auto& e : entries->elements) {
      pb::Action a;
      if (e.elements.size() < 2 || !a.ParseFromString(e.elements[1].elements[1].str)) continue;
      auto it = event_ms.find(a.cause_message_id());
      if (it != event_ms.end()) latency_ms.push_back(IdMs(e.elements[0].str) - it->second);
    }
  }
  double load[3] = {0, 0, 0};
  (void)getloadavg(load, 3);
  std::printf(
      "{\"bench\": \"trigger_latency\", \"offered_rate_per_s\": %d, \"events\": %lld, \"achieved_rate_per_s\": %.0f, "
      "\"actions\": %zu, \"latency_ms_p50\": %.0f, \"latency_ms_p90\": %.0f, \"latency_ms_p99\": %.0f, "
      "\"latency_ms_max\": %.0f, \"goal_p99_ms\": 100, \"wall_s\": %.2f, \"bench_process_cpu_s\": %.2f, "
      "\"redis_cpu_s\": %.2f, \"events_per_cpu_s\": %.0f, \"triggers\": %s, "
      "\"load_avg_1m\": %.1f, \"note\": \"one replica in process, 16 partitions, apply_threads 2; wall-clock figures are "
      "meaningful only on a quiet machine; events_per_cpu_s counts the bench process (producer included) and redis\"}\n",
      rate, total, total / produce_s, latency_ms.size(), Percentile(latency_ms, 0.5), Percentile(latency_ms, 0.9),
      Percentile(latency_ms, 0.99), Percentile(latency_ms, 1.0), wall_s, cpu_s, redis_cpu_s,
      total / std::max(1e-9, cpu_s + redis_cpu_s), with_triggers != 0 ? "true" : "false", load[0]);
  return 0;
}
