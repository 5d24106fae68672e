// The rate limit across replicas (common/auth/shared_rate_limiter.h) against a real Redis:
// two limiters stand for two replicas of a service.
#include <gtest/gtest.h>

#include <memory>

#include "common/auth/shared_rate_limiter.h"
#include "common/storage/hiredis_client.h"
#include "common/time/clock.h"
#include "tests/testing/poll.h"
#include "tests/testing/redis_server.h"

namespace journey::auth {
namespace {

TEST(SharedWindowTest, TheWindowHoldsTheBurstAndLastsBurstOverRate) {
  SharedWindow w = SharedWindowOf({1000, 3000});
  EXPECT_EQ(w.length, absl::Seconds(3));
  EXPECT_EQ(w.capacity, 3000);
  w = SharedWindowOf({0.5, 2});  // a slow key gets a long window, not a capacity of zero
  EXPECT_EQ(w.length, absl::Seconds(4));
  EXPECT_EQ(w.capacity, 2);
  w = SharedWindowOf({200, 0});  // no burst: one second of the rate
  EXPECT_EQ(w.length, absl::Seconds(1));
  EXPECT_EQ(w.capacity, 200);
}

class SharedRateLimiterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(redis_.Start().ok());
    storage::HiredisOptions options;
    options.endpoint.port = redis_.port();
    options.command_timeout = absl::Milliseconds(300);
    options.max_backoff = absl::Milliseconds(50);
    auto client = storage::HiredisClient::Create(options);
    ASSERT_TRUE(client.ok());
    client_ = std::move(*client);
    // The start of a window of every length used below (a whole number of minutes).
    clock_.Set(absl::FromUnixSeconds(1'767'225'600));
    a_ = std::make_unique<SharedRateLimiter>(client_.get(), "default", &clock_);
    b_ = std::make_unique<SharedRateLimiter>(client_.get(), "default", &clock_);
  }

  // Calls admitted out of `calls`, alternating between the two replicas.
  int Admitted(int calls, const RateLimit& limit, const std::string& key = "k1") {
    int admitted = 0;
    for (int i = 0; i < calls; ++i) {
      if (!(i % 2 == 0 ? a_ : b_)->TryAcquire(key, "ingest:write", limit).has_value()) ++admitted;
    }
    return admitted;
  }

  journey::testing::RedisServer redis_;
  std::unique_ptr<storage::HiredisClient> client_;
  ManualClock clock_;
  std::unique_ptr<SharedRateLimiter> a_, b_;
};

TEST_F(SharedRateLimiterTest, TwoReplicasTogetherAdmitOneWindowsCapacity) {
  const RateLimit limit{500, 1000};  // a window of 2 s holding 1000 calls
  // Each replica alone would admit 1000; together they admit 1000, less at most the slices
  // (2% = 20 calls) the other replica leased and did not use.
  const int first = Admitted(3000, limit);
  EXPECT_LE(first, 1000);
  EXPECT_GE(first, 1000 - 2 * 20);
  auto refused = a_->TryAcquire("k1", "ingest:write", limit);
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(*refused, absl::Seconds(2)) << "retry when the window ends";
  clock_.Advance(absl::Milliseconds(1500));
  EXPECT_EQ(*a_->TryAcquire("k1", "ingest:write", limit), absl::Milliseconds(500));
  // The next window holds the capacity again; another key was never limited by this one.
  EXPECT_EQ(Admitted(10, limit, "k2"), 10);
  clock_.Advance(absl::Milliseconds(500));
  const int second = Admitted(3000, limit);
  EXPECT_LE(second, 1000);
  EXPECT_GE(second, 1000 - 2 * 20);
}

TEST_F(SharedRateLimiterTest, ASlowKeyIsCountedCallByCall) {
  const RateLimit limit{0.5, 2};  // 2 calls per 4 s window
  EXPECT_EQ(Admitted(10, limit), 2);
  clock_.Advance(absl::Seconds(4));
  EXPECT_EQ(Admitted(10, limit), 2);
}

TEST_F(SharedRateLimiterTest, WithoutRedisEachReplicaAdmitsAndTheLimitReturnsWithIt) {
  const RateLimit limit{10, 10};  // 10 calls per 1 s window
  redis_.Stop();
  EXPECT_EQ(Admitted(50, limit), 50) << "no shared count: the per-replica bucket is the limit";
  ASSERT_TRUE(redis_.Start().ok());
  clock_.Advance(absl::Seconds(1));  // past the pause after a failed lease
  // The client reconnects on its own, after its backoff in real time; once it has, the two
  // replicas share 10 again (each attempt in a fresh window of the manual clock).
  int admitted = 0;
  EXPECT_TRUE(journey::testing::PollUntil(
      [&] {
        clock_.Advance(absl::Seconds(2));
        admitted = Admitted(50, limit);
        return admitted == 10;
      },
      absl::Seconds(10)))
      << "last window admitted " << admitted;
}

}  // namespace
}  // namespace journey::auth
