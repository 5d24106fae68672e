// End to end on a real 3-master Redis Cluster: the four service binaries on a
// redis+cluster:// URL; customers' events go in through ingest while two slots move to another
// master (one customer's view and profile, and one stream partition with its consumer
// groups and leases), and every customer still ends with the right journey stage, profile
// and offers, without a failed call.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/storage/keys.h"
#include "common/storage/redis_key_slot.h"
#include "journey/ingest/v1/ingest.grpc.pb.h"
#include "journey/persona/v1/persona.grpc.pb.h"
#include "journey/recommend/v1/recommend.grpc.pb.h"
#include "journey/state/v1/journey.grpc.pb.h"
#include "tests/testing/poll.h"
#include "tests/testing/redis_cluster.h"
#include "tests/testing/service_process.h"

namespace journey {
namespace {

using journey::testing::PollUntil;
using journey::testing::RedisCluster;
using journey::testing::ServiceProcess;

constexpr int kCustomers = 40;
constexpr int kPartitions = 16;  // the services' default --partitions

std::unique_ptr<grpc::ClientContext> Ctx() {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return ctx;
}

std::string Customer(int i) { return absl::StrCat("cl-", i); }

TEST(ClusterFlowTest, CustomersReachTheirStagesWhileSlotsMove) {
  RedisCluster cluster(3);
  ASSERT_TRUE(cluster.Start().ok());
  std::map<std::string, std::unique_ptr<ServiceProcess>> services;
  for (const char* name : {"ingest", "journey", "persona", "recommend"}) {
    services[name] = std::make_unique<ServiceProcess>(name, cluster.url());
    auto status = services[name]->Start();
    ASSERT_TRUE(status.ok()) << name << ": " << status << "\n" << services[name]->LogTail();
  }
  auto ingest = ingest::v1::Ingest::NewStub(services["ingest"]->channel());
  auto journey = state::v1::Journey::NewStub(services["journey"]->channel());
  auto persona = persona::v1::Persona::NewStub(services["persona"]->channel());
  auto recommend = recommend::v1::Recommend::NewStub(services["recommend"]->channel());

  // Each customer views, adds to the cart and orders (a batch per step, one event each), then
  // opens emails (touchpoints that keep the stage) until both slots have moved.
  const std::vector<std::string> steps = {"Product Viewed", "Product Added", "Order Completed"};
  std::atomic<int> failed{0}, calls{0};
  std::mutex failure_mu;
  std::string first_failure;
  auto fail = [&](const std::string& what) {
    std::lock_guard<std::mutex> lock(failure_mu);
    if (failed++ == 0) first_failure = what;
  };
  const absl::Time start = absl::Now() - absl::Minutes(30);
  auto send_step = [&](int step) {
    ingest::v1::BatchRequest request;
    for (int i = 0; i < kCustomers; ++i) {
      auto* e = request.add_events();
      e->set_message_id(absl::StrCat(Customer(i), "-", step));
      e->set_type(common::v1::EVENT_TYPE_TRACK);
      e->set_user_id(Customer(i));
      e->set_name(step < 3 ? steps[step] : "Email Opened");
      e->set_product_id(absl::StrCat("p-", i % 5));
      if (step == 2) {
        e->set_order_id(absl::StrCat("o-", i));
        e->set_revenue(20 + i);
      }
      e->mutable_timestamp()->set_seconds(absl::ToUnixSeconds(start + absl::Seconds(step)));
    }
    ingest::v1::BatchResponse response;
    auto status = ingest->Batch(Ctx().get(), request, &response);
    if (!status.ok()) fail("Batch: " + status.error_message());
    else if (response.accepted() + response.duplicates() != kCustomers) fail("Batch: events rejected");
  };
  auto stage_of = [&](const std::string& user) {
    state::v1::GetJourneyRequest request;
    request.set_user_id(user);
    state::v1::GetJourneyResponse response;
    auto status = journey->GetJourney(Ctx().get(), request, &response);
    if (!status.ok()) fail("GetJourney: " + status.error_message());
    return response.journey().stage();
  };

  send_step(0);
  std::atomic<bool> in_flight{false}, migrated{false};
  std::thread traffic([&] {
    for (int step = 1; !migrated.load() || step < 3; ++step) {
      in_flight = true;
      ++calls;
      send_step(step);
      stage_of(Customer(0));  // reads meet the moving slots too
      stage_of(Customer(7));
      in_flight = false;
    }
  });

  // The slot of customer 0's view (journey's and persona's snapshots share its {uid} tag) and
  // the slot of the partition customer 7's events land in, each moved to the next master.
  // Between two keys the migration waits until a call is under way, so calls meet each slot
  // half-moved (ASK for one key, TRYAGAIN for a script whose keys are split).
  const int view_slot = storage::ClusterKeySlot(keys::View("default", Customer(0)));
  const int stream_slot =
      storage::ClusterKeySlot(keys::EventStream(keys::PartitionOf(Customer(7), kPartitions)));
  int moved_keys = 0;
  for (int slot : {view_slot, stream_slot}) {
    const int owner = cluster.OwnerOfSlot(slot);
    ASSERT_GE(owner, 0) << slot;
    auto moved = cluster.MigrateSlot(slot, (owner + 1) % cluster.size(), [&] {
      const int before = calls.load();
      PollUntil([&] { return in_flight.load() || calls.load() > before; }, absl::Seconds(5), absl::Microseconds(200));
    });
    EXPECT_TRUE(moved.ok()) << moved.status();
    moved_keys += moved.value_or(0);
    EXPECT_NE(cluster.OwnerOfSlot(slot), owner);
  }
  migrated = true;
  traffic.join();
  EXPECT_GE(moved_keys, 2) << "both slots held keys when they moved";

  // Every customer ends in PURCHASE, with one order in their profile.
  for (int i = 0; i < kCustomers; ++i) {
    const std::string user = Customer(i);
    EXPECT_TRUE(PollUntil([&] { return stage_of(user) == "PURCHASE"; }, absl::Seconds(30))) << user;
    persona::v1::GetProfileRequest request;
    request.set_user_id(user);
    persona::v1::Profile profile;
    EXPECT_TRUE(PollUntil(
        [&] {
          profile.Clear();
          return persona->GetProfile(Ctx().get(), request, &profile).ok() && profile.computed().orders() == 1;
        },
        absl::Seconds(30)))
        << user << " orders " << profile.computed().orders();
  }
  for (int i : {0, 7}) {
    recommend::v1::GetRecommendationsRequest request;
    request.set_user_id(Customer(i));
    request.set_limit(5);
    recommend::v1::GetRecommendationsResponse response;
    auto status = recommend->GetRecommendations(Ctx().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_GT(response.offers_size() + response.products_size(), 0) << Customer(i);
  }
  EXPECT_EQ(failed.load(), 0) << "first failure: " << first_failure;
  std::printf("cluster flow: %d customers, %d batches, %d keys migrated in 2 slots, %d failed calls\n", kCustomers,
              calls.load() + 1, moved_keys, failed.load());
  for (auto& [name, svc] : services) EXPECT_EQ(svc->Stop(), 0) << name << "\n" << svc->LogTail();
}

}  // namespace
}  // namespace journey
