// Test fixture: a real local HTTP server (civetweb, port 0) standing in for a webhook
// receiver. Records every request's headers and body; answers scripted status codes and
// can be slow on chosen requests, so senders meet 5xx answers and timeouts.
#pragma once

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

struct mg_context;
struct mg_connection;

namespace journey::testing {

class WebhookReceiver {
 public:
  struct Request {
    std::map<std::string, std::string> headers;  // the ones asked for in the constructor
    std::string body;
  };
  explicit WebhookReceiver(std::vector<std::string> headers);
  ~WebhookReceiver();

  const std::string& url() const { return url_; }
  // Request i (1-based) is answered statuses[i-1] (200 past the end), after stalling
  // `stall_ms` when i is in `stalls`.
  void Answer(std::vector<int> statuses, std::set<int> stalls = {}, int stall_ms = 0);
  std::vector<Request> requests();

 private:
  static int Handle(mg_connection* conn, void* self);

  const std::vector<std::string> header_names_;
  mg_context* ctx_ = nullptr;
  std::string url_;
  std::mutex mu_;
  std::vector<int> statuses_;
  std::set<int> stalls_;
  int stall_ms_ = 0;
  std::vector<Request> requests_;
};

}  // namespace journey::testing
