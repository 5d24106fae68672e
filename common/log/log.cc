#include "common/log/log.h"

#include <openssl/evp.h>

#include <atomic>
#include <cstdio>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace journey::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::kInfo)};
std::string* g_service = new std::string("journey");
std::mutex g_write_mu;
std::atomic<bool> g_hash_ids{false};

const char* LevelName(Level level) {
  switch (level) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
  }
  return "info";
}

}  // namespace

void Init(absl::string_view service, Level level, bool hash_ids) {
  *g_service = std::string(service);
  g_level.store(static_cast<int>(level));
  g_hash_ids.store(hash_ids);
}

std::string UserId(absl::string_view id) {
  if (!g_hash_ids.load(std::memory_order_relaxed)) return std::string(id);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(id.data(), id.size(), digest, &length, EVP_sha256(), nullptr);
  std::string out = "sha256:";
  for (unsigned int i = 0; i < 8 && i < length; ++i) out += absl::StrFormat("%02x", digest[i]);
  return out;
}

bool ParseLevel(absl::string_view text, Level* out) {
  std::string t = absl::AsciiStrToLower(std::string(text));
  if (t == "debug") *out = Level::kDebug;
  else if (t == "info") *out = Level::kInfo;
  else if (t == "warn" || t == "warning") *out = Level::kWarn;
  else if (t == "error") *out = Level::kError;
  else return false;
  return true;
}

bool Enabled(Level level) { return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed); }

std::string JsonEscape(absl::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += absl::StrFormat("\\u%04x", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

void Write(Level level, absl::string_view message, std::initializer_list<Field> fields) {
  if (!Enabled(level)) return;
  std::string line = absl::StrFormat(R"({"ts":"%s","level":"%s","service":"%s","msg":"%s")",
                                     absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()),
                                     LevelName(level), JsonEscape(*g_service), JsonEscape(message));
  for (const auto& [key, value] : fields) {
    absl::StrAppend(&line, ",\"", JsonEscape(key), "\":\"", JsonEscape(value), "\"");
  }
  line += "}\n";
  std::lock_guard<std::mutex> lock(g_write_mu);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace journey::log
