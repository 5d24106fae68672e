// A rule's property predicate ("revenue > 100", "channel == email and cart_value == 0"):
// parsed once when a journey definition loads, evaluated per event without allocation.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "journey/common/v1/common.pb.h"

namespace journey::journey_state {

// What a predicate can see besides the event itself.
struct PredicateContext {
  double cart_value = 0;  // open cart value after the event's cart effect
  int64_t orders = 0;     // orders before this event
};

class RulePredicate {
 public:
  // Grammar: clause ("and" clause)*; clause = field op value; op in == != > >= < <=.
  // Fields: revenue, price, quantity, value, discount, shipping, tax, total, sentiment,
  // cart_value, orders (numbers); channel, category, brand, currency, product_id, order_id,
  // coupon, name, type (strings); properties.<key> (either). Errors name the bad part.
  static absl::StatusOr<RulePredicate> Parse(absl::string_view text);

  bool Matches(const journey::common::v1::Event& event, const PredicateContext& context) const;
  const std::string& text() const { return text_; }

 private:
  enum class Op { kEq, kNe, kGt, kGe, kLt, kLe };
  struct Clause {
    std::string field;
    Op op;
    std::string value;  // as written, unquoted
    bool value_is_number = false;
    double number = 0;
  };
  static bool Compare(const Clause& c, bool have_number, double number, const std::string& text);

  std::string text_;
  std::vector<Clause> clauses_;
};

}  // namespace journey::journey_state
