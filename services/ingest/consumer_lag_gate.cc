#include "services/ingest/consumer_lag_gate.h"

#include <algorithm>

#include "common/log/log.h"
#include "common/storage/keys.h"

namespace journey::ingest {
namespace {

// The lag of one XINFO GROUPS entry (a flat field/value array). Redis 7 reports `lag`; it
// is nil when it cannot be computed (entries trimmed or deleted), then the stream length
// stands in as an upper bound.
int64_t GroupLag(const storage::RedisReply& group, int64_t stream_len) {
  for (size_t i = 0; i + 1 < group.elements.size(); i += 2) {
    if (group.elements[i].str != "lag") continue;
    const auto& v = group.elements[i + 1];
    return v.is_nil() ? stream_len : v.integer;
  }
  return 0;  // Redis < 7: no lag field, no backpressure
}

}  // namespace

ConsumerLagGate::ConsumerLagGate(storage::RedisClient* redis, int partitions, BackpressureOptions options)
    : redis_(redis),
      options_(options),
      lag_(new std::atomic<int64_t>[static_cast<size_t>(std::max(1, partitions))]),
      partitions_(std::max(1, partitions)) {
  for (int p = 0; p < partitions_; ++p) lag_[p].store(0);
}

ConsumerLagGate::~ConsumerLagGate() { Stop(); }

bool ConsumerLagGate::Admits(uint32_t partition) const {
  if (options_.max_lag <= 0 || partition >= static_cast<uint32_t>(partitions_)) return true;
  return lag_[partition].load(std::memory_order_relaxed) <= options_.max_lag;
}

int64_t ConsumerLagGate::Lag(uint32_t partition) const {
  return partition < static_cast<uint32_t>(partitions_) ? lag_[partition].load() : 0;
}

absl::Status ConsumerLagGate::Refresh() {
  std::vector<storage::RedisCommand> cmds;
  for (int p = 0; p < partitions_; ++p) {
    cmds.push_back({"XLEN", keys::EventStream(p)});
    cmds.push_back({"XINFO", "GROUPS", keys::EventStream(p)});
  }
  auto replies = redis_->Pipeline(cmds);
  if (!replies.ok()) return replies.status();
  for (int p = 0; p < partitions_; ++p) {
    const int64_t len = (*replies)[2 * p].integer;
    const auto& groups = (*replies)[2 * p + 1];
    int64_t worst = 0;  // no stream or no group yet: nothing is behind
    if (groups.is_array()) {
      for (const auto& g : groups.elements) worst = std::max(worst, GroupLag(g, len));
    }
    lag_[p].store(worst, std::memory_order_relaxed);
  }
  return absl::OkStatus();
}

void ConsumerLagGate::Start() {
  if (options_.max_lag <= 0 || thread_.joinable()) return;
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_) {
      lock.unlock();
      if (auto st = Refresh(); !st.ok()) log::Debug("lag refresh failed", {{"error", std::string(st.message())}});
      lock.lock();
      wake_.wait_for(lock, absl::ToChronoMilliseconds(options_.refresh_every), [this] { return stopping_; });
    }
  });
}

void ConsumerLagGate::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace journey::ingest
