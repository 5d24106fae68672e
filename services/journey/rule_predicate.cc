#include "services/journey/rule_predicate.h"

#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "services/journey/event_fields.h"

namespace journey::journey_state {
namespace {

using journey::common::v1::Event;

const char* const kNumberFields[] = {"revenue", "price",   "quantity",   "value",  "discount", "shipping",
                                     "tax",     "total",   "sentiment",  "cart_value", "orders"};
const char* const kStringFields[] = {"channel", "category", "brand", "currency", "product_id",
                                     "order_id", "coupon",  "name",  "type"};

bool IsKnownField(absl::string_view f) {
  for (const char* n : kNumberFields) if (f == n) return true;
  for (const char* n : kStringFields) if (f == n) return true;
  return absl::StartsWith(f, "properties.") && f.size() > 11;
}

// Reads a field of the event: a number when it is one, and its text.
void ReadField(const std::string& field, const Event& e, const PredicateContext& ctx, bool* have_number,
               double* number, std::string* text) {
  *have_number = true;
  if (field == "revenue") *number = e.revenue();
  else if (field == "price") *number = e.price();
  else if (field == "quantity") *number = e.quantity();
  else if (field == "value") *number = EventValue(e);
  else if (field == "total") *number = e.revenue() > 0 ? e.revenue() : EventValue(e);
  else if (field == "discount") *number = e.discount();
  else if (field == "shipping") *number = e.shipping();
  else if (field == "tax") *number = e.tax();
  else if (field == "sentiment") {
    *have_number = e.has_sentiment_score();
    *number = e.has_sentiment_score() ? NormalizedSentiment(e) : 0;
  } else if (field == "cart_value") *number = ctx.cart_value;
  else if (field == "orders") *number = static_cast<double>(ctx.orders);
  else {
    *have_number = false;
    if (field == "channel") *text = ChannelName(e.channel());
    else if (field == "category") *text = e.category();
    else if (field == "brand") *text = e.brand();
    else if (field == "currency") *text = e.currency();
    else if (field == "product_id") *text = e.product_id();
    else if (field == "order_id") *text = e.order_id();
    else if (field == "coupon") *text = e.coupon();
    else if (field == "name") *text = EventName(e);
    else if (field == "type") *text = absl::AsciiStrToLower(EventTypeName(e.type()));
    else {
      auto it = e.properties().find(field.substr(11));
      if (it != e.properties().end()) {
        *text = it->second;
        *have_number = absl::SimpleAtod(it->second, number);
      }
    }
  }
}

}  // namespace

absl::StatusOr<RulePredicate> RulePredicate::Parse(absl::string_view text) {
  RulePredicate p;
  p.text_ = std::string(absl::StripAsciiWhitespace(text));
  if (p.text_.empty()) return absl::InvalidArgumentError("empty predicate");
  for (absl::string_view raw : absl::StrSplit(p.text_, " and ")) {
    absl::string_view clause = absl::StripAsciiWhitespace(raw);
    static const std::pair<const char*, Op> kOps[] = {{"==", Op::kEq}, {"!=", Op::kNe}, {">=", Op::kGe},
                                                      {"<=", Op::kLe}, {">", Op::kGt},  {"<", Op::kLt}};
    size_t best = absl::string_view::npos;
    const std::pair<const char*, Op>* op = nullptr;
    for (const auto& cand : kOps) {
      size_t at = clause.find(cand.first);
      if (at != absl::string_view::npos && (best == absl::string_view::npos || at < best)) {
        best = at;
        op = &cand;
      }
    }
    if (op == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("clause '", clause, "' has no operator (use == != > >= < <=)"));
    }
    Clause c;
    c.field = std::string(absl::StripAsciiWhitespace(clause.substr(0, best)));
    c.op = op->second;
    absl::string_view value = absl::StripAsciiWhitespace(clause.substr(best + std::strlen(op->first)));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    } else {
      c.value_is_number = absl::SimpleAtod(value, &c.number);
    }
    c.value = std::string(value);
    if (c.field.empty() || !IsKnownField(c.field)) {
      return absl::InvalidArgumentError(absl::StrCat("clause '", clause, "': unknown field '", c.field,
                                                     "' (known: revenue, price, quantity, value, total, discount, "
                                                     "shipping, tax, sentiment, cart_value, orders, channel, "
                                                     "category, brand, currency, product_id, order_id, coupon, "
                                                     "name, type, properties.<key>)"));
    }
    if (c.value.empty()) return absl::InvalidArgumentError(absl::StrCat("clause '", clause, "' has no value"));
    bool numeric_field = false;
    for (const char* n : kNumberFields) numeric_field |= (c.field == n);
    if (numeric_field && !c.value_is_number) {
      return absl::InvalidArgumentError(
          absl::StrCat("clause '", clause, "': field '", c.field, "' is a number but '", c.value, "' is not"));
    }
    if (!numeric_field && !absl::StartsWith(c.field, "properties.") && c.op != Op::kEq && c.op != Op::kNe) {
      return absl::InvalidArgumentError(
          absl::StrCat("clause '", clause, "': field '", c.field, "' is text and only supports == and !="));
    }
    p.clauses_.push_back(std::move(c));
  }
  return p;
}

bool RulePredicate::Compare(const Clause& c, bool have_number, double number, const std::string& text) {
  if (c.value_is_number && have_number) {
    switch (c.op) {
      case Op::kEq: return number == c.number;
      case Op::kNe: return number != c.number;
      case Op::kGt: return number > c.number;
      case Op::kGe: return number >= c.number;
      case Op::kLt: return number < c.number;
      case Op::kLe: return number <= c.number;
    }
  }
  // Text comparison is case-insensitive: "email" matches CHANNEL_EMAIL's name, "Email" too.
  const bool equal = absl::EqualsIgnoreCase(text, c.value);
  switch (c.op) {
    case Op::kEq: return equal;
    case Op::kNe: return !equal;
    default: return false;  // ordering needs numbers on both sides
  }
}

bool RulePredicate::Matches(const Event& event, const PredicateContext& context) const {
  for (const Clause& c : clauses_) {
    bool have_number = false;
    double number = 0;
    std::string text;
    ReadField(c.field, event, context, &have_number, &number, &text);
    if (have_number && text.empty()) text = absl::StrCat(number);
    if (!Compare(c, have_number, number, text)) return false;
  }
  return true;
}

}  // namespace journey::journey_state
