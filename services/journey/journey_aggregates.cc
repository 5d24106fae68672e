#include "services/journey/journey_aggregates.h"

#include <cmath>
#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/storage/keys.h"
#include "services/journey/event_fields.h"

namespace journey::journey_state {
namespace {

// Field parts are joined by '|'; stage names may not contain it (validated) and event names
// have it replaced.
std::string Part(const std::string& s) {
  std::string out = s;
  for (char& c : out) {
    if (c == '|') c = '/';
  }
  return out;
}

void AppendPart(const std::string& s, std::string* out) {
  const size_t from = out->size();
  out->append(s);
  for (size_t i = from; i < out->size(); ++i) {
    if ((*out)[i] == '|') (*out)[i] = '/';
  }
}

int TimeBucket(absl::Duration d) {
  const double s = absl::ToDoubleSeconds(d);
  for (size_t i = 0; i < kTimeBucketsS.size(); ++i) {
    if (s <= kTimeBucketsS[i]) return static_cast<int>(i);
  }
  return static_cast<int>(kTimeBucketsS.size() - 1);
}

// Names computed once per enum value: they are part of every event's counters.
template <typename Enum, size_t N>
const std::string& CachedName(Enum value, std::string (*name)(Enum)) {
  static const std::array<std::string, N> names = [&] {
    std::array<std::string, N> out;
    for (size_t i = 0; i < N; ++i) out[i] = name(static_cast<Enum>(i));
    return out;
  }();
  const size_t i = static_cast<size_t>(value);
  if (i < N) return names[i];
  static thread_local std::string other;
  other = name(value);
  return other;
}

const std::string& ChannelLabel(journey::common::v1::Channel c) {
  return CachedName<journey::common::v1::Channel, journey::common::v1::Channel_ARRAYSIZE>(c, &ChannelName);
}

const std::string& KindLabel(TransitionKind k) {
  return CachedName<TransitionKind, journey::common::v1::TransitionKind_ARRAYSIZE>(k, &KindName);
}

}  // namespace

std::string DayOf(absl::Time t) {
  // Called several times per event: civil-day arithmetic, not FormatTime's general parser.
  const absl::CivilDay d = absl::ToCivilDay(t, absl::UTCTimeZone());
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%04d%02d%02d", static_cast<int>(d.year() % 10000), d.month(), d.day());
  return buf;
}

std::string KindName(TransitionKind kind) {
  std::string name = journey::common::v1::TransitionKind_Name(kind);
  if (name.rfind("TRANSITION_KIND_", 0) == 0) name = name.substr(16);
  return absl::AsciiStrToLower(name);
}

double SentimentStats::half_width_95() const {
  if (n < 2) return 0;
  const double m = mean();
  const double var = std::max(0.0, (sum_sq - n * m * m) / (n - 1));
  return 1.96 * std::sqrt(var / n);
}

AggregateDelta::DayKeys& AggregateDelta::KeysOf(const std::string& ws, const std::string& jid, absl::Time t) {
  const int64_t unix_day = absl::ToUnixSeconds(t) >= 0 ? absl::ToUnixSeconds(t) / 86400
                                                       : (absl::ToUnixSeconds(t) - 86399) / 86400;
  for (DayKeys& k : days_) {
    if (k.unix_day == unix_day && k.ws == ws && k.journey_id == jid) return k;
  }
  DayKeys k;
  k.ws = ws;
  k.journey_id = jid;
  k.unix_day = unix_day;
  k.day = DayOf(t);
  k.overall.funnel = keys::JourneyFunnelDay(ws, jid, k.day);
  k.overall.touchpoints = keys::JourneyTouchpointsDay(ws, jid, k.day);
  days_.push_back(std::move(k));
  return days_.back();
}

const std::vector<AggregateDelta::SegmentKeys*>& AggregateDelta::TargetsOf(DayKeys& day,
                                                                           const std::vector<std::string>& segments) {
  targets_.clear();
  targets_.push_back(&day.overall);
  for (const std::string& segment : segments) {
    SegmentKeys* found = nullptr;
    for (SegmentKeys& s : day.segments) {
      if (s.segment == segment) {
        found = &s;
        break;
      }
    }
    if (found == nullptr) {
      SegmentKeys& added = day.segments.emplace_back();
      added.segment = segment;
      added.funnel = keys::JourneySegmentFunnelDay(day.ws, day.journey_id, segment, day.day);
      added.touchpoints = keys::JourneySegmentTouchpointsDay(day.ws, day.journey_id, segment, day.day);
      found = &added;
    }
    targets_.push_back(found);
  }
  return targets_;
}

void AggregateDelta::Add(const std::string& ws, const std::string& jid, const StepOutcome& o,
                         const std::vector<std::string>& segments) {
  if (!o.applied) return;
  // Fields are built in field_ (reused) and looked up as views: no string per increment.
  std::string& field = field_;
  if (!o.newly_reached.empty()) {
    for (SegmentKeys* t : TargetsOf(KeysOf(ws, jid, o.reached_time), segments)) {
      for (const auto& stage : o.newly_reached) {
        field.assign("reach|").append(stage);
        Inc(t->funnel_counts, field);
      }
    }
  }
  for (const StageChange& c : o.changes) {
    const auto& targets = TargetsOf(KeysOf(ws, jid, c.time), segments);
    auto count = [&](const std::string& f) {
      for (SegmentKeys* t : targets) Inc(t->funnel_counts, f);
    };
    field.clear();
    absl::StrAppend(&field, "tr|", c.from_stage.empty() ? "-" : c.from_stage, "|", c.to_stage, "|", KindLabel(c.kind));
    count(field);
    if (c.kind == journey::common::v1::TRANSITION_KIND_ABANDONED) {
      count(field.assign("ab|").append(c.from_stage));
    } else {
      count(field.assign("enter|").append(c.to_stage));
    }
    if (c.kind == journey::common::v1::TRANSITION_KIND_FORWARD) {
      field.clear();
      absl::StrAppend(&field, "ttn|", c.from_stage, "|", TimeBucket(c.time_in_from));
      count(field);
    }
    if (c.kind == journey::common::v1::TRANSITION_KIND_BACKWARD) count(field.assign("back|").append(c.from_stage));
    if (!c.blamed_event.empty()) {
      // A loss is blamed on the stage the customer was in and the touchpoint that led to it.
      field.clear();
      absl::StrAppend(&field, "lost|", c.from_stage, "|", ChannelLabel(c.blamed_channel), "|", Part(c.blamed_event));
      for (SegmentKeys* t : targets) Inc(t->touchpoint_counts, field);
    }
  }
  if (o.touchpoint != nullptr) {
    const auto& tp = *o.touchpoint;
    const auto& targets = TargetsOf(KeysOf(ws, jid, ToTime(tp.time())), segments);
    std::string& cell = cell_;
    cell.clear();
    absl::StrAppend(&cell, tp.stage(), "|", ChannelLabel(tp.channel()), "|");
    AppendPart(tp.event_name(), &cell);
    field.assign("n|").append(cell);
    for (SegmentKeys* t : targets) Inc(t->touchpoint_counts, field);
    if (tp.has_sentiment()) {
      const double s = tp.sentiment();
      const std::string sn = "sn|" + cell, ss = "ss|" + cell, sq = "sq|" + cell;
      const std::string stage_sn = "sn|" + tp.stage(), stage_ss = "ss|" + tp.stage(), stage_sq = "sq|" + tp.stage();
      for (SegmentKeys* t : targets) {
        Inc(t->touchpoint_counts, sn);
        IncFloat(t->touchpoint_counts, ss, s);
        IncFloat(t->touchpoint_counts, sq, s * s);
        Inc(t->funnel_counts, stage_sn);
        IncFloat(t->funnel_counts, stage_ss, s);
        IncFloat(t->funnel_counts, stage_sq, s * s);
      }
    }
  }
}

void AggregateDelta::Uncount(const std::string& ws, const std::string& jid, const StageReach& reach) {
  const std::vector<std::string> segments(reach.segments().begin(), reach.segments().end());
  const std::string field = "reach|" + reach.stage();
  for (SegmentKeys* t : TargetsOf(KeysOf(ws, jid, ToTime(reach.at())), segments)) Inc(t->funnel_counts, field, -1);
}

std::vector<storage::RedisCommand> AggregateDelta::Commands() const {
  std::vector<storage::RedisCommand> out;
  auto add = [&out](const std::string& key, const Counters& c) {
    for (const auto& [field, n] : c.ints) out.push_back({"HINCRBY", key, field, std::to_string(n)});
    for (const auto& [field, x] : c.floats) out.push_back({"HINCRBYFLOAT", key, field, absl::StrCat(x)});
  };
  for (const DayKeys& day : days_) {
    add(day.overall.funnel, day.overall.funnel_counts);
    add(day.overall.touchpoints, day.overall.touchpoint_counts);
    for (const SegmentKeys& s : day.segments) {
      add(s.funnel, s.funnel_counts);
      add(s.touchpoints, s.touchpoint_counts);
    }
  }
  return out;
}

std::vector<std::string> DaysOf(absl::Time from, absl::Time to) {
  std::vector<std::string> days;
  if (to < from) return days;
  absl::CivilDay d = absl::ToCivilDay(from, absl::UTCTimeZone());
  const absl::CivilDay last = absl::ToCivilDay(to, absl::UTCTimeZone());
  for (; d <= last && days.size() < 3700; ++d) {
    days.push_back(absl::FormatCivilTime(d).substr(0, 10));
    std::string& s = days.back();
    s.erase(std::remove(s.begin(), s.end(), '-'), s.end());
  }
  return days;
}

absl::StatusOr<AggregateTotals> ReadAggregates(storage::RedisClient* redis, const std::string& ws,
                                               const std::string& jid, absl::Time from, absl::Time to,
                                               bool with_touchpoints, const std::string& segment) {
  const std::vector<std::string> days = DaysOf(from, to);
  std::vector<storage::RedisCommand> cmds;
  for (const auto& day : days) {
    if (segment.empty()) {
      cmds.push_back({"HGETALL", keys::JourneyFunnelDay(ws, jid, day)});
      if (with_touchpoints) cmds.push_back({"HGETALL", keys::JourneyTouchpointsDay(ws, jid, day)});
    } else {
      cmds.push_back({"HGETALL", keys::JourneySegmentFunnelDay(ws, jid, segment, day)});
      if (with_touchpoints) cmds.push_back({"HGETALL", keys::JourneySegmentTouchpointsDay(ws, jid, segment, day)});
    }
  }
  AggregateTotals totals;
  totals.days = static_cast<int>(days.size());
  if (cmds.empty()) return totals;
  auto replies = redis->Pipeline(cmds);
  if (!replies.ok()) return replies.status();
  for (const storage::RedisReply& r : *replies) {
    if (r.is_error()) return absl::InternalError(absl::StrCat("reading aggregates: ", r.str));
    for (size_t i = 0; i + 1 < r.elements.size(); i += 2) {
      const std::string& field = r.elements[i].str;
      const std::string& value = r.elements[i + 1].str;
      std::vector<std::string> p = absl::StrSplit(field, '|');
      long long n = 0;
      double x = 0;
      const bool is_int = absl::SimpleAtoi(value, &n);
      if (!is_int && !absl::SimpleAtod(value, &x)) continue;
      if (is_int) x = static_cast<double>(n);
      const std::string& tag = p[0];
      if (p.size() == 2) {
        StageTotals& st = totals.stages[p[1]];
        if (tag == "reach") st.reached += n;
        else if (tag == "enter") st.entered += n;
        else if (tag == "ab") st.abandoned += n;
        else if (tag == "back") st.back += n;
        else if (tag == "sn") st.sentiment.n += n;
        else if (tag == "ss") st.sentiment.sum += x;
        else if (tag == "sq") st.sentiment.sum_sq += x;
      } else if (p.size() == 3 && tag == "ttn") {
        int b = 0;
        if (absl::SimpleAtoi(p[2], &b) && b >= 0 && b < static_cast<int>(kTimeBucketsS.size())) {
          totals.stages[p[1]].time_to_next[b] += n;
        }
      } else if (p.size() == 4 && tag == "tr") {
        totals.flows[{p[1] == "-" ? "" : p[1], p[2], p[3]}] += n;
      } else if (p.size() == 4) {
        TouchpointTotals& tp = totals.touchpoints[{p[1], p[2], p[3]}];
        if (tag == "n") tp.count += n;
        else if (tag == "lost") tp.lost += n;
        else if (tag == "sn") tp.sentiment.n += n;
        else if (tag == "ss") tp.sentiment.sum += x;
        else if (tag == "sq") tp.sentiment.sum_sq += x;
      }
    }
  }
  return totals;
}

}  // namespace journey::journey_state
