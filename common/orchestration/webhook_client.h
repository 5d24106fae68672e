// One HTTP POST to the action webhook (libcurl, one connection reused): the answer's status
// code, or Unavailable when no answer came (refused, reset, timed out).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace journey::orchestration {

class WebhookClient {
 public:
  WebhookClient(std::string url, absl::Duration timeout);
  ~WebhookClient();
  WebhookClient(const WebhookClient&) = delete;
  WebhookClient& operator=(const WebhookClient&) = delete;

  absl::StatusOr<long> Post(const std::string& body, const std::vector<std::pair<std::string, std::string>>& headers);

 private:
  const std::string url_;
  const absl::Duration timeout_;
  void* curl_ = nullptr;  // CURL*, kept for connection reuse
};

}  // namespace journey::orchestration
