#include "services/persona/condition_evaluator.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/persona/proto_time.h"

namespace journey::persona {
namespace {

namespace cpb = ::journey::common::v1;

const std::set<std::string>& Operators() {
  static const auto* ops = new std::set<std::string>{"==", "!=", "<", "<=", ">", ">=", "in", "contains", "exists"};
  return *ops;
}

const std::set<std::string>& ComputedFields() {
  static const auto* fields = new std::set<std::string>{
      "orders", "revenue", "events", "sessions", "average_order_value", "days_since_last_order",
      "days_since_last_seen", "days_since_first_seen", "average_sentiment", "sentiment_samples",
      "preferred_channel", "favourite_categories", "favourite_brands", "first_seen", "last_seen",
      "last_order_at", "journey_stage"};
  return *fields;
}

cpb::TraitValue Number(double v) {
  cpb::TraitValue t;
  t.set_number_value(v);
  return t;
}
cpb::TraitValue String(std::string v) {
  cpb::TraitValue t;
  t.set_string_value(std::move(v));
  return t;
}
cpb::TraitValue Bool(bool v) {
  cpb::TraitValue t;
  t.set_bool_value(v);
  return t;
}
cpb::TraitValue Time(const google::protobuf::Timestamp& ts) {
  cpb::TraitValue t;
  *t.mutable_time_value() = ts;
  return t;
}
cpb::TraitValue List(const google::protobuf::RepeatedPtrField<std::string>& values) {
  cpb::TraitValue t;
  for (const auto& v : values) t.mutable_list_value()->add_values(v);
  return t;
}

double Days(absl::Duration d) { return absl::ToDoubleHours(d) / 24.0; }

std::string ChannelName(int channel) {
  std::string name = cpb::Channel_Name(static_cast<cpb::Channel>(channel));
  if (absl::StartsWith(name, "CHANNEL_")) name = name.substr(8);
  return absl::AsciiStrToLower(name);
}

// The value of an attribute, or nullopt when the profile has none.
std::optional<cpb::TraitValue> Resolve(const std::string& attribute, const pb::ProfileRecord& record, absl::Time now) {
  const pb::Profile& p = record.profile();
  const pb::ComputedAttributes& c = p.computed();
  if (absl::StartsWith(attribute, "trait.")) {
    auto it = p.traits().find(attribute.substr(6));
    if (it == p.traits().end() || it->second.value().kind_case() == cpb::TraitValue::KIND_NOT_SET) return std::nullopt;
    return it->second.value();
  }
  if (absl::StartsWith(attribute, "consent.")) {
    auto it = p.consent().find(attribute.substr(8));
    if (it == p.consent().end()) return std::nullopt;
    return Bool(it->second.granted());
  }
  if (attribute == "journey.stage" || attribute == "computed.journey_stage") {
    if (c.journey_stage().empty()) return std::nullopt;
    return String(c.journey_stage());
  }
  if (attribute == "persona") {
    if (p.persona().empty()) return std::nullopt;
    return String(p.persona());
  }
  if (absl::StartsWith(attribute, "rfm.")) {
    if (p.rfm().recency() == 0) return std::nullopt;  // not scored (no order, or no model yet)
    const std::string f = attribute.substr(4);
    if (f == "recency") return Number(p.rfm().recency());
    if (f == "frequency") return Number(p.rfm().frequency());
    if (f == "monetary") return Number(p.rfm().monetary());
    if (f == "persona") return String(p.rfm().persona());
    return std::nullopt;
  }
  if (!absl::StartsWith(attribute, "computed.")) return std::nullopt;
  const std::string f = attribute.substr(9);
  const bool has_order = IsSet(c.last_order_at());
  const bool seen = IsSet(c.last_seen());
  if (f == "orders") return Number(static_cast<double>(c.orders()));
  if (f == "revenue") return Number(c.revenue());
  if (f == "events") return Number(static_cast<double>(c.events()));
  if (f == "sessions") return Number(static_cast<double>(c.sessions()));
  if (f == "sentiment_samples") return Number(static_cast<double>(c.sentiment_samples()));
  if (f == "average_order_value") return c.orders() > 0 ? std::optional(Number(c.average_order_value())) : std::nullopt;
  if (f == "average_sentiment") {
    return c.sentiment_samples() > 0 ? std::optional(Number(c.average_sentiment())) : std::nullopt;
  }
  if (f == "days_since_last_order") {
    return has_order ? std::optional(Number(Days(now - FromProto(c.last_order_at())))) : std::nullopt;
  }
  if (f == "days_since_last_seen") {
    return seen ? std::optional(Number(Days(now - FromProto(c.last_seen())))) : std::nullopt;
  }
  if (f == "days_since_first_seen") {
    return IsSet(c.first_seen()) ? std::optional(Number(Days(now - FromProto(c.first_seen())))) : std::nullopt;
  }
  if (f == "preferred_channel") {
    return c.preferred_channel() != cpb::CHANNEL_UNSPECIFIED ? std::optional(String(ChannelName(c.preferred_channel())))
                                                             : std::nullopt;
  }
  if (f == "favourite_categories") return List(c.favourite_categories());
  if (f == "favourite_brands") return List(c.favourite_brands());
  if (f == "first_seen") return IsSet(c.first_seen()) ? std::optional(Time(c.first_seen())) : std::nullopt;
  if (f == "last_seen") return seen ? std::optional(Time(c.last_seen())) : std::nullopt;
  if (f == "last_order_at") return has_order ? std::optional(Time(c.last_order_at())) : std::nullopt;
  return std::nullopt;
}

// A value as a number, when it is one (numbers, bools, times as Unix seconds, numeric text).
std::optional<double> AsNumber(const cpb::TraitValue& v) {
  switch (v.kind_case()) {
    case cpb::TraitValue::kNumberValue:
      return v.number_value();
    case cpb::TraitValue::kBoolValue:
      return v.bool_value() ? 1.0 : 0.0;
    case cpb::TraitValue::kTimeValue:
      return absl::ToDoubleSeconds(FromProto(v.time_value()) - absl::UnixEpoch());
    case cpb::TraitValue::kStringValue: {
      double d;
      if (absl::SimpleAtod(v.string_value(), &d)) return d;
      return std::nullopt;
    }
    default:
      return std::nullopt;
  }
}

std::string AsString(const cpb::TraitValue& v) {
  switch (v.kind_case()) {
    case cpb::TraitValue::kStringValue:
      return v.string_value();
    case cpb::TraitValue::kNumberValue:
      return absl::StrCat(v.number_value());
    case cpb::TraitValue::kBoolValue:
      return v.bool_value() ? "true" : "false";
    default:
      return "";
  }
}

bool Equal(const cpb::TraitValue& a, const cpb::TraitValue& b) {
  if (a.kind_case() == cpb::TraitValue::kListValue || b.kind_case() == cpb::TraitValue::kListValue) {
    if (a.kind_case() != b.kind_case()) return false;
    std::set<std::string> x(a.list_value().values().begin(), a.list_value().values().end());
    std::set<std::string> y(b.list_value().values().begin(), b.list_value().values().end());
    return x == y;
  }
  if (a.kind_case() == cpb::TraitValue::kStringValue && b.kind_case() == cpb::TraitValue::kStringValue) {
    return a.string_value() == b.string_value();
  }
  auto x = AsNumber(a), y = AsNumber(b);
  if (x && y) return std::fabs(*x - *y) < 1e-9;
  return AsString(a) == AsString(b);
}

std::optional<int> Order(const cpb::TraitValue& a, const cpb::TraitValue& b) {
  auto x = AsNumber(a), y = AsNumber(b);
  if (x && y) return *x < *y ? -1 : (*x > *y ? 1 : 0);
  if (a.kind_case() == cpb::TraitValue::kStringValue && b.kind_case() == cpb::TraitValue::kStringValue) {
    return a.string_value().compare(b.string_value()) < 0 ? -1 : (a.string_value() == b.string_value() ? 0 : 1);
  }
  return std::nullopt;
}

bool CompareOp(const std::string& op, int cmp) {
  if (op == "<") return cmp < 0;
  if (op == "<=") return cmp <= 0;
  if (op == ">") return cmp > 0;
  if (op == ">=") return cmp >= 0;
  if (op == "==") return cmp == 0;
  if (op == "!=") return cmp != 0;
  return false;
}

bool EvaluateComparison(const pb::Comparison& c, const pb::ProfileRecord& record, absl::Time now) {
  std::optional<cpb::TraitValue> actual = Resolve(c.attribute(), record, now);
  if (c.op() == "exists") return actual.has_value();
  if (!actual) return c.op() == "!=";
  const cpb::TraitValue& want = c.value();
  if (c.op() == "==") return Equal(*actual, want);
  if (c.op() == "!=") return !Equal(*actual, want);
  if (c.op() == "in") {
    if (want.kind_case() != cpb::TraitValue::kListValue) return Equal(*actual, want);
    for (const auto& v : want.list_value().values()) {
      if (actual->kind_case() == cpb::TraitValue::kListValue) {
        for (const auto& a : actual->list_value().values()) {
          if (a == v) return true;
        }
      } else if (Equal(*actual, String(v))) {
        return true;
      }
    }
    return false;
  }
  if (c.op() == "contains") {
    if (actual->kind_case() == cpb::TraitValue::kListValue) {
      const std::string needle = AsString(want);
      for (const auto& a : actual->list_value().values()) {
        if (a == needle) return true;
      }
      return false;
    }
    return actual->kind_case() == cpb::TraitValue::kStringValue &&
           absl::StrContains(actual->string_value(), AsString(want));
  }
  auto cmp = Order(*actual, want);
  return cmp.has_value() && CompareOp(c.op(), *cmp);
}

int64_t CountInWindow(const pb::EventCountCondition& c, const pb::ProfileRecord& record, absl::Time now) {
  auto it = record.event_counters().find(c.event());
  if (it == record.event_counters().end()) return 0;
  if (c.window_s() <= 0) return it->second.total();
  // Per-day counters: a window of N days is today and the N-1 days before.
  const int64_t days = std::max<int64_t>(1, (c.window_s() + 86399) / 86400);
  const int64_t today = DayOf(now);
  int64_t n = 0;
  for (const pb::DailyCount& d : it->second.days()) {
    if (today - d.day() < days) n += d.count();
  }
  return n;
}

void ValidateComparison(const pb::Comparison& c, const std::string& path, std::vector<std::string>* errors) {
  const std::string& a = c.attribute();
  bool known = false;
  if ((absl::StartsWith(a, "trait.") && a.size() > 6) || (absl::StartsWith(a, "consent.") && a.size() > 8)) {
    known = true;
  } else if (absl::StartsWith(a, "computed.")) {
    known = ComputedFields().count(a.substr(9)) > 0;
  } else if (absl::StartsWith(a, "rfm.")) {
    const std::string f = a.substr(4);
    known = f == "recency" || f == "frequency" || f == "monetary" || f == "persona";
  } else {
    known = a == "journey.stage" || a == "persona";
  }
  if (!known) errors->push_back(absl::StrCat(path, ".attribute: unknown attribute '", a, "'"));
  if (!Operators().count(c.op())) errors->push_back(absl::StrCat(path, ".op: unknown operator '", c.op(), "'"));
  if (c.op() != "exists" && c.value().kind_case() == cpb::TraitValue::KIND_NOT_SET) {
    errors->push_back(absl::StrCat(path, ".value: required for operator '", c.op(), "'"));
  }
}

}  // namespace

void ValidateCondition(const pb::Condition& condition, const std::string& path, std::vector<std::string>* errors) {
  switch (condition.node_case()) {
    case pb::Condition::kAll:
    case pb::Condition::kAny: {
      const bool all = condition.node_case() == pb::Condition::kAll;
      const auto& list = all ? condition.all() : condition.any();
      const std::string name = absl::StrCat(path, path.empty() ? "" : ".", all ? "all" : "any");
      if (list.conditions().empty()) errors->push_back(absl::StrCat(name, ": needs at least one condition"));
      for (int i = 0; i < list.conditions_size(); ++i) {
        ValidateCondition(list.conditions(i), absl::StrCat(name, "[", i, "]"), errors);
      }
      break;
    }
    case pb::Condition::kNot:
      ValidateCondition(condition.not_(), absl::StrCat(path, path.empty() ? "" : ".", "not"), errors);
      break;
    case pb::Condition::kCompare:
      ValidateComparison(condition.compare(), absl::StrCat(path, path.empty() ? "" : ".", "compare"), errors);
      break;
    case pb::Condition::kEventCount: {
      const auto& e = condition.event_count();
      const std::string p = absl::StrCat(path, path.empty() ? "" : ".", "event_count");
      if (e.event().empty()) errors->push_back(absl::StrCat(p, ".event: required"));
      if (!Operators().count(e.op()) || e.op() == "in" || e.op() == "contains" || e.op() == "exists") {
        errors->push_back(absl::StrCat(p, ".op: '", e.op(), "' is not a count comparison"));
      }
      if (e.count() < 0) errors->push_back(absl::StrCat(p, ".count: must be >= 0"));
      if (e.window_s() < 0 || e.window_s() > 90 * 86400) {
        errors->push_back(absl::StrCat(p, ".window_s: ", e.window_s(), " must be 0 (all time) up to 7776000 (90 days)"));
      }
      break;
    }
    default:
      errors->push_back(absl::StrCat(path.empty() ? "condition" : path, ": empty condition"));
  }
}

bool EvaluateCondition(const pb::Condition& condition, const pb::ProfileRecord& record, absl::Time now) {
  switch (condition.node_case()) {
    case pb::Condition::kAll:
      for (const auto& c : condition.all().conditions()) {
        if (!EvaluateCondition(c, record, now)) return false;
      }
      return true;
    case pb::Condition::kAny:
      for (const auto& c : condition.any().conditions()) {
        if (EvaluateCondition(c, record, now)) return true;
      }
      return false;
    case pb::Condition::kNot:
      return !EvaluateCondition(condition.not_(), record, now);
    case pb::Condition::kCompare:
      return EvaluateComparison(condition.compare(), record, now);
    case pb::Condition::kEventCount: {
      const int64_t n = CountInWindow(condition.event_count(), record, now);
      const int64_t want = condition.event_count().count();
      return CompareOp(condition.event_count().op(), n < want ? -1 : (n > want ? 1 : 0));
    }
    default:
      return false;
  }
}

bool DependsOnTime(const pb::Condition& condition) {
  switch (condition.node_case()) {
    case pb::Condition::kAll:
    case pb::Condition::kAny: {
      const auto& list = condition.node_case() == pb::Condition::kAll ? condition.all() : condition.any();
      for (const auto& c : list.conditions()) {
        if (DependsOnTime(c)) return true;
      }
      return false;
    }
    case pb::Condition::kNot:
      return DependsOnTime(condition.not_());
    case pb::Condition::kCompare:
      return absl::StrContains(condition.compare().attribute(), "days_since") ||
             absl::StartsWith(condition.compare().attribute(), "rfm.");
    case pb::Condition::kEventCount:
      return condition.event_count().window_s() > 0;
    default:
      return false;
  }
}

double ConditionScore(const pb::Condition& condition, const pb::ProfileRecord& record, absl::Time now) {
  if (condition.node_case() != pb::Condition::kAll || condition.all().conditions().empty()) {
    return EvaluateCondition(condition, record, now) ? 1.0 : 0.0;
  }
  int met = 0;
  for (const auto& c : condition.all().conditions()) met += EvaluateCondition(c, record, now) ? 1 : 0;
  return static_cast<double>(met) / condition.all().conditions_size();
}

}  // namespace journey::persona
