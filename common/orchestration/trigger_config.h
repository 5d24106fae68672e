// Triggers and orchestration rules as configured in config/triggers/*.yaml: what fires an
// action (a journey transition, an abandonment, a segment entry or exit, a sentiment drop),
// what it sends on which channel, and the rules every outbound offer obeys (a global daily
// cap per customer, quiet hours per channel, cool-downs, re-entry). Parsed and validated
// here, with "file:line: field: problem" errors; evaluated by the services that see the cause.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/experiment/assignment.h"
#include "journey/common/v1/common.pb.h"

namespace journey::orchestration {

using journey::common::v1::Channel;

enum class TriggerOn { kTransition, kAbandoned, kSegmentEntered, kSegmentExited, kSentiment };

// Local quiet hours of a channel: no outbound action from `from` to `to` (minutes after local
// midnight; from > to wraps over midnight, e.g. 21:00-08:00).
struct QuietHours {
  int from_minute = 0;
  int to_minute = 0;
};

struct OrchestrationRules {
  // Promotional offers per customer and UTC day, across recommend and triggered actions.
  int global_cap_per_day = 3;
  std::map<Channel, QuietHours> quiet_hours;  // only outbound channels (email, push, sms)
  std::string default_time_zone = "UTC";      // when the customer has none
  absl::Duration cooldown_after_conversion = absl::Hours(24);
  absl::Duration cooldown_after_dismissal = absl::Hours(6);
  // Events that start the cool-downs when the journey service applies them.
  std::vector<std::string> conversion_events = {"Order Completed"};
  std::vector<std::string> dismissal_events = {"Offer Dismissed"};
};

struct TriggerSpec {
  std::string id;
  TriggerOn on = TriggerOn::kTransition;
  std::string stage;       // kTransition: stage entered (""= any); kAbandoned: stage abandoned
  std::string from_stage;  // kTransition: optional
  std::string segment;     // kSegmentEntered / kSegmentExited
  journey::common::v1::SentimentScale scale = journey::common::v1::SENTIMENT_SCALE_CSAT_5;  // kSentiment
  double at_most = 2;      // kSentiment: raw score on the scale, inclusive
  Channel after_channel = journey::common::v1::CHANNEL_UNSPECIFIED;  // kSentiment: event channel
  std::string offer_id;
  std::string message;
  Channel channel = journey::common::v1::CHANNEL_EMAIL;
  std::string consent_purpose;  // "" = no consent needed
  bool promotional = false;     // counts against the global cap, obeys cool-downs
  absl::Duration reentry_after = absl::ZeroDuration();  // 0 = may fire again at once
  std::string source;           // "file:line", for logs
};

struct TriggerConfig {
  OrchestrationRules rules;
  std::vector<TriggerSpec> triggers;
  experiment::HoldoutConfig holdout;  // from config/experiments/*.yaml, or 5% / "holdout"
};

// One file's text. `source` names it in errors.
absl::StatusOr<TriggerConfig> ParseTriggerYaml(const std::string& text, const std::string& source);

// Every *.yaml in `dir` (sorted by name; a missing directory is an empty config). Trigger ids
// are unique across files; at most one file has an `orchestration:` section.
absl::StatusOr<TriggerConfig> LoadTriggerDir(const std::string& dir);

// The holdout of config/experiments/*.yaml (`holdout: {share: 0.05, salt: holdout}`, the same
// file the experiments use); the defaults when no file sets one.
absl::StatusOr<experiment::HoldoutConfig> LoadHoldout(const std::string& experiments_dir);

// Both of the above: the triggers of `triggers_dir` with the holdout of `experiments_dir`.
absl::StatusOr<TriggerConfig> LoadTriggers(const std::string& triggers_dir, const std::string& experiments_dir);

// Errors for trigger stages the journey definition does not have.
std::vector<std::string> CheckStages(const TriggerConfig& config, const std::vector<std::string>& stages);

bool IsOutbound(Channel channel);
std::optional<Channel> ParseChannel(const std::string& name);

}  // namespace journey::orchestration
