// The journey-journey binary, black-box: envelopes appended to the stream show up in
// GetJourney over gRPC; SIGTERM exits 0; a bad definition file exits 1 naming the line.
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>

#include <gtest/gtest.h>

#include "common/storage/hiredis_client.h"
#include "common/storage/keys.h"
#include "journey/state/v1/journey.grpc.pb.h"
#include "services/journey/event_fields.h"
#include "tests/testing/poll.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/service_process.h"

namespace journey::journey_state {
namespace {

namespace pb = journey::common::v1;
namespace sv1 = journey::state::v1;

TEST(JourneyServiceTest, StreamToGetJourneyAndCleanExit) {
  testing::RedisServer redis_server;
  ASSERT_TRUE(redis_server.Start().ok());
  auto redis = storage::HiredisClient::FromUrl(redis_server.url());
  ASSERT_TRUE(redis.ok());
  testing::ServiceProcess svc("journey", redis_server.url(), {{"partitions", "4"}});
  ASSERT_TRUE(svc.Start().ok()) << svc.LogTail();
  auto stub = sv1::Journey::NewStub(svc.channel());
  // Persona has published the customer in segment vip: the map per segment counts them.
  pb::PersonaSnapshot persona;
  persona.set_user_id("svc-user");
  persona.add_segments("vip");
  ASSERT_TRUE((*redis)->Command({"HSET", keys::View("default", "svc-user"), std::string(keys::kViewPersonaField),
                                 persona.SerializeAsString()}).ok());
  const std::vector<std::string> names = {"Product Viewed", "Product Added", "Order Completed", "Order Completed"};
  std::vector<std::string> stages;
  for (size_t i = 0; i < names.size(); ++i) {
    pb::EventEnvelope env;
    env.set_kind(pb::ENVELOPE_KIND_EVENT);
    env.set_workspace_id("default");
    env.set_canonical_user_id("svc-user");
    env.mutable_event()->set_type(pb::EVENT_TYPE_TRACK);
    env.mutable_event()->set_name(names[i]);
    env.mutable_event()->set_message_id("m" + std::to_string(i));
    SetTimestamp(absl::Now() + absl::Seconds(i), env.mutable_event()->mutable_timestamp());
    ASSERT_TRUE((*redis)->Command({"XADD", keys::EventStream(keys::PartitionOf("svc-user", 4)), "*", "e",
                                   env.SerializeAsString()}).ok());
    const std::string previous = stages.empty() ? "" : stages.back();
    std::string stage;
    ASSERT_TRUE(testing::PollUntil([&] {
      grpc::ClientContext ctx;
      sv1::GetJourneyRequest req;
      req.set_user_id("svc-user");
      sv1::GetJourneyResponse resp;
      if (!stub->GetJourney(&ctx, req, &resp).ok() || !resp.found()) return false;
      stage = resp.journey().stage();
      return stage != previous;
    }, absl::Seconds(10))) << svc.LogTail();
    stages.push_back(stage);
  }
  EXPECT_EQ(stages, (std::vector<std::string>{"CONSIDERATION", "DECISION", "PURCHASE", "LOYALTY"}));
  {
    grpc::ClientContext ctx;
    sv1::GetFunnelRequest req;
    sv1::Funnel funnel;
    ASSERT_TRUE(stub->GetFunnel(&ctx, req, &funnel).ok());
    ASSERT_EQ(funnel.steps_size(), 6);
    EXPECT_EQ(funnel.steps(5).customers(), 1);
  }
  for (const std::string segment : {"vip", "other"}) {
    grpc::ClientContext ctx;
    sv1::GetJourneyMapRequest req;
    req.set_segment(segment);
    sv1::JourneyMap map;
    ASSERT_TRUE(stub->GetJourneyMap(&ctx, req, &map).ok()) << segment;
    long long touchpoints = 0;
    for (const auto& t : map.touchpoints()) touchpoints += t.count();
    ASSERT_EQ(map.funnel().steps_size(), 6);
    EXPECT_EQ(touchpoints, segment == "vip" ? 4 : 0) << segment;
    EXPECT_EQ(map.funnel().steps(5).customers(), segment == "vip" ? 1 : 0) << segment;
  }
  {
    grpc::ClientContext ctx;
    sv1::GetJourneyRequest req;
    sv1::GetJourneyResponse resp;
    auto status = stub->GetJourney(&ctx, req, &resp);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(status.error_message().find("user_id"), std::string::npos);
  }
  EXPECT_EQ(svc.Stop(), 0) << svc.LogTail();
}

TEST(JourneyServiceTest, BadDefinitionFileExitsOneNamingTheLine) {
  char tmpl[] = "/tmp/journey-def-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  const std::string path = dir + "/bad.yaml";
  std::ofstream(path) << "id: default\nstages: [A, B]\nrules:\n  - event: Go\n    to: C\n";
  const std::string log = dir + "/out.log";
  const std::string cmd = testing::ServiceBinary("journey") + " --journey_definition=" + path +
                          " --grpc_port=0 --metrics_port=0 --redis_url=redis://127.0.0.1:1 > " + log + " 2>&1";
  const int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1);
  std::ifstream in(log);
  std::string out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(out.find("bad.yaml:5: rules[0].to: unknown stage 'C'"), std::string::npos) << out;
}

}  // namespace
}  // namespace journey::journey_state
