// The HTTP transport of the Segment-compatible API on civetweb: reads the body (refusing
// oversized ones by Content-Length), hands it to SegmentHttpHandler, writes the reply.
// It is a BackgroundWorker so the runtime stops it during the drain.
#pragma once

#include <functional>
#include <memory>
#include <optional>

#include "absl/status/statusor.h"
#include "common/server/service_runtime.h"
#include "services/ingest/segment_http_handler.h"

struct mg_context;
struct mg_connection;

namespace journey::ingest {

struct HttpServerOptions {
  int port = 8080;  // 0 = pick a free port (read it back with port())
  int threads = 8;
  // Given the Authorization header ("" when absent): nullopt to serve the request, else the
  // refusal to send (401, 403, 429). Unset = every request is served.
  std::function<std::optional<HttpReply>(absl::string_view authorization)> authorize;
};

class SegmentHttpServer final : public server::BackgroundWorker {
 public:
  // Listens right away, so main() knows the port before the start-up line is logged.
  static absl::StatusOr<std::unique_ptr<SegmentHttpServer>> Listen(const HttpServerOptions& options,
                                                                    const SegmentHttpHandler* handler);
  ~SegmentHttpServer() override;

  int port() const { return port_; }
  void Start() override {}
  void Stop() override;

 private:
  SegmentHttpServer(const SegmentHttpHandler* handler, HttpServerOptions options)
      : handler_(handler), options_(std::move(options)) {}
  static int OnRequest(mg_connection* conn, void* self);

  const SegmentHttpHandler* handler_;
  HttpServerOptions options_;
  mg_context* ctx_ = nullptr;
  int port_ = 0;
};

}  // namespace journey::ingest
