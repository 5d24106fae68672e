// Structured logs: one JSON object per line on stderr, with level, service and fields.
#pragma once

#include <initializer_list>
#include <string>

#include "absl/strings/string_view.h"
#include <string_view>
#include <utility>

#include "absl/status/status.h"

namespace journey::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

using Field = std::pair<absl::string_view, std::string>;

// Set once in main(), before threads start. `hash_ids`: UserId() logs a hash instead of the id.
void Init(absl::string_view service, Level level, bool hash_ids = false);
bool ParseLevel(absl::string_view text, Level* out);
bool Enabled(Level level);

void Write(Level level, absl::string_view message, std::initializer_list<Field> fields = {});

inline void Debug(absl::string_view m, std::initializer_list<Field> f = {}) { Write(Level::kDebug, m, f); }
inline void Info(absl::string_view m, std::initializer_list<Field> f = {}) { Write(Level::kInfo, m, f); }
inline void Warn(absl::string_view m, std::initializer_list<Field> f = {}) { Write(Level::kWarn, m, f); }
inline void Error(absl::string_view m, std::initializer_list<Field> f = {}) { Write(Level::kError, m, f); }

// How a customer id appears in a log line: in clear, or "sha256:" + 16 hex digits of its
// SHA-256 with --log_hash_ids. Log ids only through this, never names, emails or traits.
std::string UserId(absl::string_view id);

// Escapes a string for a JSON string literal (without the quotes).
std::string JsonEscape(absl::string_view s);

}  // namespace journey::log
