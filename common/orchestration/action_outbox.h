// Where a fired trigger becomes an Action or a counted suppression: holdout and consent are
// decided here in memory; then one Lua script per action decides once per idempotency key
// (a redelivered cause is a "duplicate"), checks the cool-downs, the re-entry rule and the
// global daily cap (all atomic, so two replicas never exceed the cap), and appends the action
// to its partition's stream, or defers it to a sorted set while the customer's quiet hours
// last. Every outcome is counted by reason (ActionCounts hash and a Prometheus counter).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/orchestration/trigger_config.h"
#include "common/storage/redis_client.h"
#include "common/storage/redis_script.h"
#include "common/time/clock.h"
#include "journey/common/v1/common.pb.h"

namespace prometheus {
class Registry;
template <typename T>
class Family;
class Counter;
}  // namespace prometheus

namespace journey::orchestration {

// One fired trigger, before the rules are applied.
struct ActionCandidate {
  const TriggerSpec* trigger = nullptr;
  uint32_t partition = 0;   // the customer's stream partition (the action stream's too)
  std::string cause_id;     // with workspace, user and trigger: the idempotency key
  journey::common::v1::Action action;  // workspace, user, cause, reason, stage, cart filled in
  std::string time_zone;    // the customer's, "" = the rules' default
  // consent purpose -> granted, from the customer's PersonaSnapshot (empty: none published)
  std::map<std::string, bool> consent;
};

struct OutboxOptions {
  long long stream_maxlen = 1'000'000;                 // approximate cap of each action stream
  absl::Duration decided_ttl = absl::Hours(24 * 7);  // how long a key stays "decided"
};

class ActionOutbox {
 public:
  ActionOutbox(storage::RedisClient* redis, const Clock* clock, TriggerConfig config, OutboxOptions options = {},
               prometheus::Registry* metrics = nullptr);
  ~ActionOutbox();

  // Decides every candidate in one pipelined round trip. Returns one outcome per candidate:
  // "sent", "deferred", "duplicate" or "suppressed:<reason>" (holdout, consent, cooldown_conversion,
  // cooldown_dismissal, reentry, global_cap). Safe to call again for the same causes.
  absl::StatusOr<std::vector<std::string>> Decide(std::vector<ActionCandidate> candidates);

  // Moves the actions of partition p whose quiet hours have ended to its stream (at most
  // `limit`, atomically: each is released once across replicas). Returns how many.
  absl::StatusOr<int> ReleaseDue(uint32_t partition, absl::Time now, int limit = 256);

  const TriggerConfig& config() const { return config_; }

 private:
  void Count(const std::string& outcome, const TriggerSpec& trigger);

  storage::RedisClient* redis_;
  const Clock* clock_;
  const TriggerConfig config_;
  const OutboxOptions options_;
  const storage::RedisScript decide_script_;
  const storage::RedisScript release_script_;
  prometheus::Family<prometheus::Counter>* outcomes_ = nullptr;
};

// Stable idempotency key of a cause: hex SHA-256 of "<workspace>|<user>|<trigger>|<cause id>".
std::string IdempotencyKey(const std::string& workspace, const std::string& user_id, const std::string& trigger_id,
                           const std::string& cause_id);

// The start of the cool-down `kind` ("conversion" or "dismissal") for a customer, lasting
// `length` from `start`: commands to send along with the caller's own writes. The hash
// expires an hour after the longest cool-down it holds could end, counted from now in
// Redis's time, so a caller's clock (event time, a test's) never shortens it.
void AppendCooldownCommands(const std::string& workspace, const std::string& user_id, const std::string& kind,
                            absl::Time start, absl::Duration length, std::vector<storage::RedisCommand>* out);

// The ActionCounts hash of a workspace as "<outcome>|<reason>|<trigger>" -> count.
absl::StatusOr<std::map<std::string, long long>> ReadActionCounts(storage::RedisClient* redis,
                                                                 const std::string& workspace);

}  // namespace journey::orchestration
