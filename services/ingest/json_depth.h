// How deeply a JSON text nests arrays and objects, found by a scan of its bytes before it is
// parsed: copying and printing a parsed document recurses once per level, so a body of
// 250,000 '[' would overflow the stack of the thread handling it.
#pragma once

#include <cstddef>

#include "absl/strings/string_view.h"

namespace journey::ingest {

// Deeper than any Segment message needs (context.page, products[].x: 4 levels).
inline constexpr int kMaxJsonDepth = 32;

// True when no array or object in `text` is nested more than `max_depth` levels deep
// (brackets inside strings do not count). Says nothing about whether `text` is valid JSON.
bool JsonDepthAtMost(absl::string_view text, int max_depth);

}  // namespace journey::ingest
