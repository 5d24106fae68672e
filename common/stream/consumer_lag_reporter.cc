#include "common/stream/consumer_lag_reporter.h"

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/storage/keys.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"

namespace journey::stream {
namespace {

// The group's backlog from one XINFO GROUPS reply (a list of flat field/value arrays).
int64_t BacklogOf(const storage::RedisReply& groups, const std::string& group) {
  if (!groups.is_array()) return 0;
  for (const auto& g : groups.elements) {
    int64_t lag = 0, pending = 0;
    bool ours = false;
    for (size_t i = 0; i + 1 < g.elements.size(); i += 2) {
      const std::string& field = g.elements[i].str;
      const storage::RedisReply& value = g.elements[i + 1];
      if (field == "name") ours = value.str == group;
      if (field == "pending") pending = value.integer;
      // nil when Redis cannot tell (after XDEL/XSETID); the pending part still counts.
      if (field == "lag" && value.type == storage::RedisReply::Type::kInteger) lag = value.integer;
    }
    if (ours) return lag + pending;
  }
  return 0;
}

}  // namespace

ConsumerLagReporter::ConsumerLagReporter(storage::RedisClient* redis, prometheus::Registry* registry,
                                         LagReporterOptions options)
    : redis_(redis), options_(std::move(options)) {
  auto& family = prometheus::BuildGauge()
                     .Name("journey_consumer_lag_entries")
                     .Help("Stream entries the consumer group has not yet acknowledged (undelivered + pending)")
                     .Register(*registry);
  for (int p = 0; p < options_.partitions; ++p) {
    gauges_.push_back(&family.Add({{"group", options_.group}, {"partition", std::to_string(p)}}));
  }
}

ConsumerLagReporter::~ConsumerLagReporter() { Stop(); }

absl::StatusOr<int64_t> ConsumerLagReporter::ReportOnce() {
  std::vector<storage::RedisCommand> cmds;
  for (int p = 0; p < options_.partitions; ++p) cmds.push_back({"XINFO", "GROUPS", keys::EventStream(p)});
  auto replies = redis_->Pipeline(cmds);
  if (!replies.ok()) return replies.status();
  int64_t total = 0;
  for (int p = 0; p < options_.partitions; ++p) {
    // An error reply is "no such key": nothing appended to this partition yet.
    const int64_t backlog = (*replies)[p].is_error() ? 0 : BacklogOf((*replies)[p], options_.group);
    gauges_[p]->Set(static_cast<double>(backlog));
    total += backlog;
  }
  return total;
}

void ConsumerLagReporter::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (running_) return;
  running_ = true;
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    while (running_) {
      lock.unlock();
      if (auto total = ReportOnce(); !total.ok()) {
        log::Debug("consumer lag not read", {{"group", options_.group}, {"error", std::string(total.status().message())}});
      }
      lock.lock();
      stop_cv_.wait_for(lock, absl::ToChronoMilliseconds(options_.interval), [this] { return !running_; });
    }
  });
}

void ConsumerLagReporter::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!running_) return;
    running_ = false;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace journey::stream
