// Ingest throughput and latency: starts a private redis-server and the journey-ingest
// binary, then drives gRPC Batch calls from client threads for a fixed time, with batches
// of 1 and of 100 realistic e-commerce events (unique message ids, 16 partitions).
//   build/bench/ingest_load_bench [--seconds=5] [--threads1=16] [--threads100=4] [--only=1|100]
// Prints one JSON line per batch size: accepted events/s, call latency p50/p99 (client side,
// the ack comes after the append), the server's append round-trip p50/p99 (from
// journey_ingest_append_latency_seconds, interpolated within histogram buckets), and the
// CPU-seconds the ingest process and Redis spent per 100k accepted events (comparable on a
// busy machine, where events/s is not).
#include <curl/curl.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "bench/bench_flags.h"
#include "bench/process_cpu.h"
#include "common/storage/hiredis_client.h"
#include "journey/ingest/v1/ingest.grpc.pb.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/service_process.h"

namespace {

namespace pb = journey::common::v1;
namespace v1 = journey::ingest::v1;

void FillEvent(int thread, int64_t seq, pb::Event* e) {
  static const char* const kFlow[] = {"Product Viewed", "Product Viewed", "Product Added", "Checkout Started",
                                      "Order Completed"};
  const int64_t user = (seq * 31 + thread) % 20000;
  e->set_type(pb::EVENT_TYPE_TRACK);
  e->set_message_id(absl::StrCat("bench-", thread, "-", seq));
  e->set_user_id(absl::StrCat("bench-user-", user));
  e->set_name(kFlow[seq % 5]);
  e->set_product_id(absl::StrCat("sku-", seq % 997));
  e->set_category("shoes");
  e->set_price(19.5);
  e->set_quantity(1);
  e->set_currency("EUR");
  e->mutable_context()->set_page_url(absl::StrCat("https://shop.example/p/sku-", seq % 997));
  e->mutable_context()->set_user_agent("Mozilla/5.0 (X11; Linux x86_64)");
  const int64_t now_ms = absl::ToUnixMillis(absl::Now());
  e->mutable_timestamp()->set_seconds(now_ms / 1000);
  if (seq % 5 == 4) {
    e->set_order_id(absl::StrCat("o-", thread, "-", seq));
    e->set_revenue(19.5);
  }
}

double Quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(q * v.size()))];
}

size_t Collect(char* d, size_t s, size_t n, void* out) {
  static_cast<std::string*>(out)->append(d, s * n);
  return s * n;
}

// Cumulative bucket counts (upper bound -> count) of the append latency histogram.
std::map<double, double> ScrapeAppendBuckets(int metrics_port) {
  std::string text;
  CURL* curl = curl_easy_init();
  const std::string url = absl::StrCat("http://127.0.0.1:", metrics_port, "/metrics");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &text);
  curl_easy_perform(curl);
  curl_easy_cleanup(curl);
  std::map<double, double> buckets;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::StartsWith(line, "journey_ingest_append_latency_seconds_bucket{le=\"")) continue;
    line.remove_prefix(std::strlen("journey_ingest_append_latency_seconds_bucket{le=\""));
    const size_t q = line.find('"');
    double le, count;
    const std::string bound(line.substr(0, q));
    if (!absl::SimpleAtod(line.substr(line.rfind(' ') + 1), &count)) continue;
    le = bound == "+Inf" ? 1e9 : std::stod(bound);
    buckets[le] = count;
  }
  return buckets;
}

// Quantile of the observations between two scrapes, linear within a bucket, in ms.
double HistogramQuantileMs(const std::map<double, double>& before, const std::map<double, double>& after, double q) {
  std::vector<std::pair<double, double>> delta;
  for (const auto& [le, c] : after) delta.emplace_back(le, c - (before.count(le) ? before.at(le) : 0));
  if (delta.empty() || delta.back().second <= 0) return 0;
  const double target = q * delta.back().second;
  double lower = 0, prev = 0;
  for (const auto& [le, c] : delta) {
    if (c >= target) {
      const double upper = le >= 1e9 ? lower * 2 : le;
      return 1000 * (lower + (upper - lower) * (c == prev ? 0 : (target - prev) / (c - prev)));
    }
    lower = le;
    prev = c;
  }
  return 1000 * lower;
}

void Run(const journey::testing::ServiceProcess& ingest, journey::storage::RedisClient* redis,
         std::shared_ptr<grpc::Channel> channel, int batch, int threads, int seconds) {
  const auto before = ScrapeAppendBuckets(ingest.metrics_port());
  const double ingest_cpu0 = journey::bench::ProcessCpuSeconds(ingest.pid());
  const double redis_cpu0 = journey::bench::RedisCpuSeconds(redis);
  const double client_cpu0 = journey::bench::SelfCpuSeconds();
  std::atomic<int64_t> accepted{0}, failed{0};
  std::vector<std::vector<double>> latencies(threads);
  const absl::Time end = absl::Now() + absl::Seconds(seconds);
  const absl::Time start = absl::Now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      auto stub = v1::Ingest::NewStub(channel);
      int64_t seq = static_cast<int64_t>(batch) * 1'000'000'000LL;  // distinct ids per batch size
      // Reused: a cleared request keeps its event objects, so the client (which shares the
      // machine's cores with the server) allocates less.
      v1::BatchRequest req;
      while (absl::Now() < end) {
        req.Clear();
        for (int i = 0; i < batch; ++i) FillEvent(t, seq++, req.add_events());
        v1::BatchResponse resp;
        grpc::ClientContext ctx;
        const absl::Time t0 = absl::Now();
        grpc::Status st = stub->Batch(&ctx, req, &resp);
        latencies[t].push_back(absl::ToDoubleMilliseconds(absl::Now() - t0));
        if (st.ok()) {
          accepted += resp.accepted() - resp.duplicates();
        } else {
          ++failed;
        }
      }
    });
  }
  for (auto& w : workers) w.join();
  const double secs = absl::ToDoubleSeconds(absl::Now() - start);
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  const double ingest_cpu = journey::bench::ProcessCpuSeconds(ingest.pid()) - ingest_cpu0;
  const double redis_cpu = journey::bench::RedisCpuSeconds(redis) - redis_cpu0;
  const double client_cpu = journey::bench::SelfCpuSeconds() - client_cpu0;
  const auto after = ScrapeAppendBuckets(ingest.metrics_port());
  // CPU-seconds per 100k accepted events: comparable across runs on a busy machine.
  const double per_100k = accepted.load() > 0 ? 100000.0 / static_cast<double>(accepted.load()) : 0;
  std::printf(
      "{\"bench\":\"ingest_load\",\"batch_size\":%d,\"client_threads\":%d,\"seconds\":%.1f,\"events_accepted\":%lld,"
      "\"failed_calls\":%lld,\"events_per_s\":%.0f,\"call_p50_ms\":%.2f,\"call_p99_ms\":%.2f,"
      "\"append_p50_ms\":%.3f,\"append_p99_ms\":%.3f,\"ingest_cpu_s_per_100k\":%.3f,\"redis_cpu_s_per_100k\":%.3f,"
      "\"client_cpu_s_per_100k\":%.3f,\"events_per_cpu_second_ingest_redis\":%.0f}\n",
      batch, threads, secs, static_cast<long long>(accepted.load()), static_cast<long long>(failed.load()),
      accepted.load() / secs, Quantile(all, 0.5), Quantile(all, 0.99), HistogramQuantileMs(before, after, 0.5),
      HistogramQuantileMs(before, after, 0.99), ingest_cpu * per_100k, redis_cpu * per_100k, client_cpu * per_100k,
      ingest_cpu + redis_cpu > 0 ? accepted.load() / (ingest_cpu + redis_cpu) : 0.0);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  const int seconds = journey::bench::IntFlag(argc, argv, "seconds", 5);
  journey::testing::RedisServer redis;
  if (auto st = redis.Start(); !st.ok()) {
    std::fprintf(stderr, "redis: %s\n", std::string(st.message()).c_str());
    return 2;
  }
  // No consumers run here, so backpressure is off; retention keeps Redis memory bounded.
  journey::testing::ServiceProcess ingest(
      "ingest", redis.url(), {{"partitions", "16"}, {"max_consumer_lag", "0"}, {"stream_maxlen", "200000"}});
  if (auto st = ingest.Start(); !st.ok()) {
    std::fprintf(stderr, "ingest: %s\n%s\n", std::string(st.message()).c_str(), ingest.LogTail().c_str());
    return 2;
  }
  auto redis_client = journey::storage::HiredisClient::FromUrl(redis.url(), 1);
  if (!redis_client.ok()) return 2;
  auto channel = ingest.channel();
  const int only = journey::bench::IntFlag(argc, argv, "only", 0);  // run just the phase of this batch size
  if (only == 0 || only == 1) Run(ingest, redis_client->get(), channel, 1, journey::bench::IntFlag(argc, argv, "threads1", 16), seconds);
  if (only == 0 || only == 100) {
    Run(ingest, redis_client->get(), channel, 100, journey::bench::IntFlag(argc, argv, "threads100", 4), seconds);
  }
  return ingest.Stop() == 0 ? 0 : 1;
}
