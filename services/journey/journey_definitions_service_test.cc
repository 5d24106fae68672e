// The journey definitions' admin RPCs on two journey-journey replicas sharing one
// redis-server, black-box over gRPC: ListDefinitions shows every applied version and the
// active one, DeleteDefinition removes old versions (seen by the other replica) and refuses
// the active one, unknown ids and versions, and bad input naming the field.
#include <fstream>
#include <map>

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "journey/state/v1/journey.grpc.pb.h"
#include "tests/testing/poll.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/service_process.h"

namespace journey::journey_state {
namespace {

namespace sv1 = journey::state::v1;

constexpr char kDefinitionYaml[] =
    "id: default\nstages: [AWARENESS, CONSIDERATION, DECISION]\nrules:\n"
    "  - event: Product Viewed\n    to: CONSIDERATION\n  - event: Product Added\n    to: DECISION\n";

class JourneyDefinitionsServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(redis_.Start().ok());
    a_ = std::make_unique<testing::ServiceProcess>("journey", redis_.url(), Flags("a"));
    b_ = std::make_unique<testing::ServiceProcess>("journey", redis_.url(), Flags("b"));
    ASSERT_TRUE(a_->Start().ok()) << a_->LogTail();
    ASSERT_TRUE(b_->Start().ok()) << b_->LogTail();
  }

  static std::map<std::string, std::string> Flags(const std::string& replica) {
    return {{"partitions", "2"}, {"replica_id", replica}};
  }
  static std::unique_ptr<grpc::ClientContext> Ctx() {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    return ctx;
  }
  static int64_t Apply(testing::ServiceProcess& p, const std::string& yaml) {
    sv1::ApplyDefinitionRequest req;
    req.set_yaml(yaml);
    sv1::ApplyDefinitionResponse r;
    grpc::Status s = sv1::Journey::NewStub(p.channel())->ApplyDefinition(Ctx().get(), req, &r);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_TRUE(r.valid()) << (r.errors().empty() ? "" : r.errors(0));
    return r.version();
  }
  static grpc::Status List(testing::ServiceProcess& p, sv1::ListDefinitionsResponse* r, const std::string& id = "") {
    sv1::ListDefinitionsRequest req;
    req.set_id(id);
    return sv1::Journey::NewStub(p.channel())->ListDefinitions(Ctx().get(), req, r);
  }
  // "id:version" of every listed definition, "*" after the active one.
  static std::vector<std::string> Listed(testing::ServiceProcess& p) {
    sv1::ListDefinitionsResponse r;
    grpc::Status s = List(p, &r);
    EXPECT_TRUE(s.ok()) << s.error_message();
    std::vector<std::string> out;
    for (const auto& d : r.definitions()) out.push_back(absl::StrCat(d.id(), ":", d.version(), d.active() ? "*" : ""));
    return out;
  }
  static grpc::Status Delete(testing::ServiceProcess& p, const std::string& id, int64_t version,
                             sv1::DeleteDefinitionResponse* r) {
    sv1::DeleteDefinitionRequest req;
    req.set_id(id);
    req.set_version(version);
    return sv1::Journey::NewStub(p.channel())->DeleteDefinition(Ctx().get(), req, r);
  }

  testing::RedisServer redis_;
  std::unique_ptr<testing::ServiceProcess> a_, b_;
};

TEST_F(JourneyDefinitionsServiceTest, ListShowsAppliedVersionsAndTheActiveOne) {
  // At first only the file's definition, which nobody stored.
  sv1::ListDefinitionsResponse r;
  ASSERT_TRUE(List(*b_, &r).ok());
  EXPECT_EQ(r.running_id(), "default");
  ASSERT_EQ(r.definitions_size(), 1);
  EXPECT_EQ(r.definitions(0).id(), "default");
  EXPECT_EQ(r.definitions(0).version(), 1);
  EXPECT_TRUE(r.definitions(0).active());
  EXPECT_FALSE(r.definitions(0).stored());
  EXPECT_FALSE(r.definitions(0).has_applied_at());
  EXPECT_EQ(r.definitions(0).stages(), 6);

  const absl::Time before = absl::Now() - absl::Seconds(1);
  EXPECT_EQ(Apply(*a_, kDefinitionYaml), 2);
  EXPECT_EQ(Apply(*a_, kDefinitionYaml), 3);
  // The other replica lists them at once (it reads the stored history, newest first).
  EXPECT_EQ(Listed(*b_), (std::vector<std::string>{"default:3*", "default:2"}));
  ASSERT_TRUE(List(*b_, &r, "default").ok());
  ASSERT_EQ(r.definitions_size(), 2);
  for (const auto& d : r.definitions()) {
    EXPECT_TRUE(d.stored());
    EXPECT_EQ(d.source(), "yaml");  // ApplyDefinition with yaml names its source so
    EXPECT_EQ(d.stages(), 3);
    EXPECT_EQ(d.rules(), 2);
    EXPECT_GE(d.applied_at().seconds(), absl::ToUnixSeconds(before));
    EXPECT_LE(d.applied_at().seconds(), absl::ToUnixSeconds(absl::Now()));
  }
  grpc::Status s = List(*a_, &r, "nope");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(absl::StrContains(s.error_message(), "id: no journey definition 'nope'")) << s.error_message();
}

TEST_F(JourneyDefinitionsServiceTest, DeleteRemovesAnOldVersionOnEveryReplicaAndRefusesTheActiveOne) {
  EXPECT_EQ(Apply(*a_, kDefinitionYaml), 2);
  EXPECT_EQ(Apply(*a_, kDefinitionYaml), 3);
  sv1::DeleteDefinitionResponse r;
  // The active version, through the replica that applied it and through the other one.
  for (testing::ServiceProcess* p : {a_.get(), b_.get()}) {
    grpc::Status s = Delete(*p, "default", 3, &r);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_TRUE(absl::StrContains(s.error_message(), "journey 'default' version 3 is active")) << s.error_message();
  }
  // The whole journey this service runs.
  grpc::Status s = Delete(*b_, "default", 0, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(absl::StrContains(s.error_message(), "journey 'default' is the one this service runs")) << s.error_message();
  // An old version goes, for both replicas.
  s = Delete(*a_, "default", 2, &r);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(std::vector<int64_t>(r.deleted_versions().begin(), r.deleted_versions().end()), std::vector<int64_t>{2});
  std::vector<std::string> listed;
  EXPECT_TRUE(testing::PollUntil([&] {
    listed = Listed(*b_);
    return listed == std::vector<std::string>{"default:3*"};
  }, absl::Seconds(5))) << absl::StrJoin(listed, " ");
  // Again: gone.
  s = Delete(*b_, "default", 2, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(absl::StrContains(s.error_message(), "version: journey 'default' has no stored version 2"))
      << s.error_message();
  // The file's version 1 is neither stored nor active any more.
  s = Delete(*b_, "default", 1, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
  // And the service keeps running version 3.
  sv1::JourneyDefinition d;
  ASSERT_TRUE(sv1::Journey::NewStub(b_->channel())->GetDefinition(Ctx().get(), {}, &d).ok());
  EXPECT_EQ(d.version(), 3);
}

TEST_F(JourneyDefinitionsServiceTest, DeleteRefusesBadInputAndUnknownIdsNamingTheField) {
  sv1::DeleteDefinitionResponse r;
  grpc::Status s = Delete(*a_, "", 2, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "id: required");
  s = Delete(*a_, "default", -1, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StartsWith(s.error_message(), "version: -1 is negative")) << s.error_message();
  s = Delete(*a_, "nope", 0, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(absl::StrContains(s.error_message(), "id: no journey definition 'nope'")) << s.error_message();
  s = Delete(*a_, "nope", 4, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  // The file's definition this service runs is active even though nobody stored it.
  s = Delete(*a_, "default", 1, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(absl::StrContains(s.error_message(), "journey 'default' version 1 is active")) << s.error_message();
}

TEST_F(JourneyDefinitionsServiceTest, ARetiredJourneyIsListedAndDeletedWhole) {
  // A deployment that ran journey "shop" once and applied two versions of it, then went away.
  char tmpl[] = "/tmp/journey-shop-XXXXXX";
  const std::string path = std::string(mkdtemp(tmpl)) + "/shop.yaml";
  const std::string shop = absl::StrReplaceAll(kDefinitionYaml, {{"id: default", "id: shop"}});
  std::ofstream(path) << shop;
  // Its definition has fewer stages than the shipped triggers name, so it runs without them
  // (a trigger naming a stage the definition lacks is a configuration error).
  char no_triggers[] = "/tmp/journey-no-triggers-XXXXXX";
  const std::string triggers_dir = mkdtemp(no_triggers);
  testing::ServiceProcess retired("journey", redis_.url(),
                                  {{"partitions", "2"},
                                   {"replica_id", "shop"},
                                   {"journey_definition", path},
                                   {"triggers_dir", triggers_dir}});
  ASSERT_TRUE(retired.Start().ok()) << retired.LogTail();
  EXPECT_EQ(Apply(retired, shop), 2);
  EXPECT_EQ(Apply(retired, shop), 3);
  EXPECT_EQ(retired.Stop(), 0);

  EXPECT_EQ(Listed(*a_), (std::vector<std::string>{"default:1*", "shop:3*", "shop:2"}));
  sv1::DeleteDefinitionResponse r;
  // Its active version alone cannot go (someone may still run it)...
  grpc::Status s = Delete(*a_, "shop", 3, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(absl::StrContains(s.error_message(), "journey 'shop' version 3 is active")) << s.error_message();
  // ...but the whole retired journey can.
  s = Delete(*a_, "shop", 0, &r);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(std::vector<int64_t>(r.deleted_versions().begin(), r.deleted_versions().end()),
            (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(Listed(*b_), std::vector<std::string>{"default:1*"});
  s = Delete(*b_, "shop", 0, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
}

}  // namespace
}  // namespace journey::journey_state
