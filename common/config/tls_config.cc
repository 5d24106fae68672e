#include "common/config/tls_config.h"

#include <fstream>

#include "absl/strings/str_cat.h"

namespace journey::config {
namespace {

absl::Status CheckReadable(const char* flag, const std::string& path) {
  std::ifstream in(path);
  if (!in.good()) return absl::InvalidArgumentError(absl::StrCat("--", flag, ": cannot read '", path, "'"));
  return absl::OkStatus();
}

}  // namespace

bool ParseClientAuth(absl::string_view text, ClientAuth* out) {
  if (text == "none") {
    *out = ClientAuth::kNone;
  } else if (text == "request") {
    *out = ClientAuth::kRequest;
  } else if (text == "require") {
    *out = ClientAuth::kRequire;
  } else {
    return false;
  }
  return true;
}

const char* ClientAuthName(ClientAuth auth) {
  switch (auth) {
    case ClientAuth::kNone: return "none";
    case ClientAuth::kRequest: return "request";
    case ClientAuth::kRequire: return "require";
  }
  return "none";
}

absl::Status ValidateTlsConfig(const TlsConfig& tls) {
  if (!tls.enabled()) {
    if (!tls.key_file.empty()) return absl::InvalidArgumentError("--tls_key_file: set without --tls_cert_file");
    if (tls.client_auth != ClientAuth::kNone) {
      return absl::InvalidArgumentError("--tls_client_auth: client certificates need --tls_cert_file");
    }
    return absl::OkStatus();
  }
  if (tls.key_file.empty()) return absl::InvalidArgumentError("--tls_key_file: required with --tls_cert_file");
  if (auto s = CheckReadable("tls_cert_file", tls.cert_file); !s.ok()) return s;
  if (auto s = CheckReadable("tls_key_file", tls.key_file); !s.ok()) return s;
  if (tls.client_auth != ClientAuth::kNone && tls.ca_file.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tls_ca_file: required with --tls_client_auth=", ClientAuthName(tls.client_auth)));
  }
  if (!tls.ca_file.empty()) {
    if (auto s = CheckReadable("tls_ca_file", tls.ca_file); !s.ok()) return s;
  }
  if (tls.reload_interval_s < 1) {
    return absl::InvalidArgumentError(absl::StrCat("--tls_reload_interval_s: ", tls.reload_interval_s, " must be >= 1"));
  }
  return absl::OkStatus();
}

}  // namespace journey::config
