// The parts of common/auth that need no Redis: key hashing, rate limits (driven by a
// manual clock), rate-limit flags, id hashing in logs, URL redaction, and the default
// deadline of an in-process server over real gRPC.
#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "common/auth/api_key.h"
#include "common/auth/call_gate.h"
#include "common/auth/rate_limiter.h"
#include "common/log/log.h"
#include "common/server/gated_service.h"
#include "common/storage/redis_url.h"
#include "common/time/clock.h"
#include "journey/state/v1/journey.grpc.pb.h"

namespace journey {
namespace {

TEST(ApiKeyTest, HashesWithSha256AndGeneratesDistinctKeys) {
  EXPECT_EQ(auth::HexEncode(auth::Sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  auto a = auth::GenerateApiKey();
  auto b = auth::GenerateApiKey();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  EXPECT_EQ(a->size(), 3u + 48u);
  EXPECT_TRUE(absl::StartsWith(*a, "jk_"));
  EXPECT_EQ(auth::KeyIdOf("abc"), "kba7816bf8f01");
}

TEST(RateLimiterTest, BurstThenRefillAtTheRate) {
  ManualClock clock;
  auth::RateLimiter limiter(&clock);
  const auth::RateLimit limit{2, 3};  // 2/s, burst 3
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(limiter.TryAcquire("k1", limit).has_value()) << i;
  auto wait = limiter.TryAcquire("k1", limit);
  ASSERT_TRUE(wait.has_value());
  EXPECT_EQ(*wait, absl::Milliseconds(500));
  EXPECT_FALSE(limiter.TryAcquire("k2", limit).has_value());  // another key has its own bucket
  clock.Advance(absl::Milliseconds(500));
  EXPECT_FALSE(limiter.TryAcquire("k1", limit).has_value());
  EXPECT_TRUE(limiter.TryAcquire("k1", limit).has_value());
  clock.Advance(absl::Seconds(60));  // refills up to the burst, not beyond
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(limiter.TryAcquire("k1", limit).has_value()) << i;
  EXPECT_TRUE(limiter.TryAcquire("k1", limit).has_value());
  EXPECT_FALSE(limiter.TryAcquire("k1", {0, 0}).has_value());  // 0 = unlimited
}

TEST(RateLimiterTest, ParsesScopeLimitsAndNamesABadEntry) {
  auto limits = auth::ParseRateLimits("ingest:write=5000/10000, admin=20");
  ASSERT_TRUE(limits.ok()) << limits.status();
  EXPECT_EQ((*limits)["ingest:write"].rate_per_s, 5000);
  EXPECT_EQ((*limits)["ingest:write"].burst, 10000);
  EXPECT_EQ((*limits)["admin"].rate_per_s, 20);
  EXPECT_TRUE(auth::ParseRateLimits("").ok());
  auto bad = auth::ParseRateLimits("ingest:write=5000,reads=7");
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(absl::StrContains(bad.status().message(), "reads=7"));
  EXPECT_FALSE(auth::ParseRateLimits("admin=-1").ok());
}

TEST(LogTest, HashesCustomerIdsWhenConfigured) {
  log::Init("test", log::Level::kInfo, /*hash_ids=*/false);
  EXPECT_EQ(log::UserId("user-1"), "user-1");
  log::Init("test", log::Level::kInfo, /*hash_ids=*/true);
  const std::string hashed = log::UserId("user-1");
  EXPECT_TRUE(absl::StartsWith(hashed, "sha256:"));
  EXPECT_EQ(hashed.size(), 7u + 16u);
  EXPECT_FALSE(absl::StrContains(hashed, "user-1"));
  EXPECT_EQ(hashed, log::UserId("user-1"));
  log::Init("test", log::Level::kInfo, false);
}

TEST(RedisUrlTest, RedactsThePassword) {
  EXPECT_EQ(storage::RedactRedisUrl("redis://:s3cret@redis:6379/0"), "redis://***@redis:6379/0");
  EXPECT_EQ(storage::RedactRedisUrl("redis://app:s3cret@redis:6379"), "redis://***@redis:6379");
  EXPECT_EQ(storage::RedactRedisUrl("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
}

// A handler that runs until its call is cancelled (at most 10 s), behind a real gate.
class SlowJourney final : public state::v1::Journey::Service, public server::GatedService {
 public:
  grpc::Status GetJourney(grpc::ServerContext* ctx, const state::v1::GetJourneyRequest*,
                          state::v1::GetJourneyResponse*) override {
    auto call = Admit(ctx, __func__);
    if (!call.ok()) return call.status();
    const absl::Time end = absl::Now() + absl::Seconds(10);
    while (!ctx->IsCancelled() && absl::Now() < end) absl::SleepFor(absl::Milliseconds(5));
    return grpc::Status::OK;
  }
};

TEST(CallGateTest, AUnaryCallWithoutADeadlineGetsTheDefaultOne) {
  auth::CallGateOptions options;
  options.auth_enabled = false;
  options.default_deadline = absl::Milliseconds(300);
  auth::CallGate gate(options, nullptr, RealClock::Get());
  gate.Start();
  SlowJourney service;
  service.SetCallGate(&gate, "journey.state.v1.Journey");
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  auto server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  auto stub = state::v1::Journey::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));

  grpc::ClientContext no_deadline;
  state::v1::GetJourneyResponse resp;
  const absl::Time start = absl::Now();
  grpc::Status st = stub->GetJourney(&no_deadline, {}, &resp);
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(st.error_code(), grpc::StatusCode::CANCELLED) << st.error_message();
  EXPECT_GE(took, absl::Milliseconds(250));
  EXPECT_LT(took, absl::Seconds(5));

  // A deadline the client set is its own: the gate does not shorten it.
  grpc::ClientContext own;
  own.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(800));
  const absl::Time start2 = absl::Now();
  st = stub->GetJourney(&own, {}, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_GE(absl::Now() - start2, absl::Milliseconds(700));
  server->Shutdown();
  gate.Stop();
}

TEST(CallGateTest, AMethodMissingFromTheScopeTableIsRefused) {
  auth::CallGateOptions options;
  options.auth_enabled = false;
  auth::CallGate gate(options, nullptr, RealClock::Get());
  grpc::ServerContext ctx;
  EXPECT_EQ(gate.Admit(&ctx, "journey.state.v1.Journey/NoSuchMethod").status().error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(gate.Admit(&ctx, "journey.state.v1.Journey/GetJourney").ok());
}

}  // namespace
}  // namespace journey
