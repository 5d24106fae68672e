// Redis throughput as the services use it, one Redis versus a 3-master Redis Cluster, all on
// loopback: pipelines of per-user writes (HSET on the user's view + XADD to its partition,
// the journey/persona shape) and per-user reads (HGETALL of the view, the recommend shape).
// Prints one JSON object. Bounded: a fixed number of pipelines per phase.
//   build/bench/redis_cluster_bench [--threads=2] [--pipelines=400] [--batch=100]
#include <atomic>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "bench/bench_flags.h"
#include "common/storage/keys.h"
#include "common/storage/redis_factory.h"
#include "tests/testing/redis_cluster.h"
#include "tests/testing/redis_server.h"

namespace {

using journey::storage::RedisClient;
using journey::storage::RedisCommand;

struct Figures {
  double writes_per_s = 0;
  double reads_per_s = 0;
  int failed = 0;
};

// `threads` callers, each sending `pipelines` pipelines of `batch` users.
Figures Run(RedisClient* redis, int threads, int pipelines, int batch) {
  Figures f;
  std::atomic<int> failed{0};
  const std::string payload(300, 'x');  // about a serialized snapshot
  for (int phase = 0; phase < 2; ++phase) {
    const absl::Time start = absl::Now();
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        for (int p = 0; p < pipelines; ++p) {
          std::vector<RedisCommand> cmds;
          for (int b = 0; b < batch; ++b) {
            const int user = (t * pipelines + p) * batch + b;
            const std::string uid = absl::StrCat("u", user % 100000);
            const std::string view = journey::keys::View("default", uid);
            if (phase == 0) {
              cmds.push_back({"HSET", view, "journey", payload});
              cmds.push_back({"XADD", journey::keys::EventStream(user % 16), "MAXLEN", "~", "10000", "*", "e", payload});
            } else {
              cmds.push_back({"HGETALL", view});
            }
          }
          auto r = redis->Pipeline(cmds);
          if (!r.ok()) failed++;
        }
      });
    }
    for (auto& w : workers) w.join();
    const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
    const double users = static_cast<double>(threads) * pipelines * batch;
    (phase == 0 ? f.writes_per_s : f.reads_per_s) = users / seconds;
  }
  f.failed = failed.load();
  return f;
}

// Latency of the consumer's read shape: one pipeline touching all 16 partitions (so every
// master on a cluster), one caller.
double PartitionSweepMicros(RedisClient* redis, int calls) {
  std::vector<RedisCommand> cmds;
  for (uint32_t p = 0; p < 16; ++p) cmds.push_back({"GET", journey::keys::EventStream(p) + ":probe"});
  (void)redis->Pipeline(cmds);
  const absl::Time start = absl::Now();
  for (int i = 0; i < calls; ++i) (void)redis->Pipeline(cmds);
  return absl::ToDoubleMicroseconds(absl::Now() - start) / calls;
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = journey::bench::IntFlag(argc, argv, "threads", 2);
  const int pipelines = journey::bench::IntFlag(argc, argv, "pipelines", 400);
  const int batch = journey::bench::IntFlag(argc, argv, "batch", 100);

  journey::testing::RedisServer single;
  if (!single.Start().ok()) return 2;
  journey::testing::RedisCluster cluster(3);
  if (!cluster.Start().ok()) return 2;
  auto one = journey::storage::CreateRedisClient(single.url(), threads);
  auto many = journey::storage::CreateRedisClient(cluster.url(), threads);
  if (!one.ok() || !many.ok()) return 2;
  const Figures a = Run(one->get(), threads, pipelines, batch);
  const Figures b = Run(many->get(), threads, pipelines, batch);
  const double sweep_one = PartitionSweepMicros(one->get(), 2000);
  const double sweep_many = PartitionSweepMicros(many->get(), 2000);
  std::printf(
      "{\"bench\":\"redis_cluster\",\"threads\":%d,\"pipelines_per_thread\":%d,\"users_per_pipeline\":%d,"
      "\"single\":{\"user_writes_per_s\":%.0f,\"user_reads_per_s\":%.0f,\"failed_pipelines\":%d,"
      "\"partition_sweep_us\":%.0f},"
      "\"cluster_3_masters\":{\"user_writes_per_s\":%.0f,\"user_reads_per_s\":%.0f,\"failed_pipelines\":%d,"
      "\"partition_sweep_us\":%.0f},"
      "\"note\":\"one write = HSET view + XADD; one read = HGETALL view; partition sweep = one 16-partition "
      "pipeline; all processes share this machine's cores\"}\n",
      threads, pipelines, batch, a.writes_per_s, a.reads_per_s, a.failed, sweep_one, b.writes_per_s, b.reads_per_s,
      b.failed, sweep_many);
  return a.failed + b.failed == 0 ? 0 : 1;
}
