// webhook_sink: a tiny local receiver for journey's action webhook (the demo in
// scripts/run-local.sh, or a developer watching triggered actions). Every POST is checked
// against the shared secret (X-Journey-Signature = sha256=HMAC-SHA256(secret,
// "<X-Journey-Timestamp>.<body>")) and printed to stdout as one JSON line:
//   {"verified":true,"idempotency_key":"...","attempt":"1","timestamp":"...","action":{...}}
// Verified calls are answered 200, others 401 (the sender retries, then dead-letters them).
#include <civetweb.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "common/orchestration/webhook_signature.h"

ABSL_FLAG(int, port, 0, "port to listen on, 127.0.0.1 only (0 = pick a free one)");
ABSL_FLAG(std::string, secret_file, "", "file holding the webhook's HMAC secret (trailing newline ignored)");

namespace {

namespace orch = journey::orchestration;

struct Sink {
  std::string secret;
  std::mutex mu;
};

std::string Header(mg_connection* conn, absl::string_view name) {
  const char* v = mg_get_header(conn, std::string(name).c_str());
  return v != nullptr ? v : "";
}

int Handle(mg_connection* conn, void* data) {
  auto* sink = static_cast<Sink*>(data);
  std::string body;
  char buf[4096];
  int n;
  while ((n = mg_read(conn, buf, sizeof(buf))) > 0) body.append(buf, n);
  const std::string timestamp = Header(conn, orch::kTimestampHeader);
  const bool verified = !timestamp.empty() &&
                        orch::VerifyWebhookSignature(sink->secret, timestamp, body, Header(conn, orch::kSignatureHeader));
  nlohmann::json line;
  line["verified"] = verified;
  line["idempotency_key"] = Header(conn, orch::kIdempotencyHeader);
  line["attempt"] = Header(conn, orch::kAttemptHeader);
  line["timestamp"] = timestamp;
  nlohmann::json action = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (action.is_discarded()) {
    line["body"] = body;
  } else {
    line["action"] = std::move(action);
  }
  const std::string text = line.dump() + "\n";
  {
    std::lock_guard<std::mutex> lock(sink->mu);
    std::fputs(text.c_str(), stdout);
    std::fflush(stdout);
  }
  const int status = verified ? 200 : 401;
  mg_printf(conn, "HTTP/1.1 %d %s\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n", status,
            verified ? "OK" : "Bad Signature");
  return status;
}

volatile std::sig_atomic_t stop = 0;

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("webhook_sink --secret_file=F [--port=P]: prints each webhook call as a JSON line");
  absl::ParseCommandLine(argc, argv);
  Sink sink;
  std::ifstream in(absl::GetFlag(FLAGS_secret_file));
  if (!in) {
    std::fprintf(stderr, "configuration error: --secret_file: cannot read '%s'\n",
                 absl::GetFlag(FLAGS_secret_file).c_str());
    return 1;
  }
  std::stringstream text;
  text << in.rdbuf();
  sink.secret = text.str();
  while (!sink.secret.empty() && (sink.secret.back() == '\n' || sink.secret.back() == '\r')) sink.secret.pop_back();
  if (sink.secret.empty()) {
    std::fprintf(stderr, "configuration error: --secret_file: '%s' is empty\n", absl::GetFlag(FLAGS_secret_file).c_str());
    return 1;
  }
  const std::string ports = absl::StrCat("127.0.0.1:", absl::GetFlag(FLAGS_port));
  const char* options[] = {"listening_ports", ports.c_str(), "num_threads", "4", nullptr};
  mg_callbacks callbacks{};
  callbacks.log_message = [](const mg_connection*, const char*) { return 1; };
  mg_context* ctx = mg_start(&callbacks, nullptr, options);
  if (ctx == nullptr) {
    std::fprintf(stderr, "configuration error: --port: cannot listen on %s\n", ports.c_str());
    return 1;
  }
  mg_set_request_handler(ctx, "/", &Handle, &sink);
  mg_server_port bound[1];
  if (mg_get_server_ports(ctx, 1, bound) > 0) {
    std::fprintf(stderr, "webhook_sink listening on http://127.0.0.1:%d/\n", bound[0].port);
  }
  std::signal(SIGTERM, [](int) { stop = 1; });
  std::signal(SIGINT, [](int) { stop = 1; });
  while (!stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  mg_stop(ctx);
  return 0;
}
