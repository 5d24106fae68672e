// Limits of a service binary as an operator sets them: --max_inflight_calls bounds the calls
// served at once (the rest get RESOURCE_EXHAUSTED, nothing queues without bound), and the
// service serves again as soon as the long calls end.
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <vector>

#include "journey/state/v1/journey.grpc.pb.h"
#include "tests/testing/poll.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/service_process.h"

namespace journey {
namespace {

using journey::testing::PollUntil;

grpc::Status GetJourney(state::v1::Journey::Stub* stub) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
  state::v1::GetJourneyRequest request;
  request.set_user_id("limits-user");
  state::v1::GetJourneyResponse response;
  return stub->GetJourney(&ctx, request, &response);
}

TEST(LimitsTest, MaxInflightCallsRefusesTheRestAndRecovers) {
  testing::RedisServer redis;
  ASSERT_TRUE(redis.Start().ok());
  testing::ServiceProcess journey("journey", redis.url(), {{"max_inflight_calls", "4"}});
  ASSERT_TRUE(journey.Start().ok()) << journey.LogTail();
  auto stub = state::v1::Journey::NewStub(journey.channel());
  ASSERT_TRUE(GetJourney(stub.get()).ok());

  // Watch streams hold a server thread each for as long as they are open.
  struct Watch {
    grpc::ClientContext ctx;
    std::unique_ptr<grpc::ClientReader<state::v1::Transition>> reader;
  };
  std::vector<std::unique_ptr<Watch>> watches;
  grpc::Status refused;
  const bool saw_refusal = PollUntil(
      [&] {
        auto w = std::make_unique<Watch>();
        state::v1::WatchTransitionsRequest request;
        w->reader = stub->WatchTransitions(&w->ctx, request);
        watches.push_back(std::move(w));
        const grpc::Status s = GetJourney(stub.get());
        if (s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) refused = s;
        return s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED || watches.size() >= 64;
      },
      absl::Seconds(20), absl::Milliseconds(50));
  ASSERT_TRUE(saw_refusal);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << "64 open streams and the service still took more calls";
  EXPECT_LE(watches.size(), 5u) << "the bound is 4 calls, not " << watches.size();
  std::printf("refused after %zu open streams: %s\n", watches.size(), refused.error_message().c_str());

  for (auto& w : watches) w->ctx.TryCancel();
  for (auto& w : watches) (void)w->reader->Finish();
  EXPECT_TRUE(PollUntil([&] { return GetJourney(stub.get()).ok(); }, absl::Seconds(10)))
      << "the service serves again once the long calls ended";
  EXPECT_EQ(journey.Stop(), 0) << journey.LogTail();
}

}  // namespace
}  // namespace journey
