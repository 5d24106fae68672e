// The runtime conventions every binary shares (DESIGN.md): common flags, each also settable
// through JOURNEY_<FLAG> (the command line wins), parsed once in main() into a plain struct.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/config/tls_config.h"
#include "common/log/log.h"

namespace journey::config {

// Per-binary defaults for the shared flags.
struct ServiceDefaults {
  std::string name;  // "ingest", "journey", "persona", "recommend"
  int grpc_port = 0;
  int metrics_port = 0;
};

struct ServiceConfig {
  std::string name;
  int grpc_port = 0;  // 0 = pick a free port and log it
  int metrics_port = 0;
  std::string redis_url;
  std::string config_dir;
  log::Level log_level = log::Level::kInfo;
  int partitions = 16;  // stream partitions; every service of a deployment must agree
  std::string workspace = "default";
  absl::Duration startup_deadline = absl::Seconds(15);
  absl::Duration drain_deadline = absl::Seconds(10);
  std::string replica_id;  // stable consumer name; defaults to hostname-pid

  // Security and limits (README.md, Security).
  bool auth_enabled = true;  // --auth=on|auto|off; off only for local development, logged as a warning
  // --auth=auto (the default): keyless calls are admitted while the workspace has no key at
  // all, and refused from the moment it has one. The manifests set --auth=on.
  bool auth_open_until_first_key = false;
  // An admin key inserted (hashed) at start, from --bootstrap_admin_key_file or the
  // environment variable JOURNEY_BOOTSTRAP_ADMIN_KEY. Never logged.
  std::string bootstrap_admin_key;
  std::string rate_limits;  // --rate_limits, "SCOPE=RATE[/BURST],..." over the defaults
  absl::Duration default_deadline = absl::Seconds(30);
  absl::Duration default_stream_deadline = absl::ZeroDuration();  // zero = none
  int max_message_bytes = 8 * 1024 * 1024;  // inbound gRPC message
  int max_inflight_calls = 512;             // server threads; over it new calls get RESOURCE_EXHAUSTED
  bool log_hash_ids = false;
  TlsConfig tls;           // the gRPC port (ingest's HTTP port stays plaintext: see README)
  // A second, plaintext port serving only grpc.health.v1, for probes that cannot speak TLS
  // (kubelet's gRPC probes); -1 = none, 0 = pick a free one.
  int health_port = -1;
};

// Applies JOURNEY_<FLAG> environment variables to every registered absl flag, then parses
// the command line. Returns positional arguments. Exits with code 1 on a bad flag value.
std::vector<char*> ParseFlagsWithEnvironment(int argc, char** argv, const std::string& usage);

// Parses flags (see above) with the binary's defaults and validates the shared ones.
// Exits with code 1 and a message naming the flag on a configuration error.
ServiceConfig ParseServiceFlags(int argc, char** argv, const ServiceDefaults& defaults);

// Validates a ServiceConfig; the error names the bad flag.
absl::Status ValidateServiceConfig(const ServiceConfig& config);

}  // namespace journey::config
