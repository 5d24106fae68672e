#include "tests/testing/service_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <fstream>
#include <mutex>
#include <sstream>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/server/health_check_client.h"
#include "tests/testing/redis_server.h"

namespace journey::testing {

std::string ServiceBinary(const std::string& name) {
  return absl::StrCat(JOURNEY_BUILD_DIR, "/services/", name, "/journey-", name);
}

ServiceProcess::ServiceProcess(std::string name, std::string redis_url, std::map<std::string, std::string> extra)
    : name_(std::move(name)),
      redis_url_(std::move(redis_url)),
      extra_flags_(std::move(extra)),
      grpc_port_(FreePort()),
      metrics_port_(FreePort()),
      http_port_(FreePort()) {
  char tmpl[] = "/tmp/journey-svc-XXXXXX";
  log_path_ = absl::StrCat(mkdtemp(tmpl), "/", name_, ".log");
}

ServiceProcess::~ServiceProcess() {
  if (pid_ > 0) Kill();
}

absl::Status ServiceProcess::Start(absl::Duration deadline) {
  // FreePort() only finds a port free at that moment; with tests running in parallel another
  // process can take it before the child binds. Until this process has served once, such a
  // start is retried on fresh ports (later starts keep theirs: same ports on restart).
  for (int attempt = 0;; ++attempt) {
    absl::Status started = StartOnce(deadline);
    if (started.ok()) {
      served_once_ = true;
      return started;
    }
    const bool port_taken = absl::StrContains(started.message(), "cannot listen") ||
                            absl::StrContains(started.message(), "Address already in use");
    if (served_once_ || !port_taken || attempt >= 3) return started;
    grpc_port_ = FreePort();
    metrics_port_ = FreePort();
    http_port_ = FreePort();
  }
}

absl::Status ServiceProcess::StartOnce(absl::Duration deadline) {
  std::vector<std::string> args = {ServiceBinary(name_),
                                   absl::StrCat("--grpc_port=", grpc_port_),
                                   absl::StrCat("--metrics_port=", metrics_port_),
                                   absl::StrCat("--redis_url=", redis_url_)};
  if (name_ == "ingest") args.push_back(absl::StrCat("--http_port=", http_port_));
  for (const auto& [k, v] : extra_flags_) args.push_back(absl::StrCat("--", k, "=", v));
  if (extra_flags_.count("auth") == 0) args.push_back(bootstrap_admin_key_.empty() ? "--auth=off" : "--auth=on");
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    if (!bootstrap_admin_key_.empty()) setenv("JOURNEY_BOOTSTRAP_ADMIN_KEY", bootstrap_admin_key_.c_str(), 1);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  pid_ = pid;
  channel_.reset();
  const absl::Time end = absl::Now() + deadline;
  while (absl::Now() < end) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::InternalError(absl::StrCat(name_, " exited at start: ", LogTail()));
    }
    if (Serving()) return absl::OkStatus();
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError(absl::StrCat(name_, " not SERVING within deadline: ", LogTail()));
}

std::shared_ptr<grpc::Channel> ServiceProcess::channel() {
  if (!channel_) {
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", grpc_port_),
                                   credentials_ ? credentials_ : grpc::InsecureChannelCredentials());
  }
  return channel_;
}

bool ServiceProcess::Serving(const std::string& service) {
  return server::IsServing(channel(), service, 300);
}

int ServiceProcess::Stop(absl::Duration wait) {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  const absl::Time end = absl::Now() + wait;
  int status = 0;
  while (absl::Now() < end) {
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  Kill();
  return -SIGKILL;
}

void ServiceProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::string ServiceProcess::LogTail(size_t bytes) const {
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string all = ss.str();
  return all.size() > bytes ? all.substr(all.size() - bytes) : all;
}

}  // namespace journey::testing
