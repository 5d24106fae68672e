#include "services/persona/profile_aggregator.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "common/stream/partitioned_consumer.h"
#include "services/persona/proto_time.h"

namespace journey::persona {
namespace {

double OrderRevenue(const cpb::Event& event) {
  if (event.revenue() > 0) return event.revenue();
  double sum = 0;
  for (const cpb::Product& p : event.products()) sum += p.price() * std::max(1, p.quantity());
  if (sum > 0) return sum;
  return event.price() * std::max(1, event.quantity());
}

void MinTime(const google::protobuf::Timestamp& candidate, google::protobuf::Timestamp* field) {
  if (!IsSet(candidate)) return;
  if (!IsSet(*field) || FromProto(candidate) < FromProto(*field)) *field = candidate;
}

void MaxTime(const google::protobuf::Timestamp& candidate, google::protobuf::Timestamp* field) {
  if (!IsSet(candidate)) return;
  if (!IsSet(*field) || FromProto(candidate) > FromProto(*field)) *field = candidate;
}

// The `n` keys with the highest counts, ties by name so the result is stable.
std::vector<std::string> TopKeys(const google::protobuf::Map<std::string, int64_t>& counts, int n) {
  std::vector<std::pair<int64_t, std::string>> v;
  v.reserve(counts.size());
  for (const auto& [k, c] : counts) v.emplace_back(-c, k);
  std::sort(v.begin(), v.end());
  std::vector<std::string> out;
  for (int i = 0; i < n && i < static_cast<int>(v.size()); ++i) out.push_back(v[i].second);
  return out;
}

void AddDays(const pb::EventCounter& from, pb::EventCounter* into) {
  std::map<int64_t, int64_t> days;
  for (const pb::DailyCount& d : into->days()) days[d.day()] += d.count();
  for (const pb::DailyCount& d : from.days()) days[d.day()] += d.count();
  into->clear_days();
  for (const auto& [day, count] : days) {
    pb::DailyCount* d = into->add_days();
    d->set_day(day);
    d->set_count(count);
  }
  into->set_total(into->total() + from.total());
}

}  // namespace

std::string ProfileAggregator::CountedName(const cpb::Event& event) {
  switch (event.type()) {
    case cpb::EVENT_TYPE_PAGE:
      return "Page Viewed";
    case cpb::EVENT_TYPE_SCREEN:
      return "Screen Viewed";
    case cpb::EVENT_TYPE_IDENTIFY:
    case cpb::EVENT_TYPE_ALIAS:
    case cpb::EVENT_TYPE_GROUP:
      return "";
    default:  // TRACK, or unspecified with a name
      return event.name();
  }
}

absl::Time ProfileAggregator::EventTime(const cpb::EventEnvelope& envelope, absl::Time now) {
  if (IsSet(envelope.event().timestamp())) return FromProto(envelope.event().timestamp());
  if (IsSet(envelope.ingested_at())) return FromProto(envelope.ingested_at());
  return now;
}

double ProfileAggregator::NormalisedSentiment(double score, cpb::SentimentScale scale) {
  double v = score;
  switch (scale) {
    case cpb::SENTIMENT_SCALE_CSAT_5:
    case cpb::SENTIMENT_SCALE_RATING_5:
      v = (score - 1.0) / 4.0;
      break;
    case cpb::SENTIMENT_SCALE_NPS_10:
      v = score / 10.0;
      break;
    default:
      break;
  }
  return std::clamp(v, 0.0, 1.0);
}

void ProfileAggregator::CountEvent(const std::string& name, int64_t day, int64_t today,
                                   pb::ProfileRecord* record) const {
  auto* counters = record->mutable_event_counters();
  auto it = counters->find(name);
  if (it == counters->end()) {
    if (static_cast<int>(counters->size()) >= options_.max_event_names) return;  // bounded profile size
    it = counters->insert({name, pb::EventCounter()}).first;
  }
  pb::EventCounter& c = it->second;
  c.set_total(c.total() + 1);
  if (day <= today - options_.counter_days) return;  // older than every window: total only
  auto* days = c.mutable_days();
  // Days are ascending; events mostly arrive for the newest day, so search from the back.
  int i = days->size() - 1;
  while (i >= 0 && days->Get(i).day() > day) --i;
  if (i >= 0 && days->Get(i).day() == day) {
    days->Mutable(i)->set_count(days->Get(i).count() + 1);
    return;
  }
  pb::DailyCount* added = days->Add();
  added->set_day(day);
  added->set_count(1);
  for (int j = days->size() - 1; j > i + 1; --j) days->SwapElements(j, j - 1);
}

void ProfileAggregator::ApplyEvent(const cpb::Event& event, absl::Time event_time, absl::Time now,
                                   pb::ProfileRecord* record) const {
  pb::Profile* profile = record->mutable_profile();
  pb::ComputedAttributes* computed = profile->mutable_computed();
  const google::protobuf::Timestamp ts = ToProto(event_time);

  if (event.type() == cpb::EVENT_TYPE_IDENTIFY) {
    ApplyTraits(event.traits(), "identify", event_time, record);
  }
  const std::string name = CountedName(event);

  bool duplicate_order = false;
  if (name == kOrderCompleted) {
    const std::string& order_id = event.order_id();
    if (!order_id.empty()) {
      for (const pb::OrderRecord& o : record->recent_orders()) {
        if (o.order_id() == order_id) duplicate_order = true;
      }
    }
    if (!duplicate_order) {
      const double revenue = OrderRevenue(event);
      computed->set_orders(computed->orders() + 1);
      computed->set_revenue(computed->revenue() + revenue);
      MaxTime(ts, computed->mutable_last_order_at());
      if (order_id.empty()) {
        record->set_orders_without_id(record->orders_without_id() + 1);
      } else {
        pb::OrderRecord* o = record->add_recent_orders();
        o->set_order_id(order_id);
        o->set_revenue(revenue);
        *o->mutable_time() = ts;
        if (record->recent_orders_size() > options_.max_recent_orders) {
          record->mutable_recent_orders()->DeleteSubrange(0, 1);
        }
      }
    }
  }

  // Sessions: an explicit session id, else a gap of inactivity.
  if (!event.session_id().empty()) {
    if (event.session_id() != record->last_session_id()) {
      computed->set_sessions(computed->sessions() + 1);
      record->set_last_session_id(event.session_id());
    }
  } else if (!name.empty() &&
             (!IsSet(computed->last_seen()) || event_time - FromProto(computed->last_seen()) > options_.session_gap)) {
    computed->set_sessions(computed->sessions() + 1);
  }

  MinTime(ts, computed->mutable_first_seen());
  MaxTime(ts, computed->mutable_last_seen());

  if (name.empty() || duplicate_order) return;
  computed->set_events(computed->events() + 1);
  CountEvent(name, DayOf(event_time), DayOf(now), record);

  if (event.channel() != cpb::CHANNEL_UNSPECIFIED) {
    (*record->mutable_channel_counts())[event.channel()] += 1;
  }
  std::set<std::string> categories, brands;
  if (!event.category().empty()) categories.insert(event.category());
  if (!event.brand().empty()) brands.insert(event.brand());
  for (const cpb::Product& p : event.products()) {
    if (!p.category().empty()) categories.insert(p.category());
    if (!p.brand().empty()) brands.insert(p.brand());
  }
  for (const auto& c : categories) (*record->mutable_category_counts())[c] += 1;
  for (const auto& b : brands) (*record->mutable_brand_counts())[b] += 1;
  if (event.has_sentiment_score()) {
    record->set_sentiment_sum(record->sentiment_sum() +
                              NormalisedSentiment(event.sentiment_score(), event.sentiment_scale()));
    computed->set_sentiment_samples(computed->sentiment_samples() + 1);
  }
}

void ProfileAggregator::ApplyTraits(const google::protobuf::Map<std::string, cpb::TraitValue>& traits,
                                    absl::string_view source, absl::Time updated_at, pb::ProfileRecord* record) const {
  auto* stored = record->mutable_profile()->mutable_traits();
  for (const auto& [key, value] : traits) {
    auto it = stored->find(key);
    if (it != stored->end() && IsSet(it->second.updated_at()) && FromProto(it->second.updated_at()) > updated_at) {
      continue;  // a later update already set it
    }
    pb::Trait& t = (*stored)[key];
    *t.mutable_value() = value;
    t.set_source(std::string(source));
    ToProto(updated_at, t.mutable_updated_at());
  }
}

void ProfileAggregator::Merge(const pb::ProfileRecord& from, absl::Time now, pb::ProfileRecord* into) const {
  pb::Profile* profile = into->mutable_profile();
  pb::ComputedAttributes* c = profile->mutable_computed();
  const pb::ComputedAttributes& fc = from.profile().computed();

  // Orders: count those `into` has not seen.
  std::set<std::string> known;
  for (const pb::OrderRecord& o : into->recent_orders()) known.insert(o.order_id());
  int64_t dup_orders = 0;
  double dup_revenue = 0;
  std::vector<int64_t> dup_days;
  for (const pb::OrderRecord& o : from.recent_orders()) {
    if (known.count(o.order_id())) {
      ++dup_orders;
      dup_revenue += o.revenue();
      dup_days.push_back(DayOf(FromProto(o.time())));
    } else {
      *into->add_recent_orders() = o;
    }
  }
  std::sort(into->mutable_recent_orders()->begin(), into->mutable_recent_orders()->end(),
            [](const pb::OrderRecord& a, const pb::OrderRecord& b) { return FromProto(a.time()) < FromProto(b.time()); });
  while (into->recent_orders_size() > options_.max_recent_orders) into->mutable_recent_orders()->DeleteSubrange(0, 1);
  c->set_orders(c->orders() + fc.orders() - dup_orders);
  c->set_revenue(c->revenue() + fc.revenue() - dup_revenue);
  into->set_orders_without_id(into->orders_without_id() + from.orders_without_id());
  MaxTime(fc.last_order_at(), c->mutable_last_order_at());

  // Duplicate order events were never counted in `from` twice, but the same order event seen by
  // both ids would be: subtract it from the order event counter as well.
  for (const auto& [name, counter] : from.event_counters()) {
    auto it = into->mutable_event_counters()->find(name);
    if (it == into->mutable_event_counters()->end()) {
      if (static_cast<int>(into->event_counters_size()) < options_.max_event_names) {
        (*into->mutable_event_counters())[name] = counter;
      }
    } else {
      AddDays(counter, &it->second);
    }
  }
  if (dup_orders > 0) {
    auto it = into->mutable_event_counters()->find(kOrderCompleted);
    if (it != into->mutable_event_counters()->end()) {
      it->second.set_total(std::max<int64_t>(0, it->second.total() - dup_orders));
      for (int64_t day : dup_days) {
        for (pb::DailyCount& d : *it->second.mutable_days()) {
          if (d.day() == day && d.count() > 0) d.set_count(d.count() - 1);
        }
      }
    }
  }
  c->set_events(c->events() + fc.events() - dup_orders);
  c->set_sessions(c->sessions() + fc.sessions());
  MinTime(fc.first_seen(), c->mutable_first_seen());
  MaxTime(fc.last_seen(), c->mutable_last_seen());
  for (const auto& [k, v] : from.category_counts()) (*into->mutable_category_counts())[k] += v;
  for (const auto& [k, v] : from.brand_counts()) (*into->mutable_brand_counts())[k] += v;
  for (const auto& [k, v] : from.channel_counts()) (*into->mutable_channel_counts())[k] += v;
  into->set_sentiment_sum(into->sentiment_sum() + from.sentiment_sum());
  c->set_sentiment_samples(c->sentiment_samples() + fc.sentiment_samples());

  // Traits and consent: the newer wins.
  for (const auto& [key, trait] : from.profile().traits()) {
    auto it = profile->traits().find(key);
    if (it == profile->traits().end() || FromProto(trait.updated_at()) > FromProto(it->second.updated_at())) {
      (*profile->mutable_traits())[key] = trait;
    }
  }
  for (const auto& [purpose, consent] : from.profile().consent()) {
    auto it = profile->consent().find(purpose);
    if (it == profile->consent().end() || FromProto(consent.updated_at()) > FromProto(it->second.updated_at())) {
      (*profile->mutable_consent())[purpose] = consent;
    }
  }
  if (profile->external_id().empty()) profile->set_external_id(from.profile().external_id());

  std::set<std::string> ids(profile->anonymous_ids().begin(), profile->anonymous_ids().end());
  ids.insert(from.profile().anonymous_ids().begin(), from.profile().anonymous_ids().end());
  if (!from.profile().user_id().empty()) ids.insert(from.profile().user_id());
  ids.erase(profile->user_id());
  profile->clear_anonymous_ids();
  for (const auto& id : ids) profile->add_anonymous_ids(id);

  // Every offset `from` applied precedes the MERGE entry, so the maximum is safe.
  for (const auto& [partition, id] : from.applied_offsets()) {
    auto it = into->applied_offsets().find(partition);
    if (it == into->applied_offsets().end()) {
      (*into->mutable_applied_offsets())[partition] = id;
    } else {
      if (!stream::PartitionedConsumer::IdLessOrEqual(id, it->second)) (*into->mutable_applied_offsets())[partition] = id;
    }
  }
  Refresh(now, into);
}

void ProfileAggregator::Refresh(absl::Time now, pb::ProfileRecord* record) const {
  RefreshImpl(now, /*window_counts=*/true, record);
}

void ProfileAggregator::RefreshForStorage(absl::Time now, pb::ProfileRecord* record) const {
  RefreshImpl(now, /*window_counts=*/false, record);
}

void ProfileAggregator::RefreshImpl(absl::Time now, bool window_counts, pb::ProfileRecord* record) const {
  pb::ComputedAttributes* c = record->mutable_profile()->mutable_computed();
  const int64_t today = DayOf(now);
  auto* counts = c->mutable_event_counts();
  counts->clear();
  for (auto& [name, counter] : *record->mutable_event_counters()) {
    // Drop days older than the widest window.
    auto* days = counter.mutable_days();
    int drop = 0;
    while (drop < days->size() && days->Get(drop).day() <= today - options_.counter_days) ++drop;
    if (drop > 0) days->DeleteSubrange(0, drop);
    if (!window_counts) continue;
    pb::WindowCounts w;
    for (const pb::DailyCount& d : *days) {
      const int64_t age = today - d.day();  // 0 = today; negative = a clock-skewed future day
      if (age < 1) w.set_d1(w.d1() + d.count());
      if (age < 7) w.set_d7(w.d7() + d.count());
      if (age < 30) w.set_d30(w.d30() + d.count());
      if (age < 90) w.set_d90(w.d90() + d.count());
    }
    w.set_total(counter.total());
    (*counts)[name] = w;
  }
  c->set_average_order_value(c->orders() > 0 ? c->revenue() / static_cast<double>(c->orders()) : 0.0);
  c->set_days_since_last_order(IsSet(c->last_order_at())
                                   ? std::max(0.0, absl::ToDoubleHours(now - FromProto(c->last_order_at())) / 24.0)
                                   : 0.0);
  c->clear_favourite_categories();
  for (auto& k : TopKeys(record->category_counts(), options_.favourites)) c->add_favourite_categories(k);
  c->clear_favourite_brands();
  for (auto& k : TopKeys(record->brand_counts(), options_.favourites)) c->add_favourite_brands(k);
  int best = 0;
  int64_t best_count = 0;
  for (const auto& [channel, count] : record->channel_counts()) {
    if (count > best_count || (count == best_count && channel < best)) {
      best = channel;
      best_count = count;
    }
  }
  c->set_preferred_channel(cpb::Channel_IsValid(best) ? static_cast<cpb::Channel>(best) : cpb::CHANNEL_UNSPECIFIED);
  c->set_average_sentiment(c->sentiment_samples() > 0 ? record->sentiment_sum() / c->sentiment_samples() : 0.0);
}

cpb::PersonaSnapshot ProfileAggregator::Snapshot(const pb::ProfileRecord& record, absl::Time now) {
  const pb::Profile& p = record.profile();
  cpb::PersonaSnapshot s;
  s.set_user_id(p.user_id());
  s.set_workspace_id(p.workspace_id());
  for (const auto& seg : p.segments()) s.add_segments(seg);
  s.set_persona(p.persona());
  s.mutable_persona_scores()->insert(p.persona_scores().begin(), p.persona_scores().end());
  s.set_rfm_recency(p.rfm().recency());
  s.set_rfm_frequency(p.rfm().frequency());
  s.set_rfm_monetary(p.rfm().monetary());
  s.set_rfm_persona(p.rfm().persona());
  for (const auto& [purpose, consent] : p.consent()) (*s.mutable_consent())[purpose] = consent.granted();
  for (const auto& c : p.computed().favourite_categories()) s.add_favourite_categories(c);
  for (const auto& b : p.computed().favourite_brands()) s.add_favourite_brands(b);
  s.set_preferred_channel(p.computed().preferred_channel());
  s.set_orders(p.computed().orders());
  s.set_revenue(p.computed().revenue());
  *s.mutable_first_seen() = p.computed().first_seen();
  *s.mutable_last_seen() = p.computed().last_seen();
  s.set_journey_stage(p.computed().journey_stage());
  s.mutable_applied_offsets()->insert(record.applied_offsets().begin(), record.applied_offsets().end());
  ToProto(now, s.mutable_updated_at());
  return s;
}

}  // namespace journey::persona
