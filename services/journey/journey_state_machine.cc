#include "services/journey/journey_state_machine.h"

#include <algorithm>

#include "services/journey/event_fields.h"

namespace journey::journey_state {
namespace {

using journey::common::v1::Event;
using journey::common::v1::StageVisit;
using journey::common::v1::Touchpoint;
namespace pb = journey::common::v1;

constexpr char kOrderEvent[] = "Order Completed";

// Newest first, without duplicates, at most `cap`. Moves element pointers, not strings: the
// string-by-string rotate it was cost more than the rest of an event's product lists.
void PushFront(const std::string& id, int cap, google::protobuf::RepeatedPtrField<std::string>* list) {
  if (id.empty()) return;
  int at = static_cast<int>(std::find(list->begin(), list->end(), id) - list->begin());
  if (at == list->size()) {
    if (list->size() >= cap && cap > 0) {
      at = list->size() - 1;  // the oldest makes room: its string is reused
      *list->Mutable(at) = id;
    } else {
      list->Add(std::string(id));
    }
  }
  for (; at > 0; --at) list->SwapElements(at, at - 1);
  while (list->size() > cap) list->RemoveLast();
}

// Oldest first, without duplicates, at most `cap` (oldest dropped).
void PushBack(const std::string& id, int cap, google::protobuf::RepeatedPtrField<std::string>* list) {
  if (id.empty()) return;
  if (std::find(list->begin(), list->end(), id) != list->end()) return;
  list->Add(std::string(id));
  if (list->size() > cap) list->erase(list->begin(), list->begin() + (list->size() - cap));
}

template <typename T>
void DropOldest(int cap, google::protobuf::RepeatedPtrField<T>* list) {
  if (list->size() > cap) list->erase(list->begin(), list->begin() + (list->size() - cap));
}

std::vector<std::string> ProductIds(const Event& e) {
  std::vector<std::string> ids;
  if (!e.product_id().empty()) ids.push_back(e.product_id());
  for (const auto& p : e.products()) {
    if (!p.product_id().empty() && std::find(ids.begin(), ids.end(), p.product_id()) == ids.end()) {
      ids.push_back(p.product_id());
    }
  }
  return ids;
}

}  // namespace

JourneyStateMachine::JourneyStateMachine(std::shared_ptr<const CompiledDefinition> definition, const Clock* clock,
                                         StateMachineOptions options)
    : definition_(std::move(definition)), clock_(clock), options_(options) {}

void JourneyStateMachine::Reach(int stage, absl::Time t, JourneySnapshot* s, StepOutcome* out) const {
  const int furthest = definition_->StageIndex(s->furthest_stage());
  if (stage <= furthest) return;
  for (int i = furthest + 1; i <= stage; ++i) {
    out->newly_reached.push_back(definition_->stage(i));
    StageReach* reach = s->add_reached();
    reach->set_stage(definition_->stage(i));
    SetTimestamp(t, reach->mutable_at());
  }
  out->reached_time = t;
  s->set_furthest_stage(definition_->stage(stage));
}

void JourneyStateMachine::EnterStage(int stage, TransitionKind kind, absl::Time t, const std::string& event_name,
                                     const std::string& message_id, JourneySnapshot* s, StepOutcome* out) const {
  StageChange change;
  change.from_stage = s->stage();
  change.to_stage = definition_->stage(stage);
  change.kind = kind;
  change.time = t;
  change.event_name = event_name;
  change.message_id = message_id;
  if (!s->stage().empty()) change.time_in_from = std::max(absl::ZeroDuration(), t - ToTime(s->stage_entered_at()));
  if (s->history_size() > 0) {
    StageVisit* last = s->mutable_history(s->history_size() - 1);
    if (!last->has_left_at()) {
      SetTimestamp(t, last->mutable_left_at());
      last->set_duration_ms(absl::ToInt64Milliseconds(std::max(absl::ZeroDuration(), t - ToTime(last->entered_at()))));
    }
  }
  StageVisit* visit = s->add_history();
  visit->set_stage(change.to_stage);
  SetTimestamp(t, visit->mutable_entered_at());
  visit->set_entered_by(event_name);
  visit->set_kind(kind);
  DropOldest(options_.history_cap, s->mutable_history());
  s->set_stage(change.to_stage);
  SetTimestamp(t, s->mutable_stage_entered_at());
  s->set_abandoned(false);
  if (kind != pb::TRANSITION_KIND_BACKWARD) Reach(stage, t, s, out);
  out->changes.push_back(std::move(change));
}

StepOutcome JourneyStateMachine::Apply(const Event& e, JourneySnapshot* s) const {
  StepOutcome out;
  if (!IsTouchpoint(e)) return out;
  out.applied = true;
  const CompiledDefinition& def = *definition_;
  const absl::Time t = e.has_timestamp() ? ToTime(e.timestamp()) : clock_->Now();
  const std::string name = EventName(e);
  const bool had_seen = s->has_last_seen();
  const absl::Time previous_seen = had_seen ? ToTime(s->last_seen()) : absl::InfinitePast();

  if (!s->has_first_seen() || t < ToTime(s->first_seen())) SetTimestamp(t, s->mutable_first_seen());
  if (!had_seen || t > previous_seen) SetTimestamp(t, s->mutable_last_seen());
  // The customer's zone, for the quiet hours of triggered actions.
  if (!e.context().timezone().empty()) s->set_time_zone(e.context().timezone());

  // Sessions: the sender's session id when there is one, else an inactivity gap.
  if (!e.session_id().empty()) {
    if (e.session_id() != s->current_session_id()) {
      s->set_current_session_id(e.session_id());
      s->clear_session_product_ids();
    }
  } else if (had_seen && t - previous_seen > options_.session_gap) {
    s->clear_current_session_id();
    s->clear_session_product_ids();
  }

  const std::vector<std::string> products = ProductIds(e);
  for (const auto& id : products) {
    PushFront(id, options_.recent_products_cap, s->mutable_recent_product_ids());
    PushBack(id, options_.session_products_cap, s->mutable_session_product_ids());
  }

  // Cart and orders, before rules: a predicate may look at the cart after this event.
  const int64_t orders_before = s->orders();
  const absl::Time last_order_before = s->has_last_order_at() ? ToTime(s->last_order_at()) : absl::InfinitePast();
  const std::string& order_event = def.repeat_event().empty() ? std::string(kOrderEvent) : def.repeat_event();
  if (name == "Product Added") {
    s->set_open_cart_value(s->open_cart_value() + EventValue(e));
    for (const auto& id : products) PushBack(id, 100, s->mutable_cart_product_ids());
  } else if (name == "Product Removed") {
    s->set_open_cart_value(std::max(0.0, s->open_cart_value() - EventValue(e)));
    for (const auto& id : products) {
      auto* ids = s->mutable_cart_product_ids();
      auto it = std::find(ids->begin(), ids->end(), id);
      if (it != ids->end()) ids->erase(it);
    }
    if (s->cart_product_ids_size() == 0) s->set_open_cart_value(0);
  } else if (name == "Checkout Started" && e.products_size() > 0) {
    s->clear_cart_product_ids();
    for (const auto& id : products) PushBack(id, 100, s->mutable_cart_product_ids());
    s->set_open_cart_value(EventValue(e));
  } else if (name == order_event) {
    s->set_orders(s->orders() + 1);
    SetTimestamp(t, s->mutable_last_order_at());
    for (const auto& id : products) PushFront(id, options_.purchased_products_cap, s->mutable_purchased_product_ids());
    s->set_open_cart_value(0);
    s->clear_cart_product_ids();
  }

  // Which stage does this event point to?
  int target = -1;
  bool allow_backward = false;
  const bool repeat = def.repeat_stage() >= 0 && name == def.repeat_event() && orders_before > 0 &&
                      t - last_order_before <= def.repeat_window();
  if (repeat) {
    target = def.repeat_stage();
  } else if (const auto* rules = def.RulesFor(name)) {
    PredicateContext ctx{s->open_cart_value(), orders_before};
    for (const CompiledRule& rule : *rules) {
      if (rule.when.has_value() && !rule.when->Matches(e, ctx)) continue;
      target = rule.to_stage;
      allow_backward = rule.allow_backward;
      break;
    }
  }
  const int current = def.StageIndex(s->stage());
  if (target < 0 && current < 0) target = def.entry_stage();
  if (target >= 0 && target != current) {
    if (current < 0) {
      EnterStage(target, pb::TRANSITION_KIND_ENTRY, t, name, e.message_id(), s, &out);
    } else if (target > current) {
      EnterStage(target, pb::TRANSITION_KIND_FORWARD, t, name, e.message_id(), s, &out);
    } else if (allow_backward) {
      EnterStage(target, pb::TRANSITION_KIND_BACKWARD, t, name, e.message_id(), s, &out);
      out.changes.back().blamed_event = name;
      out.changes.back().blamed_channel = e.channel();
    }
  }
  // Any new activity re-arms an abandoned stage's timer: the customer came back.
  s->set_abandoned(false);

  // Built in place (on the snapshot's arena): it was built apart and copied in, a copy of
  // six strings per event.
  Touchpoint& tp = *s->add_touchpoints();
  tp.set_channel(e.channel());
  tp.set_event_name(name);
  SetTimestamp(t, tp.mutable_time());
  if (e.has_sentiment_score()) tp.set_sentiment(NormalizedSentiment(e));
  if (!products.empty()) tp.set_product_id(products.front());
  tp.set_stage(s->stage());
  tp.set_message_id(e.message_id());
  tp.set_value(EventValue(e));
  tp.set_category(!e.category().empty() ? e.category() : (e.products_size() ? e.products(0).category() : ""));
  // The cap is at least 1, so the newest stays; dropping the oldest moves only pointers.
  DropOldest(def.touchpoint_cap(), s->mutable_touchpoints());
  out.touchpoint = &s->touchpoints(s->touchpoints_size() - 1);

  s->set_journey_id(def.id());
  s->set_definition_version(def.version());
  SetTimestamp(clock_->Now(), s->mutable_updated_at());
  return out;
}

std::optional<absl::Time> JourneyStateMachine::TimerDue(const JourneySnapshot& s) const {
  if (s.abandoned() || s.stage().empty()) return std::nullopt;
  const CompiledTimer* timer = definition_->TimerFor(definition_->StageIndex(s.stage()));
  if (timer == nullptr) return std::nullopt;
  const absl::Time last = s.has_last_seen() ? ToTime(s.last_seen()) : ToTime(s.stage_entered_at());
  return last + timer->after;
}

StepOutcome JourneyStateMachine::FireTimer(JourneySnapshot* s, absl::Time now) const {
  StepOutcome out;
  const std::optional<absl::Time> due = TimerDue(*s);
  if (!due.has_value() || *due > now) return out;
  out.applied = true;
  // The abandonment happened when the timer ran out, not when a scheduler noticed: this keeps
  // day buckets and durations independent of scheduler lag.
  s->set_abandoned(true);
  s->set_abandoned_stage(s->stage());
  SetTimestamp(*due, s->mutable_abandoned_at());
  SetTimestamp(clock_->Now(), s->mutable_updated_at());
  StageChange change;
  change.from_stage = s->stage();
  change.to_stage = s->stage();
  change.kind = pb::TRANSITION_KIND_ABANDONED;
  change.time = *due;
  change.time_in_from = std::max(absl::ZeroDuration(), *due - ToTime(s->stage_entered_at()));
  change.event_name = "timer";
  if (s->touchpoints_size() > 0) {
    const Touchpoint& last = s->touchpoints(s->touchpoints_size() - 1);
    change.blamed_event = last.event_name();
    change.blamed_channel = last.channel();
  }
  out.changes.push_back(std::move(change));
  return out;
}

std::vector<StageReach> JourneyStateMachine::MergeReaches(const JourneySnapshot& previous,
                                                          JourneySnapshot* c) const {
  // Snapshots written before reaches were recorded have none: those cannot be matched.
  std::vector<StageReach> counted_twice;
  std::vector<StageReach> merged(c->reached().begin(), c->reached().end());
  for (const StageReach& theirs : previous.reached()) {
    auto mine = std::find_if(merged.begin(), merged.end(),
                             [&](const StageReach& r) { return r.stage() == theirs.stage(); });
    if (mine == merged.end()) {
      merged.push_back(theirs);
    } else if (ToTime(theirs.at()) < ToTime(mine->at())) {
      counted_twice.push_back(*mine);
      *mine = theirs;
    } else {
      counted_twice.push_back(theirs);
    }
  }
  std::stable_sort(merged.begin(), merged.end(), [&](const StageReach& a, const StageReach& b) {
    return definition_->StageIndex(a.stage()) < definition_->StageIndex(b.stage());
  });
  c->clear_reached();
  for (auto& r : merged) *c->add_reached() = std::move(r);
  return counted_twice;
}

std::vector<StageReach> JourneyStateMachine::Merge(const JourneySnapshot& previous, JourneySnapshot* c) const {
  const std::string canonical_id = c->user_id();
  const std::string workspace = c->workspace_id();
  std::vector<StageReach> counted_twice = MergeReaches(previous, c);
  if (c->stage().empty()) {
    // Nothing known about the canonical customer yet: the visitor's journey becomes theirs.
    auto offsets = c->applied_offsets();
    auto merged = c->merged_ids();
    auto reached = c->reached();
    *c = previous;
    *c->mutable_reached() = std::move(reached);
    c->set_user_id(canonical_id);
    c->set_workspace_id(workspace);
    c->mutable_merged_ids()->MergeFrom(merged);
    for (const auto& [p, id] : offsets) (*c->mutable_applied_offsets())[p] = id;
    PushBack(previous.user_id(), 100, c->mutable_merged_ids());
    return counted_twice;
  }
  const CompiledDefinition& def = *definition_;
  if (def.StageIndex(previous.stage()) > def.StageIndex(c->stage())) {
    c->set_stage(previous.stage());
    *c->mutable_stage_entered_at() = previous.stage_entered_at();
    c->set_abandoned(previous.abandoned());
  }
  if (def.StageIndex(previous.furthest_stage()) > def.StageIndex(c->furthest_stage())) {
    c->set_furthest_stage(previous.furthest_stage());
  }
  if (previous.abandoned_stage().size() && (!c->has_abandoned_at() ||
                                            ToTime(previous.abandoned_at()) > ToTime(c->abandoned_at()))) {
    c->set_abandoned_stage(previous.abandoned_stage());
    *c->mutable_abandoned_at() = previous.abandoned_at();
  }
  for (const auto& tp : previous.touchpoints()) *c->add_touchpoints() = tp;
  std::stable_sort(c->mutable_touchpoints()->begin(), c->mutable_touchpoints()->end(),
                   [](const auto& a, const auto& b) { return ToTime(a.time()) < ToTime(b.time()); });
  DropOldest(def.touchpoint_cap(), c->mutable_touchpoints());
  for (const auto& v : previous.history()) *c->add_history() = v;
  std::stable_sort(c->mutable_history()->begin(), c->mutable_history()->end(),
                   [](const auto& a, const auto& b) { return ToTime(a.entered_at()) < ToTime(b.entered_at()); });
  DropOldest(options_.history_cap, c->mutable_history());
  c->set_orders(c->orders() + previous.orders());
  if (previous.has_last_order_at() &&
      (!c->has_last_order_at() || ToTime(previous.last_order_at()) > ToTime(c->last_order_at()))) {
    *c->mutable_last_order_at() = previous.last_order_at();
  }
  if (previous.has_first_seen() && ToTime(previous.first_seen()) < ToTime(c->first_seen())) {
    *c->mutable_first_seen() = previous.first_seen();
  }
  if (previous.has_last_seen() && ToTime(previous.last_seen()) > ToTime(c->last_seen())) {
    *c->mutable_last_seen() = previous.last_seen();
  }
  c->set_open_cart_value(c->open_cart_value() + previous.open_cart_value());
  for (const auto& id : previous.cart_product_ids()) PushBack(id, 100, c->mutable_cart_product_ids());
  for (auto it = previous.recent_product_ids().rbegin(); it != previous.recent_product_ids().rend(); ++it) {
    if (std::find(c->recent_product_ids().begin(), c->recent_product_ids().end(), *it) == c->recent_product_ids().end()) {
      c->add_recent_product_ids(*it);
    }
  }
  while (c->recent_product_ids_size() > options_.recent_products_cap) c->mutable_recent_product_ids()->RemoveLast();
  for (const auto& id : previous.purchased_product_ids()) PushBack(id, options_.purchased_products_cap, c->mutable_purchased_product_ids());
  for (const auto& id : previous.merged_ids()) PushBack(id, 100, c->mutable_merged_ids());
  PushBack(previous.user_id(), 100, c->mutable_merged_ids());
  SetTimestamp(clock_->Now(), c->mutable_updated_at());
  return counted_twice;
}

}  // namespace journey::journey_state
