// The fault suite: a real redis-server (AOF, fsync always) and the four real binaries. A
// steady, bounded stream of events goes in through ingest's gRPC API while the test kills and
// restarts Redis, SIGKILLs the journey and persona consumers and restarts them, and sends
// malformed, oversized and hostile inputs over gRPC and HTTP. At the end every acknowledged
// event must be applied exactly once to journey state (by message_id, in the touchpoints) and
// to persona state (the per-profile event count), and no rejected event at all.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/storage/keys.h"
#include "common/storage/redis_factory.h"
#include "journey/ingest/v1/ingest.grpc.pb.h"
#include "journey/persona/v1/persona.grpc.pb.h"
#include "journey/state/v1/journey.grpc.pb.h"
#include "tests/testing/http_client.h"
#include "tests/testing/poll.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/service_process.h"

namespace journey {
namespace {

using journey::testing::PollUntil;
using journey::testing::RedisServer;
using journey::testing::ServiceProcess;

// Bounded: ~3,600 events at ~150/s, 90 customers of 40 events each (journey keeps the last
// 50 touchpoints, so every applied message_id of a customer stays visible).
constexpr int kUsers = 90;
constexpr int kEventsPerUser = 40;
constexpr int kEventsPerSecond = 150;
constexpr int kPartitions = 4;

std::string UserId(int u) { return absl::StrCat("fault-user-", u); }

bool Retryable(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::DEADLINE_EXCEEDED ||
         code == grpc::StatusCode::RESOURCE_EXHAUSTED;
}

common::v1::Event ViewEvent(const std::string& message_id, const std::string& user, int n) {
  common::v1::Event e;
  e.set_message_id(message_id);
  e.set_type(common::v1::EVENT_TYPE_TRACK);
  e.set_user_id(user);
  e.set_name(n % 5 == 4 ? "Product Added" : "Product Viewed");
  e.set_product_id(absl::StrCat("p-", n % 17));
  e.set_price(9.5);
  e.mutable_timestamp()->set_seconds(absl::ToUnixSeconds(absl::Now()));
  return e;
}

// What the test knows about every event it sent, the way a client would.
struct Tally {
  std::mutex mu;
  std::map<std::string, std::set<std::string>> acked;     // user -> acknowledged message ids
  std::map<std::string, std::set<std::string>> rejected;  // user -> rejected message ids
  int sent = 0;
  std::atomic<int> retries{0};
  int given_up = 0;  // still failing after the retry budget: must stay 0

  void Ack(const std::string& user, const std::string& id) {
    std::lock_guard<std::mutex> lock(mu);
    acked[user].insert(id);
  }
  void Reject(const std::string& user, const std::string& id) {
    std::lock_guard<std::mutex> lock(mu);
    rejected[user].insert(id);
  }
};

class FaultSuiteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(redis_.Start().ok());
    const std::map<std::string, std::string> flags = {{"partitions", std::to_string(kPartitions)},
                                                      {"startup_deadline_s", "30"}};
    for (const char* name : {"ingest", "journey", "persona", "recommend"}) {
      services_[name] = std::make_unique<ServiceProcess>(name, redis_.url(), flags);
      auto status = services_[name]->Start();
      ASSERT_TRUE(status.ok()) << status;
    }
    ingest_ = ingest::v1::Ingest::NewStub(services_["ingest"]->channel());
  }

  static std::unique_ptr<grpc::ClientContext> Ctx(int seconds = 2) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
    return ctx;
  }

  // Sends one Track until it is acknowledged or rejected, retrying what a client retries
  // with the same message_id. Returns the final status.
  grpc::Status TrackUntilAnswered(const common::v1::Event& event) {
    ingest::v1::TrackRequest request;
    *request.mutable_event() = event;
    const absl::Time give_up = absl::Now() + absl::Seconds(40);
    absl::Duration backoff = absl::Milliseconds(20);
    while (true) {
      ingest::v1::TrackResponse response;
      grpc::Status status = ingest_->Track(Ctx().get(), request, &response);
      if (!Retryable(status.error_code()) || absl::Now() > give_up || abort_) return status;
      ++tally_.retries;
      absl::SleepFor(backoff);  // client backoff, not synchronisation
      backoff = std::min(backoff * 2, absl::Milliseconds(500));
    }
  }

  // A batch of valid events plus one with a negative price: partial success, retried whole.
  void SendBatch(const std::vector<common::v1::Event>& valid, const common::v1::Event& invalid) {
    ingest::v1::BatchRequest request;
    for (const auto& e : valid) *request.add_events() = e;
    *request.add_events() = invalid;
    const absl::Time give_up = absl::Now() + absl::Seconds(40);
    absl::Duration backoff = absl::Milliseconds(20);
    while (true) {
      ingest::v1::BatchResponse response;
      grpc::Status status = ingest_->Batch(Ctx().get(), request, &response);
      if (status.ok()) {
        std::set<int> rejected;
        for (const auto& r : response.rejected()) rejected.insert(r.index());
        for (int i = 0; i < request.events_size(); ++i) {
          const auto& e = request.events(i);
          if (rejected.count(i)) {
            tally_.Reject(e.user_id(), e.message_id());
          } else {
            tally_.Ack(e.user_id(), e.message_id());
          }
        }
        return;
      }
      if (!Retryable(status.error_code()) || absl::Now() > give_up || abort_) {
        ++tally_.given_up;
        return;
      }
      ++tally_.retries;
      absl::SleepFor(backoff);
      backoff = std::min(backoff * 2, absl::Milliseconds(500));
    }
  }

  // The steady stream: round robin over the customers, one event per user per round, every
  // eighth send a batch of four with one bad event in it; paced to kEventsPerSecond.
  void Produce() {
    const absl::Time start = absl::Now();
    int sent = 0;
    int round_robin = 0;
    for (int n = 0; n < kEventsPerUser && !abort_; ++n) {
      for (int u = 0; u < kUsers && !abort_;) {
        const absl::Time due = start + absl::Seconds(1) * sent / kEventsPerSecond;
        if (absl::Now() < due) absl::SleepFor(due - absl::Now());  // pacing the load
        if (++round_robin % 8 == 0 && u + 4 <= kUsers) {
          std::vector<common::v1::Event> valid;
          for (int k = 0; k < 4; ++k, ++u) valid.push_back(ViewEvent(absl::StrCat("ok-", n, "-", u), UserId(u), n));
          common::v1::Event bad = ViewEvent(absl::StrCat("bad-batch-", n, "-", u), UserId(u - 1), n);
          bad.set_price(-1);
          SendBatch(valid, bad);
          sent += 5;
          tally_.sent += 5;
          continue;
        }
        const common::v1::Event e = ViewEvent(absl::StrCat("ok-", n, "-", u), UserId(u), n);
        grpc::Status status = TrackUntilAnswered(e);
        ++sent;
        ++tally_.sent;
        if (status.ok()) {
          tally_.Ack(e.user_id(), e.message_id());
        } else if (status.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
          tally_.Reject(e.user_id(), e.message_id());
        } else {
          ++tally_.given_up;
          ADD_FAILURE() << "gave up on " << e.message_id() << ": " << status.error_message();
        }
        ++u;
      }
    }
  }

  // One hostile input per call, in turn; returns true when it was refused as it must be.
  // Events name a real customer of the stream, so one wrongly applied would show in the check.
  bool SendHostile(int i) {
    const std::string user = UserId(i % kUsers);
    const std::string id = absl::StrCat("bad-hostile-", i);
    auto refuse_grpc = [&](common::v1::Event e) {
      ingest::v1::TrackRequest request;
      *request.mutable_event() = std::move(e);
      ingest::v1::TrackResponse response;
      grpc::Status status = ingest_->Track(Ctx().get(), request, &response);
      if (status.ok()) return false;
      tally_.Reject(user, id);
      return true;
    };
    const int port = services_["ingest"]->http_port();
    auto refuse_http = [&](const std::string& method, const std::string& path, const std::string& body) {
      journey::testing::HttpResponse r = journey::testing::HttpRequest(port, method, path, body);
      tally_.Reject(user, id);
      return r.status >= 400 && r.status < 500;
    };
    const std::string track_json =
        absl::StrCat(R"({"userId":")", user, R"(","messageId":")", id, R"(","event":"Product Viewed")");
    common::v1::Event e = ViewEvent(id, user, i);
    switch (i % 12) {
      case 0: e.set_name(std::string(300, 'n')); return refuse_grpc(e);                        // name too long
      case 1: (*e.mutable_properties())["blob"] = std::string(9000, 'x'); return refuse_grpc(e);  // value too large
      case 2: e.set_price(-5); return refuse_grpc(e);
      case 3: e.mutable_timestamp()->set_seconds(absl::ToUnixSeconds(absl::Now() + absl::Hours(48))); return refuse_grpc(e);
      case 4: e.set_currency("ZZZ"); return refuse_grpc(e);
      case 5:  // not UTF-8 (over gRPC the protobuf parser already refuses it)
        return refuse_http("POST", "/v1/track", absl::StrCat(track_json, ",\"properties\":{\"bad\":\"\xc3\x28\xff\"}}"));
      case 6: {  // a 9 MB batch: over the 8 MiB gRPC receive limit
        ingest::v1::BatchRequest batch;
        common::v1::Event big = e;
        (*big.mutable_properties())["x"] = std::string(9 << 20, 'x');
        *batch.add_events() = big;
        ingest::v1::BatchResponse response;
        grpc::Status status = ingest_->Batch(Ctx(5).get(), batch, &response);
        tally_.Reject(user, id);
        return status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED;
      }
      case 7: return refuse_http("POST", "/v1/track", "{not json");
      case 8: {  // 100,000 nested arrays (the stack of a parser that recursed would overflow)
        const std::string deep = std::string(100000, '[') + std::string(100000, ']');
        return refuse_http("POST", "/v1/batch", absl::StrCat(R"({"batch":[)", track_json, R"(,"properties":{"a":)",
                                                             deep, "}}]}"));
      }
      case 9: {  // over 500 KiB: refused by Content-Length before the body is read, so the
                 // connection may close while curl still sends (no status): also a refusal
        journey::testing::HttpResponse r =
            journey::testing::HttpRequest(port, "POST", "/v1/batch", std::string(600 * 1024, ' '));
        tally_.Reject(user, id);
        return r.status == 413 || r.status == 0;
      }
      case 10: return refuse_http("POST", "/v1/track", absl::StrCat(track_json, R"(,"properties":{"price":-1}})"));
      default: return refuse_http("POST", "/v1/track", std::string("\x00\xff\xfe garbage \x01", 14));
    }
  }

  bool AllServing(const std::vector<std::string>& names, bool serving) {
    for (const auto& n : names) {
      if (services_[n]->Serving() != serving) return false;
    }
    return true;
  }

  RedisServer redis_{RedisServer::Options{/*append_only=*/true, {}}};
  std::map<std::string, std::unique_ptr<ServiceProcess>> services_;
  std::unique_ptr<ingest::v1::Ingest::Stub> ingest_;
  Tally tally_;
  std::atomic<bool> abort_{false};  // a fault could not be injected: stop the stream early
};

TEST_F(FaultSuiteTest, EveryAcknowledgedEventIsAppliedExactlyOnceThroughFaults) {
  std::thread producer([this] { Produce(); });
  std::atomic<bool> producing{true};
  std::thread watcher([&] {
    producer.join();
    producing = false;
  });

  int faults = 0, redis_restarts = 0, kills = 0, hostile = 0, hostile_refused = 0;
  const absl::Time start = absl::Now();
  auto at = [&](double s) { return start + absl::Seconds(s); };
  // The schedule of faults, each at a point of the stream; hostile inputs fill the gaps.
  struct Step {
    double at_s;
    std::string what;
  };
  std::vector<Step> plan = {{3, "redis"}, {8, "journey"}, {12, "persona"}, {17, "both"}};
  size_t next = 0;
  while (producing) {
    if (next < plan.size() && absl::Now() >= at(plan[next].at_s)) {
      const std::string what = plan[next++].what;
      if (what == "redis") {
        redis_.Kill();  // SIGKILL: AOF with fsync always must still hold every acknowledged event
        ++redis_restarts;
        EXPECT_TRUE(PollUntil([&] { return AllServing({"ingest", "journey", "persona", "recommend"}, false); },
                              absl::Seconds(5), absl::Milliseconds(50)))
            << "health stayed SERVING with Redis down";
        if (!redis_.Start().ok()) {
          ADD_FAILURE() << "redis-server did not restart";
          abort_ = true;
        }
        EXPECT_TRUE(PollUntil([&] { return AllServing({"ingest", "journey", "persona", "recommend"}, true); },
                              absl::Seconds(15), absl::Milliseconds(50)))
            << "health did not come back with Redis";
      } else {
        std::vector<std::string> victims = what == "both" ? std::vector<std::string>{"journey", "persona"}
                                                          : std::vector<std::string>{what};
        for (const auto& v : victims) {
          services_[v]->Kill();  // SIGKILL: pending entries must be taken over, applied once
          ++kills;
        }
        for (const auto& v : victims) {
          auto status = services_[v]->Start();
          if (!status.ok()) {
            ADD_FAILURE() << v << " did not restart: " << status;
            abort_ = true;
          }
        }
      }
      ++faults;
      continue;
    }
    hostile_refused += SendHostile(hostile++) ? 1 : 0;
    absl::SleepFor(absl::Milliseconds(150));  // pacing the hostile inputs between the events
  }
  watcher.join();
  ASSERT_FALSE(abort_);
  faults += hostile;
  EXPECT_EQ(next, plan.size()) << "the stream ended before every fault was injected";
  EXPECT_EQ(hostile_refused, hostile) << "a hostile input was accepted";
  const double stream_s = absl::ToDoubleSeconds(absl::Now() - start);

  // Read back per customer: journey's touchpoints (message ids) and persona's event count.
  auto journey_stub = state::v1::Journey::NewStub(services_["journey"]->channel());
  auto persona_stub = persona::v1::Persona::NewStub(services_["persona"]->channel());
  int64_t acked = 0, applied = 0, lost = 0, duplicated = 0, rejected_applied = 0, rejected = 0;
  std::string first_problem;
  auto check = [&] {
    acked = applied = lost = duplicated = rejected_applied = rejected = 0;
    first_problem.clear();
    for (int u = 0; u < kUsers; ++u) {
      const std::string user = UserId(u);
      const std::set<std::string>& want = tally_.acked[user];
      const std::set<std::string>& refused = tally_.rejected[user];
      acked += want.size();
      rejected += refused.size();
      state::v1::GetJourneyRequest jreq;
      jreq.set_user_id(user);
      state::v1::GetJourneyResponse jres;
      if (!journey_stub->GetJourney(Ctx().get(), jreq, &jres).ok()) return false;
      std::map<std::string, int> seen;
      for (const auto& tp : jres.journey().touchpoints()) ++seen[tp.message_id()];
      for (const auto& id : want) {
        auto it = seen.find(id);
        if (it == seen.end()) {
          ++lost;
          if (first_problem.empty()) first_problem = absl::StrCat("journey lost ", id);
        } else {
          ++applied;
          duplicated += it->second - 1;
        }
      }
      for (const auto& [id, n] : seen) {
        if (refused.count(id)) ++rejected_applied;
        if (!want.count(id) && !refused.count(id) && first_problem.empty()) first_problem = "unknown id " + id;
      }
      persona::v1::GetProfileRequest preq;
      preq.set_user_id(user);
      persona::v1::Profile profile;
      if (!persona_stub->GetProfile(Ctx().get(), preq, &profile).ok()) return false;
      const int64_t events = profile.computed().events();
      const int64_t expected = static_cast<int64_t>(want.size());
      if (events < expected) {
        lost += expected - events;
        if (first_problem.empty()) first_problem = absl::StrCat("persona ", user, " has ", events, " of ", expected);
      }
      if (events > expected) {
        duplicated += events - expected;  // a duplicate or a rejected event counted
        if (first_problem.empty()) first_problem = absl::StrCat("persona ", user, " has ", events, " > ", expected);
      }
    }
    return lost == 0;
  };
  const bool converged = PollUntil(check, absl::Seconds(60), absl::Milliseconds(500));
  std::printf(
      "fault suite: events sent %d, acknowledged %lld, applied %lld, lost %lld, duplicated %lld, rejected %lld "
      "(applied %lld), faults injected %d (redis restarts %d, consumer SIGKILLs %d, hostile inputs %d), "
      "client retries %d, stream %.1f s\n",
      tally_.sent + hostile, static_cast<long long>(acked), static_cast<long long>(applied),
      static_cast<long long>(lost), static_cast<long long>(duplicated), static_cast<long long>(rejected),
      static_cast<long long>(rejected_applied), faults, redis_restarts, kills, hostile, tally_.retries.load(),
      stream_s);
  EXPECT_TRUE(converged) << first_problem;
  EXPECT_EQ(lost, 0) << first_problem;
  EXPECT_EQ(duplicated, 0) << first_problem;
  EXPECT_EQ(rejected_applied, 0);
  EXPECT_EQ(tally_.given_up, 0);
  EXPECT_GE(acked, kUsers * kEventsPerUser * 7 / 10) << "too few events acknowledged to prove anything";
  EXPECT_GT(tally_.retries, 0) << "no send ever failed: the Redis restart did not hit the stream";

  // SIGTERM drains: every service exits 0 and the consumers give their leases back.
  auto redis = storage::CreateRedisClient(redis_.url(), 1);
  ASSERT_TRUE(redis.ok()) << redis.status();
  for (const char* name : {"recommend", "persona", "journey", "ingest"}) {
    EXPECT_EQ(services_[name]->Stop(), 0) << name << " log: " << services_[name]->LogTail();
  }
  for (const char* group : {"journey", "persona"}) {
    for (uint32_t p = 0; p < kPartitions; ++p) {
      auto held = (*redis)->Command({"EXISTS", keys::PartitionLease(group, p)});
      ASSERT_TRUE(held.ok()) << held.status();
      EXPECT_EQ(held->integer, 0) << group << " still holds the lease of partition " << p << " after SIGTERM";
    }
  }
}

}  // namespace
}  // namespace journey
