// Orchestration rules without Redis: trigger files (errors name file:line: field), quiet hours
// in the customer's zone, the webhook signature.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/time/civil_time.h"
#include "common/orchestration/quiet_hours.h"
#include "common/orchestration/trigger_config.h"
#include "common/orchestration/webhook_signature.h"

namespace journey::orchestration {
namespace {

namespace pb = journey::common::v1;

TEST(TriggerConfigTest, ParsesRulesAndTriggers) {
  auto config = ParseTriggerYaml(R"(
orchestration:
  global_cap_per_day: 2
  default_time_zone: America/New_York
  quiet_hours:
    email: {from: "21:00", to: "08:00"}
  cooldown_after_conversion_h: 12
triggers:
  - {id: cart, on: abandoned, stage: DECISION, offer: save10, channel: email, consent: marketing, promotional: true, reentry_after_h: 48}
  - {id: csat, on: sentiment, scale: csat, at_most: 2, after_channel: support, message: sorry}
)", "t.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->rules.global_cap_per_day, 2);
  EXPECT_EQ(config->rules.default_time_zone, "America/New_York");
  EXPECT_EQ(config->rules.cooldown_after_conversion, absl::Hours(12));
  ASSERT_EQ(config->rules.quiet_hours.count(pb::CHANNEL_EMAIL), 1u);
  EXPECT_EQ(config->rules.quiet_hours.at(pb::CHANNEL_EMAIL).from_minute, 21 * 60);
  ASSERT_EQ(config->triggers.size(), 2u);
  const TriggerSpec& cart = config->triggers[0];
  EXPECT_EQ(cart.on, TriggerOn::kAbandoned);
  EXPECT_EQ(cart.stage, "DECISION");
  EXPECT_TRUE(cart.promotional);
  EXPECT_EQ(cart.reentry_after, absl::Hours(48));
  EXPECT_EQ(cart.consent_purpose, "marketing");
  EXPECT_EQ(config->triggers[1].after_channel, pb::CHANNEL_SUPPORT);
  EXPECT_EQ(config->triggers[1].channel, pb::CHANNEL_EMAIL);  // the default
}

TEST(TriggerConfigTest, ErrorsNameFileLineAndField) {
  auto config = ParseTriggerYaml(R"(triggers:
  - id: a
    on: abandon
    offer: x
  - id: a
    on: segment_entered
    message: hi
    channel: pigeon
orchestration:
  quiet_hours:
    web: {from: "21:00", to: "25:00"}
)", "bad.yaml");
  ASSERT_FALSE(config.ok());
  const std::string m(config.status().message());
  EXPECT_TRUE(absl::StrContains(m, "bad.yaml:3: triggers[0].on: unknown 'abandon'")) << m;
  EXPECT_TRUE(absl::StrContains(m, "bad.yaml:5: triggers[1].id: duplicate trigger id 'a'")) << m;
  EXPECT_TRUE(absl::StrContains(m, "triggers[1].segment: missing")) << m;
  EXPECT_TRUE(absl::StrContains(m, "bad.yaml:8: triggers[1].channel: unknown channel 'pigeon'")) << m;
  EXPECT_TRUE(absl::StrContains(m, "bad.yaml:11: orchestration.quiet_hours.web: must be an outbound channel")) << m;
}

TEST(TriggerConfigTest, DefaultConfigLoadsAndMatchesTheJourneyStages) {
  auto config = LoadTriggerDir(std::string(JOURNEY_SOURCE_DIR) + "/config/triggers");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_FALSE(config->triggers.empty());
  EXPECT_TRUE(CheckStages(*config, {"AWARENESS", "CONSIDERATION", "DECISION", "PURCHASE"}).empty());
  EXPECT_EQ(CheckStages(*config, {"AWARENESS"}).size(), 3u);  // DECISION, PURCHASE and from DECISION
}

TEST(TriggerConfigTest, HoldoutFromExperimentsOrDefault) {
  auto none = LoadHoldout("/nonexistent");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->share_bp, 500u);
  EXPECT_EQ(none->salt, "holdout");
  char tmpl[] = "/tmp/experiments-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  std::ofstream(dir + "/ab.yaml") << "holdout: {share: 0.1, salt: h2}\nexperiments: []\n";
  auto set = LoadHoldout(dir);
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->share_bp, 1000u);
  EXPECT_EQ(set->salt, "h2");
  std::ofstream(dir + "/ab.yaml") << "holdout: {share: 5}\n";
  auto bad = LoadHoldout(dir);
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(absl::StrContains(bad.status().message(), "ab.yaml:1: holdout.share: must be a share")) << bad.status();
  // The syntax recommend's experiments use, and the shipped file, read the same.
  std::ofstream(dir + "/ab.yaml") << "holdout: {share: 5%, salt: h3}\n";
  auto percent = LoadHoldout(dir);
  ASSERT_TRUE(percent.ok()) << percent.status();
  EXPECT_EQ(percent->share_bp, 500u);
  auto shipped = LoadHoldout(std::string(JOURNEY_SOURCE_DIR) + "/config/experiments");
  ASSERT_TRUE(shipped.ok()) << shipped.status();
}

TEST(QuietHoursTest, WrapsOverMidnightInTheCustomersZone) {
  const QuietHours night{21 * 60, 8 * 60};
  absl::TimeZone berlin;
  ASSERT_TRUE(absl::LoadTimeZone("Europe/Berlin", &berlin));
  // 22:30 in Berlin: quiet until 08:00 the next morning, Berlin time.
  const absl::Time late = absl::FromCivil(absl::CivilMinute(2026, 12, 1, 22, 30), berlin);
  auto until = QuietUntil(night, late, berlin);
  ASSERT_TRUE(until.has_value());
  EXPECT_EQ(*until, absl::FromCivil(absl::CivilMinute(2026, 12, 2, 8, 0), berlin));
  // 06:59: quiet until 08:00 the same day; 08:00 and 20:59 are not quiet.
  EXPECT_EQ(*QuietUntil(night, absl::FromCivil(absl::CivilMinute(2026, 12, 2, 6, 59), berlin), berlin),
            absl::FromCivil(absl::CivilMinute(2026, 12, 2, 8, 0), berlin));
  EXPECT_FALSE(QuietUntil(night, absl::FromCivil(absl::CivilMinute(2026, 12, 2, 8, 0), berlin), berlin));
  EXPECT_FALSE(QuietUntil(night, absl::FromCivil(absl::CivilMinute(2026, 12, 2, 20, 59), berlin), berlin));
  // A daytime window does not wrap.
  const QuietHours lunch{12 * 60, 13 * 60};
  EXPECT_TRUE(QuietUntil(lunch, absl::FromCivil(absl::CivilMinute(2026, 12, 2, 12, 30), berlin), berlin));
  EXPECT_FALSE(QuietUntil(lunch, absl::FromCivil(absl::CivilMinute(2026, 12, 2, 13, 0), berlin), berlin));
}

TEST(QuietHoursTest, ReleaseTimeUsesTheCustomerZoneThenTheDefault) {
  OrchestrationRules rules;
  rules.default_time_zone = "UTC";
  rules.quiet_hours[pb::CHANNEL_EMAIL] = {21 * 60, 8 * 60};
  const absl::Time t = absl::FromCivil(absl::CivilMinute(2026, 12, 1, 23, 0), absl::UTCTimeZone());  // 23:00 UTC
  // 23:00 UTC is 15:00 in Los Angeles: not quiet there.
  EXPECT_EQ(ReleaseTime(rules, pb::CHANNEL_EMAIL, t, "America/Los_Angeles"), t);
  // Unknown or no zone: the default (UTC), quiet until 08:00 UTC.
  const absl::Time eight = absl::FromCivil(absl::CivilMinute(2026, 12, 2, 8, 0), absl::UTCTimeZone());
  EXPECT_EQ(ReleaseTime(rules, pb::CHANNEL_EMAIL, t, "Mars/Olympus"), eight);
  EXPECT_EQ(ReleaseTime(rules, pb::CHANNEL_EMAIL, t, ""), eight);
  // Push has no quiet hours here.
  EXPECT_EQ(ReleaseTime(rules, pb::CHANNEL_PUSH, t, ""), t);
}

TEST(WebhookSignatureTest, KnownVectorAndVerification) {
  // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
  EXPECT_EQ(HmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  const std::string sig = WebhookSignature("s3cret", "1700000000", "{\"a\":1}");
  EXPECT_TRUE(absl::StartsWith(sig, "sha256="));
  EXPECT_TRUE(VerifyWebhookSignature("s3cret", "1700000000", "{\"a\":1}", sig));
  EXPECT_FALSE(VerifyWebhookSignature("s3cret", "1700000001", "{\"a\":1}", sig));
  EXPECT_FALSE(VerifyWebhookSignature("other", "1700000000", "{\"a\":1}", sig));
}

}  // namespace
}  // namespace journey::orchestration
