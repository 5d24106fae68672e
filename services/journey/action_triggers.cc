#include "services/journey/action_triggers.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "services/journey/event_fields.h"

namespace journey::journey_state {
namespace {

namespace pb = journey::common::v1;
using orchestration::ActionCandidate;
using orchestration::TriggerOn;
using orchestration::TriggerSpec;

bool Contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// The raw score on the trigger's scale (the event carries it unnormalised with its scale).
bool SentimentMatches(const TriggerSpec& t, const pb::Event& e) {
  if (!e.has_sentiment_score() || e.sentiment_scale() != t.scale) return false;
  if (t.after_channel != pb::CHANNEL_UNSPECIFIED && e.channel() != t.after_channel) return false;
  return e.sentiment_score() <= t.at_most;
}

}  // namespace

ActionTriggers::ActionTriggers(orchestration::ActionOutbox* outbox) : outbox_(outbox) {}

void ActionTriggers::Collect(const std::string& ws, const std::string& uid, uint32_t partition, const pb::Event* event,
                             const StepOutcome& outcome, const JourneySnapshot& snapshot, const std::string& persona,
                             std::vector<ActionCandidate>* out) const {
  const size_t first = out->size();
  auto add = [&](const TriggerSpec& t, pb::ActionCause cause, std::string cause_id, absl::Time at, std::string reason,
                 const std::string& stage) {
    ActionCandidate c;
    c.trigger = &t;
    c.partition = partition;
    c.cause_id = std::move(cause_id);
    c.time_zone = snapshot.time_zone();
    pb::Action& a = c.action;
    a.set_workspace_id(ws);
    a.set_user_id(uid);
    a.set_cause(cause);
    SetTimestamp(at, a.mutable_caused_at());
    a.set_reason(std::move(reason));
    a.set_stage(stage);
    if (event != nullptr) a.set_cause_message_id(event->message_id());
    a.set_cart_value(snapshot.open_cart_value());
    for (const auto& id : snapshot.cart_product_ids()) a.add_cart_product_ids(id);
    out->push_back(std::move(c));
  };
  for (const TriggerSpec& t : outbox_->config().triggers) {
    for (const StageChange& change : outcome.changes) {
      if (change.kind == pb::TRANSITION_KIND_ABANDONED) {
        if (t.on != TriggerOn::kAbandoned || (!t.stage.empty() && t.stage != change.from_stage)) continue;
        // One abandonment per stage visit: the timer's due time names it.
        add(t, pb::ACTION_CAUSE_TRANSITION,
            absl::StrCat("abandoned:", change.from_stage, ":", absl::ToUnixMillis(change.time)), change.time,
            absl::StrCat(change.from_stage, " abandoned"), change.from_stage);
      } else {
        if (t.on != TriggerOn::kTransition) continue;
        if (!t.stage.empty() && t.stage != change.to_stage) continue;
        if (!t.from_stage.empty() && t.from_stage != change.from_stage) continue;
        add(t, pb::ACTION_CAUSE_TRANSITION, absl::StrCat("transition:", change.message_id, ":", change.to_stage),
            change.time, absl::StrCat(change.from_stage.empty() ? "(entry)" : change.from_stage, " -> ", change.to_stage),
            change.to_stage);
      }
    }
    if (event != nullptr && t.on == TriggerOn::kSentiment && SentimentMatches(t, *event)) {
      add(t, pb::ACTION_CAUSE_SENTIMENT_DROP, absl::StrCat("sentiment:", event->message_id()),
          event->has_timestamp() ? ToTime(event->timestamp()) : absl::Now(),
          absl::StrCat(ChannelName(event->channel()), " sentiment ", event->sentiment_score()), snapshot.stage());
    }
  }
  if (out->size() == first || persona.empty()) return;
  // Consent is persona's: parsed only when something fired.
  pb::PersonaSnapshot p;
  if (!p.ParseFromString(persona)) return;
  for (size_t i = first; i < out->size(); ++i) {
    for (const auto& [purpose, granted] : p.consent()) (*out)[i].consent[purpose] = granted;
  }
}

void ActionTriggers::CooldownWrites(const std::string& ws, const std::string& uid, const pb::Event& event,
                                    std::vector<storage::RedisCommand>* out) const {
  const orchestration::OrchestrationRules& rules = outbox_->config().rules;
  const std::string name = EventName(event);
  const absl::Time at = event.has_timestamp() ? ToTime(event.timestamp()) : absl::Now();
  if (rules.cooldown_after_conversion > absl::ZeroDuration() && Contains(rules.conversion_events, name)) {
    orchestration::AppendCooldownCommands(ws, uid, "conversion", at, rules.cooldown_after_conversion, out);
  }
  if (rules.cooldown_after_dismissal > absl::ZeroDuration() && Contains(rules.dismissal_events, name)) {
    orchestration::AppendCooldownCommands(ws, uid, "dismissal", at, rules.cooldown_after_dismissal, out);
  }
}

absl::Status ActionTriggers::Emit(std::vector<ActionCandidate> candidates) const {
  if (candidates.empty()) return absl::OkStatus();
  auto decided = outbox_->Decide(std::move(candidates));
  return decided.status();
}

}  // namespace journey::journey_state
