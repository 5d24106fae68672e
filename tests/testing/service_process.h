// Test fixture: one of the real service binaries, started as a child process by the runtime
// conventions (flags, free ports), waited for until grpc.health.v1 reports SERVING.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace journey::testing {

// Path of a built binary: services/<name>/journey-<name> under the build tree.
std::string ServiceBinary(const std::string& name);

class ServiceProcess {
 public:
  // `name` is ingest, journey, persona or recommend.
  ServiceProcess(std::string name, std::string redis_url, std::map<std::string, std::string> extra_flags = {});
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
  std::string name_;
  std::string redis_url_;
  std::map<std::string, std::string> extra_flags_;
  int grpc_port_;
  int metrics_port_;
  int http_port_;
  std::string log_path_;
  pid_t pid_ = -1;
  std::shared_ptr<grpc::Channel> channel_;
  std::shared_ptr<grpc::ChannelCredentials> credentials_;
};

}  // namespace journey::testing
