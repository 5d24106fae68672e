// A rejected event: which field was wrong, a short reason code (a metric label), and a
// message a human can act on.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace journey::ingest {

struct FieldError {
  std::string field;   // proto field path, e.g. "user_id", "products[2].price"
  std::string reason;  // stable code: required, too_long, too_large, too_many, invalid_utf8,
                       // negative, unknown_currency, out_of_range, in_future, too_old, invalid
  std::string message;

  absl::Status ToStatus() const { return absl::InvalidArgumentError(absl::StrCat(field, ": ", message)); }
};

}  // namespace journey::ingest
