// The HTTP transport of the Segment-compatible API on civetweb: reads the body (refusing
// oversized ones by Content-Length), hands it to SegmentHttpHandler, writes the reply.
// It is a BackgroundWorker so the runtime stops it during the drain.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "common/server/service_runtime.h"
#include "services/ingest/segment_http_handler.h"

struct mg_context;
struct mg_connection;

namespace journey::ingest {

struct HttpServerOptions {
  int port = 8080;  // 0 = pick a free port (read it back with port())
  int threads = 8;
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
  explicit SegmentHttpServer(const SegmentHttpHandler* handler) : handler_(handler) {}
  static int OnRequest(mg_connection* conn, void* self);

  const SegmentHttpHandler* handler_;
  mg_context* ctx_ = nullptr;
  int port_ = 0;
};

}  // namespace journey::ingest
