// Test fixture: a real redis-server on a free loopback port with its own temp dir, started
// for a test and stopped afterwards. Never the developer's own Redis.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace journey::testing {

// A free TCP port on 127.0.0.1 (bound with port 0 and read back).
int FreePort();

class RedisServer {
 public:
  struct Options {
    bool append_only = false;  // AOF with fsync always: a restart loses nothing acknowledged
    std::vector<std::string> extra_args;
  };
  RedisServer() : RedisServer(Options{}) {}
  explicit RedisServer(Options options);
  ~RedisServer();

  absl::Status Start();  // on the same port and dir when restarted
  void Stop();           // SIGTERM and wait
  void Kill();           // SIGKILL and wait
  absl::Status Restart() {
    Stop();
    return Start();
  }

  int port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  const std::string& dir() const { return dir_; }
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }  // benchmarks read its CPU time

 private:
  Options options_;
  int port_;
  std::string dir_;
  pid_t pid_ = -1;
};

}  // namespace journey::testing
