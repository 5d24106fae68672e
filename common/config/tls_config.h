// The TLS settings of a service's gRPC port: which certificate files to serve and whether to
// ask clients for theirs. Plain data, parsed from flags in main(); common/server builds the
// transport credentials from it. (ingest's HTTP port cannot use it: see the README, TLS.)
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace journey::config {

// How a server treats client certificates (mutual TLS).
enum class ClientAuth {
  kNone,     // do not ask for one
  kRequest,  // ask, verify against the CA when sent, accept clients without one
  kRequire,  // refuse the handshake without a certificate signed by the CA
};

struct TlsConfig {
  std::string cert_file;  // PEM certificate chain served; empty = plaintext
  std::string key_file;   // PEM private key of cert_file
  std::string ca_file;    // PEM roots that verify client certificates (needed unless kNone)
  ClientAuth client_auth = ClientAuth::kNone;
  // How often the files are re-read; a rotated certificate is served from then on.
  int reload_interval_s = 10;

  bool enabled() const { return !cert_file.empty(); }
};

// "none", "request" or "require".
bool ParseClientAuth(absl::string_view text, ClientAuth* out);
const char* ClientAuthName(ClientAuth auth);

// The error names the flag: a key without a certificate, an unreadable file, mTLS without a CA.
absl::Status ValidateTlsConfig(const TlsConfig& tls);

}  // namespace journey::config
