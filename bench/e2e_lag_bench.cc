// End-to-end lag: from the moment an event was due to be sent until the journey service has
// applied it. Starts a private redis-server and the real journey-ingest and journey-journey
// binaries, sends gRPC Batch calls open loop at a fixed rate (a late call is sent at once and
// its lateness counts), and watches journey's WatchTransitions stream: every event of the
// bench moves its customer to another stage, so its transition (found by message_id) is the
// proof that journey applied it.
//   build/bench/e2e_lag_bench [--rate=10000] [--seconds=10] [--batch=10] [--senders=8]
//                             [--warmup_s=1] [--partitions=16]
// Prints one JSON line: lag p50/p90/p99/p99.9/max from the due time to journey's write (the
// time in the transition's entry id), its parts (due -> ack, ack -> applied, applied -> seen
// by the watcher), the achieved rate, events never seen applied, the CPU-seconds each process
// used and the events applied per CPU-second of journey and of redis-server.
#include <grpcpp/grpcpp.h>

#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "bench/bench_flags.h"
#include "bench/process_cpu.h"
#include "common/storage/hiredis_client.h"
#include "journey/ingest/v1/ingest.grpc.pb.h"
#include "journey/state/v1/journey.grpc.pb.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/service_process.h"

namespace {

namespace pb = journey::common::v1;
namespace v1 = journey::ingest::v1;
namespace sv1 = journey::state::v1;

// Each customer walks AWARENESS -> CONSIDERATION -> DECISION -> PURCHASE -> LOYALTY (a repeat
// order), one stage per event, so every event is a transition. A customer's consecutive
// events are `users_per_round` events apart (about a second at the bench rate), so calls in
// flight at the same time never reorder one customer's steps.
constexpr const char* kSteps[] = {"Page Viewed", "Product Viewed", "Product Added", "Order Completed",
                                  "Order Completed"};
constexpr int64_t kStepCount = 5;

void FillEvent(int64_t seq, int64_t users_per_round, pb::Event* e) {
  const int64_t round = seq / users_per_round;
  const int64_t step = round % kStepCount;
  const int64_t user = (round / kStepCount) * users_per_round + seq % users_per_round;
  e->set_type(step == 0 ? pb::EVENT_TYPE_PAGE : pb::EVENT_TYPE_TRACK);
  e->set_message_id(absl::StrCat("lag-", seq));
  e->set_user_id(absl::StrCat("lag-user-", user));
  e->set_name(kSteps[step]);
  e->set_product_id(absl::StrCat("sku-", seq % 997));
  e->set_price(19.5);
  e->set_quantity(1);
  e->set_currency("EUR");
  if (step >= 3) {
    e->set_order_id(absl::StrCat("o-", seq));
    e->set_revenue(19.5);
  }
}

double Quantile(std::vector<double>* v, double q) {
  if (v->empty()) return 0;
  std::sort(v->begin(), v->end());
  return (*v)[std::min(v->size() - 1, static_cast<size_t>(q * static_cast<double>(v->size())))];
}

}  // namespace

int main(int argc, char** argv) {
  const int rate = std::max(1, journey::bench::IntFlag(argc, argv, "rate", 10000));
  const int seconds = std::max(1, journey::bench::IntFlag(argc, argv, "seconds", 10));
  const int batch = std::max(1, journey::bench::IntFlag(argc, argv, "batch", 10));
  const int senders = std::max(1, journey::bench::IntFlag(argc, argv, "senders", 8));
  const int warmup_s = std::max(0, journey::bench::IntFlag(argc, argv, "warmup_s", 1));
  const std::string partitions = std::to_string(journey::bench::IntFlag(argc, argv, "partitions", 16));

  journey::testing::RedisServer redis;
  if (auto st = redis.Start(); !st.ok()) {
    std::fprintf(stderr, "redis: %s\n", std::string(st.message()).c_str());
    return 2;
  }
  journey::testing::ServiceProcess ingest("ingest", redis.url(), {{"partitions", partitions}});
  journey::testing::ServiceProcess journey("journey", redis.url(), {{"partitions", partitions}});
  for (auto* service : {&journey, &ingest}) {
    if (auto st = service->Start(); !st.ok()) {
      std::fprintf(stderr, "%s\n%s\n", std::string(st.message()).c_str(), service->LogTail().c_str());
      return 2;
    }
  }
  auto redis_client = journey::storage::HiredisClient::FromUrl(redis.url(), 1);
  if (!redis_client.ok()) return 2;

  const int64_t total = static_cast<int64_t>(rate) * seconds;
  const int64_t users_per_round = rate;
  std::vector<absl::Time> due(total), acked(total, absl::InfinitePast()), applied(total, absl::InfinitePast());
  // When journey wrote the transition: the ms part of its stream entry id (Redis's clock, the
  // same host), which splits the lag into ack -> written and written -> seen by the watcher.
  std::vector<int64_t> written_ms(total, 0);
  std::atomic<int64_t> seen{0};
  std::atomic<bool> seen_any{false};

  // The watcher: transitions name the message that caused them.
  grpc::ClientContext watch_ctx;
  auto journey_stub = sv1::Journey::NewStub(journey.channel());
  sv1::WatchTransitionsRequest watch_req;  // empty cursor = from now
  auto watch = journey_stub->WatchTransitions(&watch_ctx, watch_req);
  std::thread watcher([&] {
    sv1::Transition t;
    while (watch->Read(&t)) {
      const absl::Time now = absl::Now();
      seen_any = true;
      absl::string_view id = t.message_id();
      int64_t seq;
      if (!absl::ConsumePrefix(&id, "lag-") || !absl::SimpleAtoi(id, &seq) || seq < 0 || seq >= total) continue;
      if (applied[seq] == absl::InfinitePast()) {
        applied[seq] = now;
        int64_t ms = 0;
        const absl::string_view cursor = t.cursor();
        if (absl::SimpleAtoi(cursor.substr(0, cursor.find('-')), &ms)) written_ms[seq] = ms;
        ++seen;
      }
    }
  });
  // Warm up until a transition comes back: the watch is subscribed and journey consumes.
  {
    auto stub = v1::Ingest::NewStub(ingest.channel());
    const absl::Time give_up = absl::Now() + absl::Seconds(20);
    for (int i = 0; seen_any.load() == false; ++i) {
      if (absl::Now() > give_up) {
        std::fprintf(stderr, "no transition seen from journey\n%s\n", journey.LogTail().c_str());
        return 2;
      }
      v1::TrackRequest req;
      req.mutable_event()->set_user_id(absl::StrCat("lag-warmup-", i));
      req.mutable_event()->set_name("Product Viewed");
      v1::TrackResponse resp;
      grpc::ClientContext ctx;
      (void)stub->Track(&ctx, req, &resp);
      absl::SleepFor(absl::Milliseconds(100));
    }
  }

  const double cpu_ingest0 = journey::bench::ProcessCpuSeconds(ingest.pid());
  const double cpu_journey0 = journey::bench::ProcessCpuSeconds(journey.pid());
  const double cpu_redis0 = journey::bench::RedisCpuSeconds(redis_client->get());
  (void)(*redis_client)->Command({"CONFIG", "RESETSTAT"});

  const int64_t calls = (total + batch - 1) / batch;
  const absl::Duration interval = absl::Seconds(static_cast<double>(batch) / rate);
  const absl::Time start = absl::Now() + absl::Milliseconds(50);
  std::atomic<int64_t> next_call{0}, failed{0};
  std::vector<std::thread> threads;
  for (int s = 0; s < senders; ++s) {
    threads.emplace_back([&] {
      auto stub = v1::Ingest::NewStub(ingest.channel());
      for (int64_t k = next_call++; k < calls; k = next_call++) {
        const absl::Time at = start + interval * k;
        const int64_t first = k * batch, end = std::min(total, first + batch);
        v1::BatchRequest req;
        for (int64_t seq = first; seq < end; ++seq) FillEvent(seq, users_per_round, req.add_events());
        const absl::Duration wait = at - absl::Now();
        if (wait > absl::ZeroDuration()) absl::SleepFor(wait);
        v1::BatchResponse resp;
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
        const grpc::Status st = stub->Batch(&ctx, req, &resp);
        const absl::Time now = absl::Now();
        if (!st.ok() || resp.rejected_size() > 0) ++failed;
        for (int64_t seq = first; seq < end; ++seq) {
          due[seq] = at;
          if (st.ok()) acked[seq] = now;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  const double send_s = absl::ToDoubleSeconds(absl::Now() - start);

  // Wait for the tail to be applied (bounded).
  int64_t acked_count = 0;
  for (absl::Time a : acked) acked_count += a != absl::InfinitePast() ? 1 : 0;
  const absl::Time drain_end = absl::Now() + absl::Seconds(10);
  while (seen.load() < acked_count && absl::Now() < drain_end) absl::SleepFor(absl::Milliseconds(10));
  const double cpu_ingest = journey::bench::ProcessCpuSeconds(ingest.pid()) - cpu_ingest0;
  const double cpu_journey = journey::bench::ProcessCpuSeconds(journey.pid()) - cpu_journey0;
  const double cpu_redis = journey::bench::RedisCpuSeconds(redis_client->get()) - cpu_redis0;
  const std::string redis_commands = journey::bench::RedisCommandStatsJson(redis_client->get());
  watch_ctx.TryCancel();
  watcher.join();

  // Events of the first warmup_s seconds are left out of the quantiles (connections, caches).
  // "Applied" is when journey's batch write ran: the time in its transition's entry id (the
  // write is atomic, so the event's state, aggregates and transition landed then). When the
  // watcher received it is reported apart (seen_*): that part is the WatchTransitions
  // stream's delivery to this client, not journey applying the event.
  const int64_t skip = std::min<int64_t>(total, static_cast<int64_t>(rate) * warmup_s);
  std::vector<double> from_due, seen_from_due, call, ack_to_applied, applied_to_seen;
  int64_t missing = 0;
  for (int64_t seq = skip; seq < total; ++seq) {
    if (acked[seq] == absl::InfinitePast()) continue;
    call.push_back(absl::ToDoubleMilliseconds(acked[seq] - due[seq]));
    if (applied[seq] == absl::InfinitePast() || written_ms[seq] == 0) {
      ++missing;
      continue;
    }
    const absl::Time written = absl::FromUnixMillis(written_ms[seq]);
    from_due.push_back(absl::ToDoubleMilliseconds(written - due[seq]));
    seen_from_due.push_back(absl::ToDoubleMilliseconds(applied[seq] - due[seq]));
    // The ack leaves ingest after the append, so an event applied within the same
    // millisecond can show a written time before its ack: read as 0.
    ack_to_applied.push_back(absl::ToDoubleMilliseconds(std::max(absl::ZeroDuration(), written - acked[seq])));
    applied_to_seen.push_back(absl::ToDoubleMilliseconds(std::max(absl::ZeroDuration(), applied[seq] - written)));
  }
  const double max_due = from_due.empty() ? 0 : *std::max_element(from_due.begin(), from_due.end());
  const double applied_events = static_cast<double>(seen.load());
  double load[3] = {0, 0, 0};
  (void)getloadavg(load, 3);
  std::printf(
      "{\"bench\":\"e2e_lag\",\"rate\":%d,\"achieved_rate\":%.0f,\"batch_size\":%d,\"senders\":%d,\"seconds\":%d,"
      "\"events_measured\":%zu,\"events_acked\":%lld,\"failed_calls\":%lld,\"never_applied\":%lld,"
      "\"lag_p50_ms\":%.2f,\"lag_p90_ms\":%.2f,\"lag_p99_ms\":%.2f,\"lag_p999_ms\":%.2f,\"lag_max_ms\":%.2f,"
      "\"due_to_ack_p50_ms\":%.2f,\"due_to_ack_p99_ms\":%.2f,\"ack_to_applied_p50_ms\":%.2f,"
      "\"ack_to_applied_p99_ms\":%.2f,\"applied_to_seen_p50_ms\":%.2f,\"applied_to_seen_p99_ms\":%.2f,"
      "\"seen_lag_p50_ms\":%.2f,\"seen_lag_p99_ms\":%.2f,\"cpu_s\":{\"ingest\":%.2f,\"journey\":%.2f,\"redis\":%.2f},"
      "\"events_per_cpu_s\":{\"journey\":%.0f,\"redis\":%.0f},\"redis_commands\":%s,\"load_avg_1m\":%.1f}\n",
      rate, static_cast<double>(acked_count) / send_s, batch, senders, seconds, from_due.size(),
      static_cast<long long>(acked_count), static_cast<long long>(failed.load()), static_cast<long long>(missing),
      Quantile(&from_due, 0.5), Quantile(&from_due, 0.9), Quantile(&from_due, 0.99), Quantile(&from_due, 0.999),
      max_due, Quantile(&call, 0.5), Quantile(&call, 0.99), Quantile(&ack_to_applied, 0.5),
      Quantile(&ack_to_applied, 0.99), Quantile(&applied_to_seen, 0.5), Quantile(&applied_to_seen, 0.99),
      Quantile(&seen_from_due, 0.5), Quantile(&seen_from_due, 0.99), cpu_ingest, cpu_journey, cpu_redis,
      cpu_journey > 0 ? applied_events / cpu_journey : 0, cpu_redis > 0 ? applied_events / cpu_redis : 0,
      redis_commands.c_str(), load[0]);
  std::fflush(stdout);
  const int ingest_exit = ingest.Stop();
  const int journey_exit = journey.Stop();
  return ingest_exit == 0 && journey_exit == 0 && missing == 0 ? 0 : 1;
}
