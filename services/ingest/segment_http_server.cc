#include "services/ingest/segment_http_server.h"

#include <civetweb.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"

namespace journey::ingest {
namespace {

const char* Reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 429: return "Too Many Requests";
    case 503: return "Service Unavailable";
    default: return "Internal Server Error";
  }
}

void Send(mg_connection* conn, const HttpReply& reply) {
  const bool retry = reply.status == 429 || reply.status == 503;
  mg_printf(conn, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n%s\r\n", reply.status,
            Reason(reply.status), reply.body.size(), retry ? "Retry-After: 1\r\n" : "");
  mg_write(conn, reply.body.data(), reply.body.size());
}

}  // namespace

absl::StatusOr<std::unique_ptr<SegmentHttpServer>> SegmentHttpServer::Listen(const HttpServerOptions& options,
                                                                            const SegmentHttpHandler* handler) {
  std::unique_ptr<SegmentHttpServer> server(new SegmentHttpServer(handler, options));
  const std::string port = absl::StrCat(options.port);
  const std::string threads = absl::StrCat(options.threads);
  const char* mg_options[] = {"listening_ports", port.c_str(), "num_threads", threads.c_str(),
                              "enable_keep_alive", "yes", "request_timeout_ms", "10000", nullptr};
  mg_callbacks callbacks{};
  // civetweb logs to stderr by default; keep stderr for our JSON lines only.
  callbacks.log_message = [](const mg_connection*, const char* message) {
    log::Warn("http server", {{"detail", message}});
    return 1;
  };
  server->ctx_ = mg_start(&callbacks, nullptr, mg_options);
  if (server->ctx_ == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("--http_port=", options.port, ": cannot listen"));
  }
  mg_set_request_handler(server->ctx_, "/", &SegmentHttpServer::OnRequest, server.get());
  mg_server_port ports[4];
  const int n = mg_get_server_ports(server->ctx_, 4, ports);
  server->port_ = n > 0 ? ports[0].port : options.port;
  return server;
}

SegmentHttpServer::~SegmentHttpServer() { Stop(); }

void SegmentHttpServer::Stop() {
  if (ctx_ != nullptr) {
    mg_stop(ctx_);  // finishes requests in flight
    ctx_ = nullptr;
  }
}

int SegmentHttpServer::OnRequest(mg_connection* conn, void* self) {
  const auto* server = static_cast<SegmentHttpServer*>(self);
  const mg_request_info* info = mg_get_request_info(conn);
  if (server->options_.authorize) {
    const char* authorization = mg_get_header(conn, "Authorization");
    if (auto refused = server->options_.authorize(authorization != nullptr ? authorization : "")) {
      Send(conn, *refused);
      return refused->status;
    }
  }
  const size_t limit = server->handler_->max_body_bytes();
  if (info->content_length > static_cast<long long>(limit)) {
    const HttpReply reply = server->handler_->BodyTooLarge();
    Send(conn, reply);
    return reply.status;
  }
  // Read at most limit + 1 bytes: enough to tell an oversized chunked body from a fine one.
  std::string body;
  char buf[16384];
  while (body.size() <= limit) {
    const int n = mg_read(conn, buf, sizeof(buf));
    if (n <= 0) break;
    body.append(buf, static_cast<size_t>(n));
  }
  const HttpReply reply = server->handler_->Handle(info->request_method, info->local_uri, body);
  Send(conn, reply);
  return reply.status;
}

}  // namespace journey::ingest
