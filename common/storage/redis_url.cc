#include "common/storage/redis_url.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace journey::storage {

absl::StatusOr<RedisEndpoint> ParseRedisUrl(absl::string_view url) {
  RedisEndpoint ep;
  absl::string_view rest = url;
  if (!absl::ConsumePrefix(&rest, "redis://")) {
    return absl::InvalidArgumentError(absl::StrCat("'", url, "' does not start with redis://"));
  }
  if (auto at = rest.rfind('@'); at != absl::string_view::npos) {
    absl::string_view auth = rest.substr(0, at);
    rest = rest.substr(at + 1);
    auto colon = auth.find(':');
    if (colon == absl::string_view::npos) {
      ep.password = std::string(auth);
    } else {
      ep.username = std::string(auth.substr(0, colon));
      ep.password = std::string(auth.substr(colon + 1));
    }
  }
  if (auto slash = rest.find('/'); slash != absl::string_view::npos) {
    absl::string_view db = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
    if (!db.empty() && (!absl::SimpleAtoi(db, &ep.db) || ep.db < 0)) {
      return absl::InvalidArgumentError(absl::StrCat("database '", db, "' is not a number"));
    }
  }
  if (auto colon = rest.rfind(':'); colon != absl::string_view::npos) {
    absl::string_view port = rest.substr(colon + 1);
    if (!absl::SimpleAtoi(port, &ep.port) || ep.port <= 0 || ep.port > 65535) {
      return absl::InvalidArgumentError(absl::StrCat("port '", port, "' is not a port"));
    }
    rest = rest.substr(0, colon);
  }
  if (rest.empty()) return absl::InvalidArgumentError(absl::StrCat("'", url, "' has no host"));
  ep.host = std::string(rest);
  return ep;
}

std::string RedactRedisUrl(absl::string_view url) {
  const size_t scheme = url.find("://");
  const size_t at = url.rfind('@');
  if (scheme == absl::string_view::npos || at == absl::string_view::npos || at < scheme) return std::string(url);
  return absl::StrCat(url.substr(0, scheme + 3), "***", url.substr(at));
}

}  // namespace journey::storage
