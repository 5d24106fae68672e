// ISO 4217 currency codes in circulation, for validating Event.currency.
#pragma once

#include "absl/strings/string_view.h"

namespace journey::ingest {

// `code` must already be upper case.
bool IsIsoCurrency(absl::string_view code);

}  // namespace journey::ingest
