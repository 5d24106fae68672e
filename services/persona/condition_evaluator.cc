#include "services/persona/condition_evaluator.h"

#include <algorithm>
#include <cmath>
#include <map>
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

double Days(absl::Duration d) { return absl::ToDoubleHours(d) / 24.0; }

double UnixSeconds(const google::protobuf::Timestamp& ts) {
  return absl::ToDoubleSeconds(FromProto(ts) - absl::UnixEpoch());
}

enum class Op { kEq, kNe, kLt, kLe, kGt, kGe, kIn, kContains, kExists, kInvalid };

Op ParseOp(const std::string& op) {
  static const auto* ops = new std::map<std::string, Op>{
      {"==", Op::kEq}, {"!=", Op::kNe}, {"<", Op::kLt}, {"<=", Op::kLe}, {">", Op::kGt},
      {">=", Op::kGe}, {"in", Op::kIn}, {"contains", Op::kContains}, {"exists", Op::kExists}};
  auto it = ops->find(op);
  return it == ops->end() ? Op::kInvalid : it->second;
}

// What an attribute name refers to; kTrait and kConsent carry a key.
enum class Attr {
  kTrait, kConsent, kJourneyStage, kPersona,
  kRfmRecency, kRfmFrequency, kRfmMonetary, kRfmPersona,
  kOrders, kRevenue, kEvents, kSessions, kSentimentSamples, kAverageOrderValue, kAverageSentiment,
  kDaysSinceLastOrder, kDaysSinceLastSeen, kDaysSinceFirstSeen, kPreferredChannel,
  kFavouriteCategories, kFavouriteBrands, kFirstSeen, kLastSeen, kLastOrderAt,
  kUnknown,
};

Attr ParseAttribute(const std::string& attribute, std::string* key) {
  if (absl::StartsWith(attribute, "trait.")) {
    *key = attribute.substr(6);
    return Attr::kTrait;
  }
  if (absl::StartsWith(attribute, "consent.")) {
    *key = attribute.substr(8);
    return Attr::kConsent;
  }
  static const auto* named = new std::map<std::string, Attr>{
      {"journey.stage", Attr::kJourneyStage},
      {"computed.journey_stage", Attr::kJourneyStage},
      {"persona", Attr::kPersona},
      {"rfm.recency", Attr::kRfmRecency},
      {"rfm.frequency", Attr::kRfmFrequency},
      {"rfm.monetary", Attr::kRfmMonetary},
      {"rfm.persona", Attr::kRfmPersona},
      {"computed.orders", Attr::kOrders},
      {"computed.revenue", Attr::kRevenue},
      {"computed.events", Attr::kEvents},
      {"computed.sessions", Attr::kSessions},
      {"computed.sentiment_samples", Attr::kSentimentSamples},
      {"computed.average_order_value", Attr::kAverageOrderValue},
      {"computed.average_sentiment", Attr::kAverageSentiment},
      {"computed.days_since_last_order", Attr::kDaysSinceLastOrder},
      {"computed.days_since_last_seen", Attr::kDaysSinceLastSeen},
      {"computed.days_since_first_seen", Attr::kDaysSinceFirstSeen},
      {"computed.preferred_channel", Attr::kPreferredChannel},
      {"computed.favourite_categories", Attr::kFavouriteCategories},
      {"computed.favourite_brands", Attr::kFavouriteBrands},
      {"computed.first_seen", Attr::kFirstSeen},
      {"computed.last_seen", Attr::kLastSeen},
      {"computed.last_order_at", Attr::kLastOrderAt},
  };
  auto it = named->find(attribute);
  return it == named->end() ? Attr::kUnknown : it->second;
}

// A value as comparisons see it, pointing into the profile or the condition (no copies).
struct Operand {
  enum class Kind { kString, kNumber, kBool, kTime, kList, kNone };  // kNone: a value with no kind
  Kind kind = Kind::kNumber;
  absl::string_view text;  // kString
  double number = 0;       // kNumber; kBool as 1/0; kTime as Unix seconds
  const google::protobuf::RepeatedPtrField<std::string>* list = nullptr;  // kList

  static Operand Number(double v) { return {Kind::kNumber, {}, v, nullptr}; }
  static Operand String(absl::string_view v) { return {Kind::kString, v, 0, nullptr}; }
  static Operand Bool(bool v) { return {Kind::kBool, {}, v ? 1.0 : 0.0, nullptr}; }
  static Operand Time(const google::protobuf::Timestamp& ts) { return {Kind::kTime, {}, UnixSeconds(ts), nullptr}; }
  static Operand List(const google::protobuf::RepeatedPtrField<std::string>& v) { return {Kind::kList, {}, 0, &v}; }
};

// A trait value as an operand; nullopt when it holds none.
std::optional<Operand> OperandOf(const cpb::TraitValue& v) {
  switch (v.kind_case()) {
    case cpb::TraitValue::kStringValue:
      return Operand::String(v.string_value());
    case cpb::TraitValue::kNumberValue:
      return Operand::Number(v.number_value());
    case cpb::TraitValue::kBoolValue:
      return Operand::Bool(v.bool_value());
    case cpb::TraitValue::kTimeValue:
      return Operand::Time(v.time_value());
    case cpb::TraitValue::kListValue:
      return Operand::List(v.list_value().values());
    default:
      return std::nullopt;
  }
}

// Lower-case channel names ("web", "app", ...), made once.
absl::string_view ChannelName(int channel) {
  static const auto* names = [] {
    auto* out = new std::map<int, std::string>;
    const auto* descriptor = cpb::Channel_descriptor();
    for (int i = 0; i < descriptor->value_count(); ++i) {
      std::string name = descriptor->value(i)->name();
      if (absl::StartsWith(name, "CHANNEL_")) name = name.substr(8);
      (*out)[descriptor->value(i)->number()] = absl::AsciiStrToLower(name);
    }
    return out;
  }();
  auto it = names->find(channel);
  return it == names->end() ? absl::string_view() : absl::string_view(it->second);
}

// The value of an attribute, or nullopt when the profile has none.
std::optional<Operand> Resolve(Attr attr, const std::string& key, const pb::ProfileRecord& record, absl::Time now) {
  const pb::Profile& p = record.profile();
  const pb::ComputedAttributes& c = p.computed();
  switch (attr) {
    case Attr::kTrait: {
      auto it = p.traits().find(key);
      if (it == p.traits().end()) return std::nullopt;
      return OperandOf(it->second.value());
    }
    case Attr::kConsent: {
      auto it = p.consent().find(key);
      if (it == p.consent().end()) return std::nullopt;
      return Operand::Bool(it->second.granted());
    }
    case Attr::kJourneyStage:
      if (c.journey_stage().empty()) return std::nullopt;
      return Operand::String(c.journey_stage());
    case Attr::kPersona:
      if (p.persona().empty()) return std::nullopt;
      return Operand::String(p.persona());
    case Attr::kRfmRecency:
    case Attr::kRfmFrequency:
    case Attr::kRfmMonetary:
    case Attr::kRfmPersona:
      if (p.rfm().recency() == 0) return std::nullopt;  // not scored (no order, or no model yet)
      if (attr == Attr::kRfmRecency) return Operand::Number(p.rfm().recency());
      if (attr == Attr::kRfmFrequency) return Operand::Number(p.rfm().frequency());
      if (attr == Attr::kRfmMonetary) return Operand::Number(p.rfm().monetary());
      return Operand::String(p.rfm().persona());
    case Attr::kOrders:
      return Operand::Number(static_cast<double>(c.orders()));
    case Attr::kRevenue:
      return Operand::Number(c.revenue());
    case Attr::kEvents:
      return Operand::Number(static_cast<double>(c.events()));
    case Attr::kSessions:
      return Operand::Number(static_cast<double>(c.sessions()));
    case Attr::kSentimentSamples:
      return Operand::Number(static_cast<double>(c.sentiment_samples()));
    case Attr::kAverageOrderValue:
      if (c.orders() <= 0) return std::nullopt;
      return Operand::Number(c.average_order_value());
    case Attr::kAverageSentiment:
      if (c.sentiment_samples() <= 0) return std::nullopt;
      return Operand::Number(c.average_sentiment());
    case Attr::kDaysSinceLastOrder:
      if (!IsSet(c.last_order_at())) return std::nullopt;
      return Operand::Number(Days(now - FromProto(c.last_order_at())));
    case Attr::kDaysSinceLastSeen:
      if (!IsSet(c.last_seen())) return std::nullopt;
      return Operand::Number(Days(now - FromProto(c.last_seen())));
    case Attr::kDaysSinceFirstSeen:
      if (!IsSet(c.first_seen())) return std::nullopt;
      return Operand::Number(Days(now - FromProto(c.first_seen())));
    case Attr::kPreferredChannel:
      if (c.preferred_channel() == cpb::CHANNEL_UNSPECIFIED) return std::nullopt;
      return Operand::String(ChannelName(c.preferred_channel()));
    case Attr::kFavouriteCategories:
      return Operand::List(c.favourite_categories());
    case Attr::kFavouriteBrands:
      return Operand::List(c.favourite_brands());
    case Attr::kFirstSeen:
      if (!IsSet(c.first_seen())) return std::nullopt;
      return Operand::Time(c.first_seen());
    case Attr::kLastSeen:
      if (!IsSet(c.last_seen())) return std::nullopt;
      return Operand::Time(c.last_seen());
    case Attr::kLastOrderAt:
      if (!IsSet(c.last_order_at())) return std::nullopt;
      return Operand::Time(c.last_order_at());
    case Attr::kUnknown:
      return std::nullopt;
  }
  return std::nullopt;
}

// An operand as a number, when it is one (numbers, bools, times as Unix seconds, numeric text).
std::optional<double> AsNumber(const Operand& v) {
  switch (v.kind) {
    case Operand::Kind::kString: {
      double d;
      if (absl::SimpleAtod(v.text, &d)) return d;
      return std::nullopt;
    }
    case Operand::Kind::kList:
    case Operand::Kind::kNone:
      return std::nullopt;
    default:
      return v.number;
  }
}

std::string AsString(const Operand& v) {
  switch (v.kind) {
    case Operand::Kind::kString:
      return std::string(v.text);
    case Operand::Kind::kNumber:
      return absl::StrCat(v.number);
    case Operand::Kind::kBool:
      return v.number != 0 ? "true" : "false";
    default:
      return "";
  }
}

bool Equal(const Operand& a, const Operand& b) {
  if (a.kind == Operand::Kind::kList || b.kind == Operand::Kind::kList) {
    if (a.kind != b.kind) return false;
    std::set<absl::string_view> x(a.list->begin(), a.list->end());
    std::set<absl::string_view> y(b.list->begin(), b.list->end());
    return x == y;
  }
  if (a.kind == Operand::Kind::kString && b.kind == Operand::Kind::kString) return a.text == b.text;
  auto x = AsNumber(a), y = AsNumber(b);
  if (x && y) return std::fabs(*x - *y) < 1e-9;
  return AsString(a) == AsString(b);
}

std::optional<int> Order(const Operand& a, const Operand& b) {
  auto x = AsNumber(a), y = AsNumber(b);
  if (x && y) return *x < *y ? -1 : (*x > *y ? 1 : 0);
  if (a.kind == Operand::Kind::kString && b.kind == Operand::Kind::kString) {
    return a.text < b.text ? -1 : (a.text == b.text ? 0 : 1);
  }
  return std::nullopt;
}

bool CompareOp(Op op, int cmp) {
  switch (op) {
    case Op::kLt:
      return cmp < 0;
    case Op::kLe:
      return cmp <= 0;
    case Op::kGt:
      return cmp > 0;
    case Op::kGe:
      return cmp >= 0;
    case Op::kEq:
      return cmp == 0;
    case Op::kNe:
      return cmp != 0;
    default:
      return false;
  }
}

void ValidateComparison(const pb::Comparison& c, const std::string& path, std::vector<std::string>* errors) {
  const std::string& a = c.attribute();
  std::string key;
  const Attr attr = ParseAttribute(a, &key);
  const bool known = attr != Attr::kUnknown && !((attr == Attr::kTrait || attr == Attr::kConsent) && key.empty());
  if (!known) errors->push_back(absl::StrCat(path, ".attribute: unknown attribute '", a, "'"));
  if (ParseOp(c.op()) == Op::kInvalid) errors->push_back(absl::StrCat(path, ".op: unknown operator '", c.op(), "'"));
  if (c.op() != "exists" && c.value().kind_case() == cpb::TraitValue::KIND_NOT_SET) {
    errors->push_back(absl::StrCat(path, ".value: required for operator '", c.op(), "'"));
  }
}

}  // namespace

struct CompiledCondition::Node {
  Node() = default;
  Node(Node&&) = default;
  Node(const Node&) = delete;  // `want` points into `value`: never copied once bound

  enum class Kind { kAll, kAny, kNot, kCompare, kEventCount, kNever };
  Kind kind = Kind::kNever;
  std::vector<Node> children;  // kAll, kAny; kNot has one
  Op op = Op::kInvalid;        // kCompare, kEventCount
  // kCompare
  Attr attribute = Attr::kUnknown;
  std::string key;        // trait key or consent purpose
  cpb::TraitValue value;  // owned: `want` points into it
  Operand want;
  // kEventCount
  std::string event;
  int64_t window_days = 0;  // 0 = all time
  int64_t count = 0;

  static Node Compile(const pb::Condition& c) {
    Node n;
    switch (c.node_case()) {
      case pb::Condition::kAll:
      case pb::Condition::kAny: {
        n.kind = c.node_case() == pb::Condition::kAll ? Kind::kAll : Kind::kAny;
        const auto& list = c.node_case() == pb::Condition::kAll ? c.all() : c.any();
        n.children.reserve(list.conditions_size());
        for (const auto& child : list.conditions()) n.children.push_back(Compile(child));
        break;
      }
      case pb::Condition::kNot:
        n.kind = Kind::kNot;
        n.children.push_back(Compile(c.not_()));
        break;
      case pb::Condition::kCompare:
        n.kind = Kind::kCompare;
        n.op = ParseOp(c.compare().op());
        n.attribute = ParseAttribute(c.compare().attribute(), &n.key);
        n.value = c.compare().value();
        break;
      case pb::Condition::kEventCount: {
        const auto& e = c.event_count();
        n.kind = Kind::kEventCount;
        n.op = ParseOp(e.op());
        n.event = e.event();
        // Per-day counters: a window of N days is today and the N-1 days before.
        n.window_days = e.window_s() <= 0 ? 0 : std::max<int64_t>(1, (e.window_s() + 86399) / 86400);
        n.count = e.count();
        break;
      }
      default:
        break;
    }
    return n;
  }

  // After the node has its final address (vectors of nodes move while they are built).
  void Bind() {
    for (Node& child : children) child.Bind();
    if (kind == Kind::kCompare) want = OperandOf(value).value_or(Operand{Operand::Kind::kNone, {}, 0, nullptr});
  }

  bool Matches(const pb::ProfileRecord& record, absl::Time now) const {
    switch (kind) {
      case Kind::kAll:
        for (const Node& c : children) {
          if (!c.Matches(record, now)) return false;
        }
        return true;
      case Kind::kAny:
        for (const Node& c : children) {
          if (c.Matches(record, now)) return true;
        }
        return false;
      case Kind::kNot:
        return !children[0].Matches(record, now);
      case Kind::kCompare:
        return Compare(record, now);
      case Kind::kEventCount: {
        const int64_t n = CountInWindow(record, now);
        return CompareOp(op, n < count ? -1 : (n > count ? 1 : 0));
      }
      case Kind::kNever:
        return false;
    }
    return false;
  }

  int64_t CountInWindow(const pb::ProfileRecord& record, absl::Time now) const {
    auto it = record.event_counters().find(event);
    if (it == record.event_counters().end()) return 0;
    if (window_days == 0) return it->second.total();
    const int64_t today = DayOf(now);
    int64_t n = 0;
    for (const pb::DailyCount& d : it->second.days()) {
      if (today - d.day() < window_days) n += d.count();
    }
    return n;
  }

  bool Compare(const pb::ProfileRecord& record, absl::Time now) const {
    const std::optional<Operand> actual = Resolve(attribute, key, record, now);
    if (op == Op::kExists) return actual.has_value();
    if (!actual) return op == Op::kNe;
    if (op == Op::kInvalid) return false;
    switch (op) {
      case Op::kEq:
        return Equal(*actual, want);
      case Op::kNe:
        return !Equal(*actual, want);
      case Op::kIn:
        if (want.kind != Operand::Kind::kList) return Equal(*actual, want);
        for (const std::string& v : *want.list) {
          if (actual->kind == Operand::Kind::kList) {
            for (const std::string& a : *actual->list) {
              if (a == v) return true;
            }
          } else if (Equal(*actual, Operand::String(v))) {
            return true;
          }
        }
        return false;
      case Op::kContains: {
        const std::string needle = AsString(want);
        if (actual->kind == Operand::Kind::kList) {
          for (const std::string& a : *actual->list) {
            if (a == needle) return true;
          }
          return false;
        }
        return actual->kind == Operand::Kind::kString && absl::StrContains(actual->text, needle);
      }
      default: {
        auto cmp = Order(*actual, want);
        return cmp.has_value() && CompareOp(op, *cmp);
      }
    }
  }
};

CompiledCondition::CompiledCondition() : root_(std::make_shared<Node>()) {}

CompiledCondition::CompiledCondition(const pb::Condition& condition) {
  auto root = std::make_shared<Node>(Node::Compile(condition));
  root->Bind();
  root_ = std::move(root);
}

bool CompiledCondition::Matches(const pb::ProfileRecord& record, absl::Time now) const {
  return root_->Matches(record, now);
}

double CompiledCondition::Score(const pb::ProfileRecord& record, absl::Time now) const {
  if (root_->kind != Node::Kind::kAll || root_->children.empty()) return Matches(record, now) ? 1.0 : 0.0;
  int met = 0;
  for (const Node& c : root_->children) met += c.Matches(record, now) ? 1 : 0;
  return static_cast<double>(met) / static_cast<double>(root_->children.size());
}

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
      const Op op = ParseOp(e.op());
      if (op == Op::kInvalid || op == Op::kIn || op == Op::kContains || op == Op::kExists) {
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
  return CompiledCondition(condition).Matches(record, now);
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
  return CompiledCondition(condition).Score(record, now);
}

}  // namespace journey::persona
