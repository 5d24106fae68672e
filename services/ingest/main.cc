// journey-ingest: wiring only. Parse flags, build dependencies, serve, drain on SIGTERM.
#include <cstdio>

#include "absl/flags/flag.h"
#include "common/config/service_config.h"
#include "common/log/log.h"
#include "common/server/service_runtime.h"
#include "services/ingest/consumer_lag_gate.h"
#include "services/ingest/ingest_logic.h"
#include "services/ingest/ingest_metrics.h"
#include "services/ingest/ingest_service.h"
#include "services/ingest/segment_http_handler.h"
#include "services/ingest/segment_http_server.h"
#include "services/ingest/segment_write_key.h"

ABSL_FLAG(int, http_port, 8080, "Segment-compatible HTTP endpoint port (0 = pick a free port)");
ABSL_FLAG(absl::Duration, dedup_window, absl::Hours(24), "How long a message_id is remembered for dedup");
ABSL_FLAG(int64_t, stream_maxlen, 1'000'000, "Approximate retention per stream partition (XADD MAXLEN ~); 0 = unbounded");
ABSL_FLAG(absl::Duration, stream_max_age, absl::ZeroDuration(),
          "Retention by age (XADD MINID ~ now - age); when set it replaces --stream_maxlen; 0 = off");
ABSL_FLAG(int64_t, max_consumer_lag, 500'000,
          "Answer RESOURCE_EXHAUSTED when a consumer group lags more entries behind on a partition; 0 = off");
ABSL_FLAG(absl::Duration, max_event_age, absl::ZeroDuration(),
          "Reject events older than this (0 = any age after 2000-01-01, for historical imports)");
ABSL_FLAG(absl::Duration, max_future_skew, absl::Hours(1), "Reject events timestamped further in the future");

int main(int argc, char** argv) {
  using namespace journey;
  config::ServiceConfig cfg = config::ParseServiceFlags(argc, argv, {"ingest", 50051, 9091});
  auto runtime = server::ServiceRuntime::Create(cfg);
  if (!runtime.ok()) {
    std::fprintf(stderr, "configuration error: %s\n", std::string(runtime.status().message()).c_str());
    return server::kExitConfig;
  }
  if (auto up = (*runtime)->WaitForRedis(); !up.ok()) {
    log::Error("dependency unreachable", {{"error", std::string(up.message())}});
    return server::kExitDependency;
  }

  ingest::IngestLimits limits;
  limits.max_age = absl::GetFlag(FLAGS_max_event_age);
  limits.max_future = absl::GetFlag(FLAGS_max_future_skew);
  ingest::AppendOptions append;
  append.workspace = cfg.workspace;
  append.partitions = cfg.partitions;
  append.dedup_window = absl::GetFlag(FLAGS_dedup_window);
  append.stream_maxlen = absl::GetFlag(FLAGS_stream_maxlen);
  append.stream_max_age = absl::GetFlag(FLAGS_stream_max_age);
  append.single_redis = cfg.redis_url.rfind("redis+cluster://", 0) != 0;
  ingest::BackpressureOptions backpressure;
  backpressure.max_lag = absl::GetFlag(FLAGS_max_consumer_lag);

  storage::RedisClient* redis = (*runtime)->redis();
  ingest::IngestMetrics metrics((*runtime)->metrics());
  ingest::ConsumerLagGate lag_gate(redis, cfg.partitions, backpressure);
  ingest::IngestLogic logic({redis, RealClock::Get(), &metrics, &lag_gate}, limits, append);
  ingest::IngestService service(&logic);
  ingest::SegmentHttpHandler http_handler(&logic);
  ingest::HttpServerOptions http_options;
  http_options.port = absl::GetFlag(FLAGS_http_port);
  auth::CallGate* gate = (*runtime)->call_gate();
  http_options.authorize = [gate](absl::string_view authorization) { return ingest::CheckWriteKey(gate, authorization); };
  auto http = ingest::SegmentHttpServer::Listen(http_options, &http_handler);
  if (!http.ok()) {
    std::fprintf(stderr, "configuration error: %s\n", std::string(http.status().message()).c_str());
    return server::kExitConfig;
  }
  (*runtime)->AddPort("http", (*http)->port());
  (*runtime)->AddWorker(http->get());
  (*runtime)->AddWorker(&lag_gate);
  (*runtime)->AddService(&service, "journey.ingest.v1.Ingest");
  return (*runtime)->Run();
}
