#include "tests/testing/webhook_receiver.h"

#include <civetweb.h>

#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"

namespace journey::testing {

WebhookReceiver::WebhookReceiver(std::vector<std::string> headers) : header_names_(std::move(headers)) {
  const char* options[] = {"listening_ports", "127.0.0.1:0", "num_threads", "8", nullptr};
  mg_callbacks callbacks{};
  callbacks.log_message = [](const mg_connection*, const char*) { return 1; };
  ctx_ = mg_start(&callbacks, nullptr, options);
  mg_set_request_handler(ctx_, "/", &WebhookReceiver::Handle, this);
  mg_server_port ports[1];
  if (ctx_ != nullptr && mg_get_server_ports(ctx_, 1, ports) > 0) {
    url_ = absl::StrCat("http://127.0.0.1:", ports[0].port, "/hook");
  }
}

WebhookReceiver::~WebhookReceiver() {
  if (ctx_ != nullptr) mg_stop(ctx_);
}

void WebhookReceiver::Answer(std::vector<int> statuses, std::set<int> stalls, int stall_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  statuses_ = std::move(statuses);
  stalls_ = std::move(stalls);
  stall_ms_ = stall_ms;
}

std::vector<WebhookReceiver::Request> WebhookReceiver::requests() {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

int WebhookReceiver::Handle(mg_connection* conn, void* self) {
  auto* r = static_cast<WebhookReceiver*>(self);
  Request req;
  char buf[4096];
  int n;
  while ((n = mg_read(conn, buf, sizeof(buf))) > 0) req.body.append(buf, n);
  for (const std::string& name : r->header_names_) {
    const char* v = mg_get_header(conn, name.c_str());
    req.headers[name] = v ? v : "";
  }
  int status = 200, stall = 0;
  {
    std::lock_guard<std::mutex> lock(r->mu_);
    r->requests_.push_back(std::move(req));
    const size_t i = r->requests_.size();
    if (i <= r->statuses_.size()) status = r->statuses_[i - 1];
    if (r->stalls_.count(static_cast<int>(i))) stall = r->stall_ms_;
  }
  // A slow receiver (what the sender's timeout is for), not test synchronisation.
  if (stall > 0) std::this_thread::sleep_for(std::chrono::milliseconds(stall));
  mg_printf(conn, "HTTP/1.1 %d Scripted\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n", status);
  return status;
}

}  // namespace journey::testing
