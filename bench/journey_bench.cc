// journey_bench: events/s applied by one and by two journey consumers (replicas in one
// process, each with its own Redis connections), then GetJourney and GetFunnel (30 days)
// latency. Starts its own redis-server on a free port. Prints one JSON object.
//   build/bench/journey_bench [events=200000] [users=20000] [apply_threads=2] [snapshot_cache=200000]
// Rates: wall clock (meaningful only on a quiet machine), and per CPU-second (this process's
// getrusage plus redis-server's INFO cpu), which other load on the machine hardly moves.
// On stderr, per replica count: where redis-server's time went (INFO commandstats deltas,
// calls and usec per applied event; commands run by scripts are counted both under their
// own name and inside EVALSHA's usec).
#include <sys/resource.h>

#include <cstdio>
#include <map>
#include <tuple>
#include <random>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "bench/process_cpu.h"
#include "common/storage/hiredis_client.h"
#include "common/storage/keys.h"
#include "common/stream/partitioned_consumer.h"
#include "services/journey/event_fields.h"
#include "services/journey/journey_applier.h"
#include "services/journey/journey_logic.h"
#include "tests/testing/redis_server.h"

namespace {

using namespace journey;
using namespace journey::journey_state;
namespace pb = journey::common::v1;
constexpr int kPartitions = 16;

// A plausible mix: mostly views, some adds, fewer orders, a few reviews with sentiment.
std::vector<pb::EventEnvelope> MakeEvents(int n, int users, absl::Time start, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> user(0, users - 1), pick(0, 99), product(0, 4999);
  std::vector<pb::EventEnvelope> out;
  out.reserve(n);
  for (int i = 0; i < n; ++i) {
    pb::EventEnvelope env;
    env.set_kind(pb::ENVELOPE_KIND_EVENT);
    env.set_workspace_id("default");
    const std::string uid = absl::StrCat("b-", seed, "-", user(rng));
    env.set_canonical_user_id(uid);
    pb::Event* e = env.mutable_event();
    e->set_type(pb::EVENT_TYPE_TRACK);
    e->set_user_id(uid);
    e->set_message_id(absl::StrCat("bm-", seed, "-", i));
    e->set_channel(pick(rng) < 80 ? pb::CHANNEL_WEB : pb::CHANNEL_EMAIL);
    const int r = pick(rng);
    e->set_name(r < 75 ? "Product Viewed" : r < 90 ? "Product Added" : r < 97 ? "Order Completed" : "Product Reviewed");
    e->set_product_id(absl::StrCat("p", product(rng)));
    e->set_price(10 + product(rng) % 200);
    if (r >= 97) {
      e->set_sentiment_score(1 + pick(rng) % 5);
      e->set_sentiment_scale(pb::SENTIMENT_SCALE_RATING_5);
    }
    SetTimestamp(start + absl::Hours(24 * 29) * (static_cast<double>(i) / n), e->mutable_timestamp());
    out.push_back(std::move(env));
  }
  return out;
}

void Append(storage::RedisClient* redis, const std::vector<pb::EventEnvelope>& events) {
  std::vector<storage::RedisCommand> cmds;
  for (const auto& env : events) {
    cmds.push_back({"XADD", keys::EventStream(keys::PartitionOf(env.canonical_user_id(), kPartitions)), "*", "e",
                    env.SerializeAsString()});
    if (cmds.size() == 2000) {
      (void)redis->Pipeline(cmds);
      cmds.clear();
    }
  }
  (void)redis->Pipeline(cmds);
}

// Field `name` of a flat XINFO reply ([name, value, name, value, ...]).
const storage::RedisReply* InfoField(const storage::RedisReply& info, const std::string& name) {
  for (size_t i = 0; i + 1 < info.elements.size(); i += 2) {
    if (info.elements[i].str == name) return &info.elements[i + 1];
  }
  return nullptr;
}

// True once `group` has been delivered every entry of every partition and acknowledged them
// all. Compares ids rather than XINFO's `lag`, which Redis reports as nil (read as 0 before)
// for a group created with "$" on a stream that already has entries: that made the
// two-replica run stop at once and print an impossible rate.
bool Drained(storage::RedisClient* redis, const std::string& group) {
  std::vector<storage::RedisCommand> cmds;
  for (int p = 0; p < kPartitions; ++p) {
    cmds.push_back({"XINFO", "STREAM", keys::EventStream(p)});
    cmds.push_back({"XINFO", "GROUPS", keys::EventStream(p)});
  }
  auto replies = redis->Pipeline(cmds);
  if (!replies.ok()) return false;
  for (int p = 0; p < kPartitions; ++p) {
    const storage::RedisReply& stream = (*replies)[2 * p];
    const storage::RedisReply& groups = (*replies)[2 * p + 1];
    const storage::RedisReply* last = InfoField(stream, "last-generated-id");
    if (last == nullptr || groups.is_error()) return false;
    bool found = false;
    for (const auto& g : groups.elements) {
      const storage::RedisReply* name = InfoField(g, "name");
      if (name == nullptr || name->str != group) continue;
      found = true;
      const storage::RedisReply* delivered = InfoField(g, "last-delivered-id");
      const storage::RedisReply* pending = InfoField(g, "pending");
      if (delivered == nullptr || pending == nullptr) return false;
      if (delivered->str != last->str || pending->integer != 0) return false;
    }
    if (!found) return false;
  }
  return true;
}

struct Rate {
  double events_per_s = 0;              // wall clock
  double events_per_process_cpu_s = 0;  // CPU of this process (consumers, appliers, the poll)
  double events_per_redis_cpu_s = 0;    // CPU of redis-server
  double events_per_cpu_s = 0;          // CPU of this process plus redis-server
};

// INFO commandstats as command -> (calls, usec).
std::map<std::string, std::pair<double, double>> CommandStats(storage::RedisClient* redis) {
  std::map<std::string, std::pair<double, double>> out;
  auto info = redis->Command({"INFO", "commandstats"});
  if (!info.ok()) return out;
  for (absl::string_view line : absl::StrSplit(info->str, "\r\n")) {
    // cmdstat_hset:calls=10,usec=20,usec_per_call=2.00,...
    if (!absl::ConsumePrefix(&line, "cmdstat_")) continue;
    const size_t colon = line.find(':');
    if (colon == absl::string_view::npos) continue;
    std::pair<double, double> v;
    for (absl::string_view kv : absl::StrSplit(line.substr(colon + 1), ',')) {
      if (absl::ConsumePrefix(&kv, "calls=")) (void)absl::SimpleAtod(kv, &v.first);
      if (absl::ConsumePrefix(&kv, "usec=")) (void)absl::SimpleAtod(kv, &v.second);
    }
    out[std::string(line.substr(0, colon))] = v;
  }
  return out;
}

// The commandstats delta of a run, per applied event, busiest first, on stderr.
void PrintCommandStats(const char* label, const std::map<std::string, std::pair<double, double>>& before,
                       const std::map<std::string, std::pair<double, double>>& after, size_t events) {
  std::vector<std::tuple<double, double, std::string>> rows;  // usec, calls, name
  for (const auto& [name, v] : after) {
    auto it = before.find(name);
    const double calls = v.first - (it == before.end() ? 0 : it->second.first);
    const double usec = v.second - (it == before.end() ? 0 : it->second.second);
    if (calls > 0) rows.emplace_back(usec / events, calls / events, name);
  }
  std::sort(rows.rbegin(), rows.rend());
  std::fprintf(stderr, "commandstats %s, per event:", label);
  for (const auto& [usec, calls, name] : rows) std::fprintf(stderr, " %s %.3f calls %.2f us;", name.c_str(), calls, usec);
  std::fprintf(stderr, "\n");
}

// Applies `events` with `replicas` consumers of a fresh group.
Rate Throughput(const std::string& url, storage::RedisClient* redis, DefinitionStore* defs, const Clock* clock,
                const std::vector<pb::EventEnvelope>& events, int replicas, int apply_threads, int snapshot_cache,
                const std::string& group) {
  // Group created at the current end of the streams so it sees only what is appended next.
  for (int p = 0; p < kPartitions; ++p) {
    (void)redis->Command({"XGROUP", "CREATE", keys::EventStream(p), group, "$", "MKSTREAM"});
  }
  Append(redis, events);
  std::vector<std::unique_ptr<storage::RedisClient>> clients;
  std::vector<std::unique_ptr<JourneyApplier>> appliers;
  std::vector<std::unique_ptr<stream::PartitionedConsumer>> consumers;
  const auto stats_before = CommandStats(redis);
  const double cpu_before = journey::bench::SelfCpuSeconds();
  const double redis_before = journey::bench::RedisCpuSeconds(redis);
  const absl::Time start = absl::Now();
  for (int r = 0; r < replicas; ++r) {
    clients.push_back(*storage::HiredisClient::FromUrl(url));
    appliers.push_back(std::make_unique<JourneyApplier>(clients.back().get(), defs, clock,
                                                        ApplierOptions{"default", kPartitions, 1'000'000, true,
                                                                       snapshot_cache}));
    stream::ConsumerOptions opts;
    opts.group = group;
    opts.replica_id = absl::StrCat(group, "-", r);
    opts.partitions = kPartitions;
    opts.lease_refresh = absl::Milliseconds(100);
    opts.apply_threads = apply_threads;
    consumers.push_back(std::make_unique<stream::PartitionedConsumer>(clients.back().get(), appliers.back().get(), opts));
    consumers.back()->Start();
  }
  while (!Drained(redis, group)) absl::SleepFor(absl::Milliseconds(20));
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  const double process_cpu = journey::bench::SelfCpuSeconds() - cpu_before;
  const double redis_cpu = journey::bench::RedisCpuSeconds(redis) - redis_before;
  for (auto& c : consumers) c->Stop();
  PrintCommandStats(group.c_str(), stats_before, CommandStats(redis), events.size());
  Rate rate;
  rate.events_per_s = events.size() / seconds;
  rate.events_per_process_cpu_s = process_cpu > 0 ? events.size() / process_cpu : 0;
  rate.events_per_redis_cpu_s = redis_cpu > 0 ? events.size() / redis_cpu : 0;
  rate.events_per_cpu_s = process_cpu + redis_cpu > 0 ? events.size() / (process_cpu + redis_cpu) : 0;
  return rate;
}

std::pair<double, double> Percentiles(std::vector<double> us) {
  std::sort(us.begin(), us.end());
  return {us[us.size() / 2], us[us.size() * 99 / 100]};
}

}  // namespace

int main(int argc, char** argv) {
  int n = 200000, users = 20000;
  if (argc > 1) (void)absl::SimpleAtoi(argv[1], &n);
  if (argc > 2) (void)absl::SimpleAtoi(argv[2], &users);
  int apply_threads = 2;  // the service's --consumer_apply_threads default
  if (argc > 3) (void)absl::SimpleAtoi(argv[3], &apply_threads);
  int snapshot_cache = ApplierOptions().snapshot_cache_entries;  // 0: every batch reads its snapshots
  if (argc > 4) (void)absl::SimpleAtoi(argv[4], &snapshot_cache);
  journey::testing::RedisServer server;
  if (!server.Start().ok()) {
    std::fprintf(stderr, "cannot start redis-server\n");
    return 2;
  }
  auto redis = *storage::HiredisClient::FromUrl(server.url());
  RealClock* clock = RealClock::Get();
  auto def = LoadDefinitionFile(std::string(JOURNEY_SOURCE_DIR) + "/config/journeys/default.yaml");
  if (!def.ok()) return 1;
  DefinitionStore defs(redis.get(), clock, "default", *CompiledDefinition::Compile(*def));
  const absl::Time day0 = absl::Now() - absl::Hours(24 * 29);
  // Events spread over the last 29 days, so GetFunnel reads 30 populated day buckets.
  const auto one = MakeEvents(n, users, day0, 1);
  const Rate one_rate = Throughput(server.url(), redis.get(), &defs, clock, one, 1, apply_threads, snapshot_cache,
                                  "journey-one");
  const auto two = MakeEvents(n, users, day0, 2);
  const Rate two_rate = Throughput(server.url(), redis.get(), &defs, clock, two, 2, apply_threads, snapshot_cache,
                                  "journey-two");

  JourneyLogic logic(redis.get(), &defs, clock, {});
  std::vector<double> get_us, funnel_us, map_us;
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> user(0, users - 1);
  for (int i = 0; i < 2000; ++i) {
    const absl::Time t0 = absl::Now();
    auto j = logic.GetJourney(absl::StrCat("b-1-", user(rng)), "");
    get_us.push_back(absl::ToDoubleMicroseconds(absl::Now() - t0));
    if (!j.ok()) return 1;
  }
  journey::state::v1::GetFunnelRequest freq;  // default range: the last 30 days
  for (int i = 0; i < 500; ++i) {
    const absl::Time t0 = absl::Now();
    auto f = logic.GetFunnel(freq);
    funnel_us.push_back(absl::ToDoubleMicroseconds(absl::Now() - t0));
    if (!f.ok()) return 1;
  }
  journey::state::v1::GetJourneyMapRequest mreq;
  for (int i = 0; i < 200; ++i) {
    const absl::Time t0 = absl::Now();
    auto m = logic.GetJourneyMap(mreq);
    map_us.push_back(absl::ToDoubleMicroseconds(absl::Now() - t0));
    if (!m.ok()) return 1;
  }
  const auto [g50, g99] = Percentiles(get_us);
  const auto [f50, f99] = Percentiles(funnel_us);
  const auto [m50, m99] = Percentiles(map_us);
  std::printf(
      "{\"events\": %d, \"users\": %d, \"partitions\": %d, \"apply_threads\": %d, \"snapshot_cache\": %d,\n"
      " \"apply_events_per_s_one_replica\": %.0f, \"apply_events_per_s_two_replicas\": %.0f,\n"
      " \"apply_events_per_cpu_s_one_replica\": %.0f, \"apply_events_per_process_cpu_s_one_replica\": %.0f,\n"
      " \"apply_events_per_redis_cpu_s_one_replica\": %.0f, \"apply_events_per_cpu_s_two_replicas\": %.0f,\n"
      " \"get_journey_us_p50\": %.0f, \"get_journey_us_p99\": %.0f,\n"
      " \"get_funnel_30d_us_p50\": %.0f, \"get_funnel_30d_us_p99\": %.0f,\n"
      " \"get_journey_map_30d_us_p50\": %.0f, \"get_journey_map_30d_us_p99\": %.0f}\n",
      n, users, kPartitions, apply_threads, snapshot_cache, one_rate.events_per_s, two_rate.events_per_s, one_rate.events_per_cpu_s,
      one_rate.events_per_process_cpu_s, one_rate.events_per_redis_cpu_s, two_rate.events_per_cpu_s, g50, g99, f50, f99, m50, m99);
  return 0;
}
