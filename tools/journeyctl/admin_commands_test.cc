// journeyctl offers validate/delete, journeys list/delete and triggers stats, as an operator runs them: the
// built binary against real journey-recommend and journey-journey processes on one
// redis-server. Checks exit codes, the table and JSON output, and the error messages.
#include <sys/wait.h>

#include <cstdio>
#include <fstream>

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/storage/hiredis_client.h"
#include "common/storage/keys.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/service_process.h"
#include "tests/testing/suite_setup.h"

namespace journey::cli {
namespace {

struct CliRun {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

class JourneyctlAdminTest : public ::testing::Test {
 protected:
  inline static journey::testing::SuiteSetup suite_;
  static void StartSuite() {
    redis_ = new testing::RedisServer();
    ASSERT_TRUE(redis_->Start().ok());
    recommend_ = new testing::ServiceProcess("recommend", redis_->url());
    journey_ = new testing::ServiceProcess("journey", redis_->url(), {{"partitions", "2"}});
    ASSERT_TRUE(recommend_->Start().ok()) << recommend_->LogTail();
    ASSERT_TRUE(journey_->Start().ok()) << journey_->LogTail();
    char tmpl[] = "/tmp/journeyctl-admin-XXXXXX";
    dir_ = new std::string(mkdtemp(tmpl));
    suite_.Done();
  }
  void SetUp() override {
    ASSERT_TRUE(suite_.Ensure(StartSuite)) << "the suite's set-up failed (see the failures above)";
  }
  static void TearDownTestSuite() {
    delete recommend_;
    delete journey_;
    delete redis_;
  }

  static std::string WriteFile(const std::string& name, const std::string& text) {
    const std::string path = *dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }

  static CliRun Journeyctl(const std::string& args) {
    const std::string cmd = absl::StrCat(JOURNEYCTL_BINARY, " --recommend 127.0.0.1:", recommend_->grpc_port(),
                                         " --journey 127.0.0.1:", journey_->grpc_port(), " ", args, " 2>&1");
    CliRun run;
    FILE* pipe = popen(cmd.c_str(), "r");
    if (pipe == nullptr) return run;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) run.output.append(buf, n);
    const int status = pclose(pipe);
    run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return run;
  }

  static testing::RedisServer* redis_;
  static testing::ServiceProcess* recommend_;
  static testing::ServiceProcess* journey_;
  static std::string* dir_;
};

testing::RedisServer* JourneyctlAdminTest::redis_ = nullptr;
testing::ServiceProcess* JourneyctlAdminTest::recommend_ = nullptr;
testing::ServiceProcess* JourneyctlAdminTest::journey_ = nullptr;
std::string* JourneyctlAdminTest::dir_ = nullptr;

TEST_F(JourneyctlAdminTest, TriggersStatsShowsWhyActionsWereSuppressed) {
  auto redis = storage::HiredisClient::FromUrl(redis_->url());
  ASSERT_TRUE(redis.ok());
  ASSERT_TRUE((*redis)
                  ->Command({"HSET", keys::ActionCounts("default"), "sent||cart-recovery", "12",
                             "suppressed|global_cap|cart-recovery", "3", "suppressed|cooldown_conversion|cart-recovery",
                             "2", "deferred|quiet_hours|cart-recovery", "4", "delivered|webhook|cart-recovery", "12",
                             "suppressed|consent|vip-welcome", "7"})
                  .ok());
  CliRun table = Journeyctl("triggers stats");
  ASSERT_EQ(table.exit_code, 0) << table.output;
  EXPECT_TRUE(absl::StrContains(table.output, "cart-recovery            suppressed   global_cap                      3"))
      << table.output;
  EXPECT_TRUE(absl::StrContains(table.output, "cart-recovery            sent         -                              12"))
      << table.output;
  EXPECT_TRUE(absl::StrContains(table.output, "vip-welcome              suppressed   consent                         7"));
  EXPECT_TRUE(absl::StrContains(table.output, "(sent + deferred + suppressed): cart-recovery 21 vip-welcome 7"))
      << table.output;
  CliRun json = Journeyctl("--json triggers stats --trigger vip-welcome");
  ASSERT_EQ(json.exit_code, 0) << json.output;
  EXPECT_TRUE(absl::StrContains(json.output, "\"reason\": \"consent\"")) << json.output;
  EXPECT_TRUE(absl::StrContains(json.output, "\"count\": \"7\"")) << json.output;
  EXPECT_FALSE(absl::StrContains(json.output, "cart-recovery")) << json.output;
  CliRun bad = Journeyctl("triggers stats --trigger 'a|b'");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(bad.output, "trigger_id")) << bad.output;
}

TEST_F(JourneyctlAdminTest, ExperimentsApplyChangesWhatRecommendRuns) {
  const std::string good = WriteFile("xp.yaml",
                                     "holdout: {share: 2%, salt: cli}\n"
                                     "experiments:\n  - {id: cli-test, variants: [{id: a, control: true}, {id: b}]}\n");
  CliRun applied = Journeyctl("experiments apply " + good);
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  EXPECT_TRUE(absl::StrContains(applied.output, "applied as version 1, 1 experiment(s), holdout 2.00%")) << applied.output;
  CliRun list = Journeyctl("experiments list");
  ASSERT_EQ(list.exit_code, 0) << list.output;
  EXPECT_TRUE(absl::StrContains(list.output, "definitions: applied version 1")) << list.output;
  EXPECT_TRUE(absl::StrContains(list.output, "cli-test")) << list.output;
  CliRun stale = Journeyctl("experiments apply --expected_version 7 " + good);
  EXPECT_EQ(stale.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(stale.output, "expected_version: 7, but the stored version is 1")) << stale.output;
  const std::string bad = WriteFile("bad-xp.yaml", "experiments:\n  - {id: x, variants: [{id: a, weight: -1}]}\n");
  CliRun refused = Journeyctl("experiments apply " + bad);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(refused.output, "yaml: " + bad + ":")) << refused.output;
}

TEST_F(JourneyctlAdminTest, OffersValidateSaysWhatApplyWouldDo) {
  const std::string good =
      WriteFile("good.yaml", "offers:\n  - {id: extra-offer, kind: content, stages: [AWARENESS]}\n");
  CliRun r = Journeyctl("offers validate " + good);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, "valid; applying it would create version 1: 1 added (extra-offer), 0 changed"))
      << r.output;
  r = Journeyctl("--json offers validate " + good);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, "\"added\": [")) << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, "\"extra-offer\"")) << r.output;
  // Nothing was applied.
  r = Journeyctl("offers get extra-offer");
  EXPECT_EQ(r.exit_code, 1) << r.output;

  const std::string bad = WriteFile("bad.yaml", "offers:\n  - {id: x, kind: coupon, stages: [DECISION]}\n");
  r = Journeyctl("offers validate " + bad);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, ": invalid\n  - yaml: offers[0].kind: unknown kind \"coupon\"")) << r.output;
  r = Journeyctl("offers validate " + *dir_ + "/missing.yaml");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, "cannot open")) << r.output;
}

TEST_F(JourneyctlAdminTest, OffersDeleteRemovesOneOfferAndNamesAnUnknownOne) {
  // guide-getting-started is in config/offers/default.yaml, which the service loaded.
  CliRun r = Journeyctl("offers delete guide-getting-started");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, "offer guide-getting-started deleted: catalog version ")) << r.output;
  r = Journeyctl("offers list");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_FALSE(absl::StrContains(r.output, "guide-getting-started")) << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, "guide-buying-101")) << r.output;
  r = Journeyctl("offers delete guide-getting-started");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, "NOT_FOUND")) << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, "offer_id: the catalog has no offer 'guide-getting-started'")) << r.output;
}

TEST_F(JourneyctlAdminTest, JourneysListAndDelete) {
  CliRun r = Journeyctl("journeys list");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(absl::StartsWith(r.output, "id               version  active stored applied")) << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, "\ndefault          1        *      file   -")) << r.output;

  const std::string def = WriteFile("journey.yaml",
                                    "id: default\nstages: [AWARENESS, CONSIDERATION]\nrules:\n"
                                    "  - event: Product Viewed\n    to: CONSIDERATION\n");
  ASSERT_EQ(Journeyctl("journeys apply " + def).exit_code, 0);
  ASSERT_EQ(Journeyctl("journeys apply " + def).exit_code, 0);
  r = Journeyctl("--json journeys list");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, "\"running_id\": \"default\"")) << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, "\"applied_at\"")) << r.output;

  r = Journeyctl("journeys delete default --version 2");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "journey default: deleted version 2\n");
  r = Journeyctl("journeys delete default --version 3");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, "FAILED_PRECONDITION")) << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, "journey 'default' version 3 is active")) << r.output;
  r = Journeyctl("journeys delete default");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, "journey 'default' is the one this service runs")) << r.output;
  r = Journeyctl("journeys delete nope");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, "NOT_FOUND")) << r.output;
  r = Journeyctl("journeys list");
  EXPECT_TRUE(absl::StrContains(r.output, "\ndefault          3        *      yes")) << r.output;
  EXPECT_FALSE(absl::StrContains(r.output, "\ndefault          2 ")) << r.output;
}

}  // namespace
}  // namespace journey::cli
