// Test fixture: one of the real service binaries, started as a child process by the runtime
// conventions (flags, free ports), waited for until grpc.health.v1 reports SERVING.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <utility>

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace journey::testing {

// Path of a built binary: services/<name>/journey-<name> under the build tree.
std::string ServiceBinary(const std::string& name);

class ServiceProcess {
 public:
  // `name` is ingest, journey, persona or recommend. Unless `extra_flags` sets "auth", the
  // binary runs with --auth=off (tests of the services' behaviour), or with --auth=on when
  // a bootstrap admin key is set.
  ServiceProcess(std::string name, std::string redis_url, std::map<std::string, std::string> extra_flags = {});
  // Sets JOURNEY_BOOTSTRAP_ADMIN_KEY for the child (and with it --auth=on).
  void set_bootstrap_admin_key(std::string key) { bootstrap_admin_key_ = std::move(key); }
  ~ServiceProcess();

  absl::Status Start(absl::Duration deadline = absl::Seconds(20));  // same ports on restart
  // SIGTERM, wait; returns the exit code (or -signal).
  int Stop(absl::Duration wait = absl::Seconds(15));
  void Kill();  // SIGKILL, wait

  bool Serving(const std::string& service = "");
  // Credentials of channel() and the health checks (plaintext unless set), e.g. TLS roots.
  void set_channel_credentials(std::shared_ptr<grpc::ChannelCredentials> credentials) {
    credentials_ = std::move(credentials);
    channel_.reset();
  }
  std::shared_ptr<grpc::Channel> channel();
  int grpc_port() const { return grpc_port_; }
  int http_port() const { return http_port_; }
  int metrics_port() const { return metrics_port_; }
  const std::string& log_path() const { return log_path_; }
  std::string LogTail(size_t bytes = 2000) const;
  pid_t pid() const { return pid_; }

 private:
  absl::Status StartOnce(absl::Duration deadline);

  std::string name_;
  std::string redis_url_;
  std::map<std::string, std::string> extra_flags_;
  std::string bootstrap_admin_key_;
  int grpc_port_;
  int metrics_port_;
  int http_port_;
  std::string log_path_;
  pid_t pid_ = -1;
  bool served_once_ = false;  // until then a start that lost its port to a race is retried
  std::shared_ptr<grpc::Channel> channel_;
  std::shared_ptr<grpc::ChannelCredentials> credentials_;
};

}  // namespace journey::testing
