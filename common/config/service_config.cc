#include "common/config/service_config.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/auth/rate_limiter.h"
#include "common/storage/redis_factory.h"

ABSL_FLAG(int, grpc_port, -1,
          "gRPC port (ingest 50051, journey 50052, persona 50053, recommend 50054; 0 = pick a free one)");
ABSL_FLAG(int, metrics_port, -1, "Prometheus metrics port (9091..9094 by service; 0 = pick a free one)");
ABSL_FLAG(std::string, redis_url, "redis://127.0.0.1:6379", "redis://[user:password@]host:port[/db] or redis+cluster://[user:password@]host:port[,host:port...]");
ABSL_FLAG(std::string, config_dir, JOURNEY_DEFAULT_CONFIG_DIR,
          "Directory with journey, segment and offer definitions");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warn or error");
ABSL_FLAG(int, partitions, 16, "Number of event stream partitions (the same for every service)");
ABSL_FLAG(std::string, workspace, "default", "Workspace id used when a call carries none");
ABSL_FLAG(int, startup_deadline_s, 15, "Seconds to wait for Redis at start before exiting with code 2");
ABSL_FLAG(int, drain_deadline_s, 10, "Seconds SIGTERM allows in-flight calls and batches to finish");
ABSL_FLAG(std::string, replica_id, "", "Stable name of this replica (default: hostname-pid)");
ABSL_FLAG(std::string, auth, "auto",
          "on: every call needs an API key; auto: like on once the workspace has a key, open (with a warning) "
          "while it has none; off: no checks (local development only)");
ABSL_FLAG(std::string, bootstrap_admin_key_file, "",
          "File holding an admin API key to insert (hashed) at start; or set JOURNEY_BOOTSTRAP_ADMIN_KEY");
ABSL_FLAG(std::string, rate_limits, "",
          "Per-key rate limits by scope over the defaults, e.g. 'ingest:write=2000/4000,admin=20' (calls/s[/burst])");
ABSL_FLAG(int, default_deadline_ms, 30000, "Deadline of a call whose client set none (0 = none)");
ABSL_FLAG(int, default_stream_deadline_ms, 0, "Deadline of a watch/export/upload stream whose client set none (0 = none)");
ABSL_FLAG(int, max_message_bytes, 8 * 1024 * 1024, "Largest inbound gRPC message");
ABSL_FLAG(int, max_inflight_calls, 512, "Calls served at once; more get RESOURCE_EXHAUSTED");
ABSL_FLAG(bool, log_hash_ids, false, "Log customer ids as a SHA-256 prefix instead of in clear");
ABSL_FLAG(std::string, tls_cert_file, "", "PEM certificate chain to serve gRPC with TLS (empty = plaintext)");
ABSL_FLAG(std::string, tls_key_file, "", "PEM private key of --tls_cert_file");
ABSL_FLAG(std::string, tls_ca_file, "", "PEM roots that verify client certificates (mutual TLS)");
ABSL_FLAG(std::string, tls_client_auth, "none",
          "Client certificates: none, request (verified when sent) or require (mutual TLS)");
ABSL_FLAG(int, health_port, -1,
          "Plaintext port serving only grpc.health.v1, for kubelet probes when gRPC is TLS (-1 = none, 0 = pick)");
ABSL_FLAG(int, tls_reload_interval_s, 10, "Seconds between re-reads of the TLS files (rotation without restart)");

namespace journey::config {

std::vector<char*> ParseFlagsWithEnvironment(int argc, char** argv, const std::string& usage) {
  absl::SetProgramUsageMessage(usage);
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    std::string env_name = absl::StrCat("JOURNEY_", absl::AsciiStrToUpper(name));
    const char* value = std::getenv(env_name.c_str());
    if (value == nullptr) continue;
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      std::fprintf(stderr, "configuration error: %s=%s: %s\n", env_name.c_str(), value, error.c_str());
      std::exit(1);
    }
  }
  // absl exits with code 1 on an unknown flag or a bad value, naming it.
  return absl::ParseCommandLine(argc, argv);
}

absl::Status ValidateServiceConfig(const ServiceConfig& c) {
  if (c.grpc_port < 0 || c.grpc_port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("--grpc_port: ", c.grpc_port, " is not a port"));
  }
  if (c.metrics_port < 0 || c.metrics_port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("--metrics_port: ", c.metrics_port, " is not a port"));
  }
  if (c.health_port < -1 || c.health_port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("--health_port: ", c.health_port, " is not a port or -1"));
  }
  if (auto url = storage::ParseRedisTarget(c.redis_url); !url.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--redis_url: ", url.status().message()));
  }
  if (c.partitions < 1 || c.partitions > 1024) {
    return absl::InvalidArgumentError(absl::StrCat("--partitions: ", c.partitions, " must be in 1..1024"));
  }
  if (c.workspace.empty()) return absl::InvalidArgumentError("--workspace: must not be empty");
  if (auto limits = auth::ParseRateLimits(c.rate_limits); !limits.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--rate_limits: ", limits.status().message()));
  }
  if (c.default_deadline < absl::ZeroDuration()) return absl::InvalidArgumentError("--default_deadline_ms: must be >= 0");
  if (c.default_stream_deadline < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--default_stream_deadline_ms: must be >= 0");
  }
  if (c.max_message_bytes < 1024) return absl::InvalidArgumentError("--max_message_bytes: must be >= 1024");
  if (c.max_inflight_calls < 4) return absl::InvalidArgumentError("--max_inflight_calls: must be >= 4");
  if (!c.bootstrap_admin_key.empty() && c.bootstrap_admin_key.size() < 20) {
    return absl::InvalidArgumentError("--bootstrap_admin_key_file / JOURNEY_BOOTSTRAP_ADMIN_KEY: at least 20 characters");
  }
  return ValidateTlsConfig(c.tls);
}

ServiceConfig ParseServiceFlags(int argc, char** argv, const ServiceDefaults& defaults) {
  ParseFlagsWithEnvironment(argc, argv, absl::StrCat("journey ", defaults.name, " service"));
  ServiceConfig c;
  c.name = defaults.name;
  c.grpc_port = absl::GetFlag(FLAGS_grpc_port);
  if (c.grpc_port == -1) c.grpc_port = defaults.grpc_port;
  c.metrics_port = absl::GetFlag(FLAGS_metrics_port);
  if (c.metrics_port == -1) c.metrics_port = defaults.metrics_port;
  c.redis_url = absl::GetFlag(FLAGS_redis_url);
  c.config_dir = absl::GetFlag(FLAGS_config_dir);
  c.partitions = absl::GetFlag(FLAGS_partitions);
  c.workspace = absl::GetFlag(FLAGS_workspace);
  c.startup_deadline = absl::Seconds(absl::GetFlag(FLAGS_startup_deadline_s));
  c.drain_deadline = absl::Seconds(absl::GetFlag(FLAGS_drain_deadline_s));
  c.replica_id = absl::GetFlag(FLAGS_replica_id);
  const std::string auth = absl::GetFlag(FLAGS_auth);
  if (auth != "on" && auth != "off" && auth != "auto") {
    std::fprintf(stderr, "configuration error: --auth: '%s' is not on, auto or off\n", auth.c_str());
    std::exit(1);
  }
  c.auth_enabled = auth != "off";
  c.auth_open_until_first_key = auth == "auto";
  if (const std::string path = absl::GetFlag(FLAGS_bootstrap_admin_key_file); !path.empty()) {
    std::ifstream in(path);
    if (!in) {
      std::fprintf(stderr, "configuration error: --bootstrap_admin_key_file: '%s' cannot be read\n", path.c_str());
      std::exit(1);
    }
    std::stringstream ss;
    ss << in.rdbuf();
    c.bootstrap_admin_key = std::string(absl::StripAsciiWhitespace(ss.str()));
  } else if (const char* key = std::getenv("JOURNEY_BOOTSTRAP_ADMIN_KEY"); key != nullptr) {
    c.bootstrap_admin_key = std::string(absl::StripAsciiWhitespace(key));
  }
  c.rate_limits = absl::GetFlag(FLAGS_rate_limits);
  c.default_deadline = absl::Milliseconds(absl::GetFlag(FLAGS_default_deadline_ms));
  c.default_stream_deadline = absl::Milliseconds(absl::GetFlag(FLAGS_default_stream_deadline_ms));
  c.max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  c.max_inflight_calls = absl::GetFlag(FLAGS_max_inflight_calls);
  c.log_hash_ids = absl::GetFlag(FLAGS_log_hash_ids);
  if (c.replica_id.empty()) {
    char host[256] = {0};
    gethostname(host, sizeof(host) - 1);
    c.replica_id = absl::StrCat(host, "-", getpid());
  }
  c.health_port = absl::GetFlag(FLAGS_health_port);
  c.tls.cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  c.tls.key_file = absl::GetFlag(FLAGS_tls_key_file);
  c.tls.ca_file = absl::GetFlag(FLAGS_tls_ca_file);
  c.tls.reload_interval_s = absl::GetFlag(FLAGS_tls_reload_interval_s);
  if (!ParseClientAuth(absl::GetFlag(FLAGS_tls_client_auth), &c.tls.client_auth)) {
    std::fprintf(stderr, "configuration error: --tls_client_auth: '%s' is not none, request or require\n",
                 absl::GetFlag(FLAGS_tls_client_auth).c_str());
    std::exit(1);
  }
  if (!log::ParseLevel(absl::GetFlag(FLAGS_log_level), &c.log_level)) {
    std::fprintf(stderr, "configuration error: --log_level: '%s' is not debug, info, warn or error\n",
                 absl::GetFlag(FLAGS_log_level).c_str());
    std::exit(1);
  }
  if (auto status = ValidateServiceConfig(c); !status.ok()) {
    std::fprintf(stderr, "configuration error: %s\n", std::string(status.message()).c_str());
    std::exit(1);
  }
  log::Init(c.name, c.log_level, c.log_hash_ids);
  return c;
}

}  // namespace journey::config
