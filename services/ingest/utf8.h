// UTF-8 well-formedness (no overlongs, no surrogates, nothing above U+10FFFF).
#pragma once

#include "absl/strings/string_view.h"

namespace journey::ingest {

bool IsValidUtf8(absl::string_view s);

}  // namespace journey::ingest
