#include "common/stream/partitioned_consumer.h"

#include <algorithm>
#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/storage/keys.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace journey::stream {
namespace {

using storage::RedisCommand;
using storage::RedisReply;

// Renews a lease only while we still hold it.
constexpr char kRenewScript[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) "
    "else return 0 end";
// Takes a free lease, or renews one that is already ours (a replica that lost sight of Redis
// for a moment, or restarted under a stable --replica_id, need not wait for its own TTL).
constexpr char kAcquireScript[] =
    "local v = redis.call('GET', KEYS[1]) "
    "if not v then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end "
    "if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end "
    "return 0";
constexpr char kReleaseScript[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";

int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

// One decimal part of an entry id; empty, non-digits or over 20 digits read as 0. Called a
// few times per entry on the apply path, so it neither allocates nor goes through the general
// number parser.
uint64_t ParseIdPart(absl::string_view part) {
  if (part.empty() || part.size() > 20) return 0;
  uint64_t v = 0;
  for (char c : part) {
    if (c < '0' || c > '9') return 0;
    const uint64_t next = v * 10 + static_cast<uint64_t>(c - '0');
    if (next / 10 != v) return 0;  // overflow
    v = next;
  }
  return v;
}

// Parses one stream's entries ([[id, [field, value, ...]], ...]). Entries trimmed away while
// pending come back with nil fields: they are acknowledged and skipped.
void ParseEntries(const RedisReply& entries, std::vector<StreamEntry>* out, std::vector<std::string>* dead) {
  for (const RedisReply& e : entries.elements) {
    if (!e.is_array() || e.elements.size() < 2) continue;
    const std::string& id = e.elements[0].str;
    const RedisReply& fields = e.elements[1];
    bool parsed = false;
    if (fields.is_array()) {
      for (size_t i = 0; i + 1 < fields.elements.size(); i += 2) {
        if (fields.elements[i].str == "e") {
          StreamEntry entry;
          entry.id = id;
          if (entry.envelope.ParseFromString(fields.elements[i + 1].str)) {
            out->push_back(std::move(entry));
            parsed = true;
          }
          break;
        }
      }
    }
    if (!parsed) dead->push_back(id);
  }
}

}  // namespace

struct PartitionedConsumer::Metrics {
  prometheus::Counter* entries;
  prometheus::Counter* failures;
  prometheus::Gauge* owned;
  prometheus::Histogram* batch_seconds;
  prometheus::Histogram* read_delay_seconds;
};

PartitionedConsumer::PartitionedConsumer(storage::RedisClient* redis, EntryHandler* handler,
                                         ConsumerOptions options, prometheus::Registry* registry)
    : redis_(redis), handler_(handler), options_(std::move(options)) {
  if (registry != nullptr) {
    metrics_ = std::make_unique<Metrics>();
    metrics_->entries = &prometheus::BuildCounter()
                             .Name("journey_consumer_entries_total")
                             .Help("Stream entries applied")
                             .Register(*registry)
                             .Add({{"group", options_.group}});
    metrics_->failures = &prometheus::BuildCounter()
                              .Name("journey_consumer_batch_failures_total")
                              .Help("Batches that failed and stay pending")
                              .Register(*registry)
                              .Add({{"group", options_.group}});
    metrics_->owned = &prometheus::BuildGauge()
                           .Name("journey_consumer_owned_partitions")
                           .Help("Partitions leased by this replica")
                           .Register(*registry)
                           .Add({{"group", options_.group}});
    metrics_->batch_seconds =
        &prometheus::BuildHistogram()
             .Name("journey_consumer_batch_seconds")
             .Help("Time one apply thread takes for its batches of a poll")
             .Register(*registry)
             .Add({{"group", options_.group}},
                  prometheus::Histogram::BucketBoundaries{0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5});
    metrics_->read_delay_seconds =
        &prometheus::BuildHistogram()
             .Name("journey_consumer_read_delay_seconds")
             .Help("Age of a batch's oldest entry when read (its entry id's time to now; Redis's clock)")
             .Register(*registry)
             .Add({{"group", options_.group}},
                  prometheus::Histogram::BucketBoundaries{0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1});
  }
}

PartitionedConsumer::~PartitionedConsumer() { Stop(); }

StreamPosition PartitionedConsumer::ParsePosition(absl::string_view id) {
  const size_t dash = id.find('-');
  StreamPosition p;
  p.ms = ParseIdPart(id.substr(0, dash));
  if (dash != absl::string_view::npos) p.seq = ParseIdPart(id.substr(dash + 1));
  return p;
}

bool PartitionedConsumer::IdLessOrEqual(const std::string& a, const std::string& b) {
  return ParsePosition(a) <= ParsePosition(b);
}

void PartitionedConsumer::Start() {
  if (running_.exchange(true)) return;
  lease_thread_ = std::thread([this] { LeaseLoop(); });
  const size_t lanes = static_cast<size_t>(std::max(1, options_.apply_threads));
  for (size_t i = 0; i < lanes; ++i) {
    lanes_.push_back(std::make_unique<Lane>());
    lanes_.back()->index = i;
  }
  for (auto& lane : lanes_) {
    Lane* l = lane.get();
    l->thread = std::thread([this, l] { ConsumeLoop(l); });
  }
}

void PartitionedConsumer::Stop() {
  if (!running_.exchange(false)) return;
  stop_cv_.notify_all();
  for (auto& lane : lanes_) {
    if (lane->thread.joinable()) lane->thread.join();
  }
  lanes_.clear();
  if (lease_thread_.joinable()) lease_thread_.join();
  ReleaseAll();
}

std::vector<uint32_t> PartitionedConsumer::OwnedPartitions() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<uint32_t> out;
  for (const auto& [p, lease] : owned_) out.push_back(p);
  return out;
}

void PartitionedConsumer::SetMode(uint32_t partition, Mode mode) {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = owned_.find(partition); it != owned_.end()) it->second.mode = mode;
}

void PartitionedConsumer::LeaseLoop() {
  while (running_) {
    RefreshLeases();
    std::unique_lock<std::mutex> lock(mu_);
    stop_cv_.wait_for(lock, absl::ToChronoMilliseconds(options_.lease_refresh), [this] { return !running_; });
  }
}

void PartitionedConsumer::RefreshLeases() {
  const absl::Time sent = absl::Now();
  const int64_t now = absl::ToUnixMillis(sent);
  const std::string ttl_ms = std::to_string(absl::ToInt64Milliseconds(options_.lease_ttl));
  const std::string members = keys::GroupMembers(options_.group);
  std::vector<uint32_t> owned = OwnedPartitions();

  // Heartbeat, count live replicas, renew what we hold.
  std::vector<RedisCommand> cmds = {
      {"ZADD", members, std::to_string(now + absl::ToInt64Milliseconds(options_.lease_ttl)), options_.replica_id},
      {"ZREMRANGEBYSCORE", members, "-inf", std::to_string(now)},
      {"ZCARD", members},
  };
  for (uint32_t p : owned) {
    cmds.push_back({"EVAL", kRenewScript, "1", keys::PartitionLease(options_.group, p), options_.replica_id, ttl_ms});
  }
  auto replies = redis_->Pipeline(cmds);
  if (!replies.ok()) {
    // Without Redis we cannot prove we still own anything; stop consuming until it returns.
    log::Warn("lease refresh failed", {{"group", options_.group}, {"error", std::string(replies.status().message())}});
    std::lock_guard<std::mutex> lock(mu_);
    owned_.clear();
    releasing_.clear();
    if (metrics_) metrics_->owned->Set(0);
    return;
  }
  const int live = std::max<long long>(1, (*replies)[2].integer);
  std::vector<uint32_t> lost;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t i = 0; i < owned.size(); ++i) {
      if ((*replies)[3 + i].integer != 1) {
        lost.push_back(owned[i]);
      } else if (auto it = owned_.find(owned[i]); it != owned_.end()) {
        it->second.valid_until = sent + options_.lease_ttl;
      }
    }
    for (uint32_t p : lost) {
      owned_.erase(p);
      releasing_.erase(p);
    }
  }
  for (uint32_t p : lost) log::Warn("lease lost", {{"group", options_.group}, {"partition", std::to_string(p)}});

  const int fair_share = (options_.partitions + live - 1) / live;
  {
    // Partitions already being handed back do not count.
    std::lock_guard<std::mutex> lock(mu_);
    owned.clear();
    for (const auto& [p, lease] : owned_) {
      if (releasing_.count(p) == 0) owned.push_back(p);
    }
  }
  if (static_cast<int>(owned.size()) > fair_share) {
    // Hand extras back so a joining replica gets its share. The partition's lane releases
    // the lease between two of its polls: released here, a poll of the lane already under
    // way (a blocked read, say) could still read entries of the partition after the next
    // owner started on it, and apply them before the next owner's earlier ones, whose
    // batch the watermark fence then refuses and skips for good.
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t i = fair_share; i < owned.size(); ++i) releasing_.insert(owned[i]);
  } else if (static_cast<int>(owned.size()) < fair_share) {
    // Try free partitions, starting at a replica-specific offset to spread the first grabs.
    // Not those being handed back either: the acquire script would take our own lease again.
    const std::vector<uint32_t> held = OwnedPartitions();
    std::vector<uint32_t> candidates;
    const uint32_t start = keys::PartitionOf(options_.replica_id, options_.partitions);
    for (int i = 0; i < options_.partitions; ++i) {
      uint32_t p = (start + i) % options_.partitions;
      if (std::find(held.begin(), held.end(), p) == held.end()) candidates.push_back(p);
    }
    std::vector<RedisCommand> grabs;
    for (uint32_t p : candidates) {
      grabs.push_back({"EVAL", kAcquireScript, "1", keys::PartitionLease(options_.group, p), options_.replica_id, ttl_ms});
    }
    const absl::Time grab_sent = absl::Now();
    auto got = redis_->Pipeline(grabs);
    if (!got.ok()) return;
    int have = static_cast<int>(owned.size());
    std::vector<RedisCommand> give_back;
    for (size_t i = 0; i < candidates.size(); ++i) {
      if ((*got)[i].integer != 1) continue;  // taken by someone else
      if (have >= fair_share) {
        give_back.push_back({"EVAL", kReleaseScript, "1", keys::PartitionLease(options_.group, candidates[i]),
                             options_.replica_id});
        continue;
      }
      OnAcquired(candidates[i], grab_sent + options_.lease_ttl);
      ++have;
    }
    if (!give_back.empty()) (void)redis_->Pipeline(give_back);
  }
  if (metrics_) metrics_->owned->Set(static_cast<double>(OwnedPartitions().size()));
}

void PartitionedConsumer::OnAcquired(uint32_t partition, absl::Time valid_until) {
  const std::string stream = keys::EventStream(partition);
  auto created = redis_->Pipeline({{"XGROUP", "CREATE", stream, options_.group, "0", "MKSTREAM"}});
  if (!created.ok()) return;  // BUSYGROUP (already exists) is an error reply, which is fine
  // Take over whatever a previous owner left pending; the lease guarantees it is not working.
  std::string cursor = "0-0";
  for (int rounds = 0; rounds < 1000; ++rounds) {
    auto claimed = redis_->Command({"XAUTOCLAIM", stream, options_.group, options_.replica_id, "0", cursor, "COUNT",
                                    "1000", "JUSTID"});
    if (!claimed.ok() || !claimed->is_array() || claimed->elements.empty()) break;
    cursor = claimed->elements[0].str;
    if (cursor == "0-0") break;
  }
  std::lock_guard<std::mutex> lock(mu_);
  owned_[partition] = Lease{Mode::kRecovering, valid_until};
  log::Info("partition acquired", {{"group", options_.group}, {"partition", std::to_string(partition)}});
}

void PartitionedConsumer::ReleaseAll() {
  std::vector<RedisCommand> cmds;
  for (uint32_t p : OwnedPartitions()) {
    cmds.push_back({"EVAL", kReleaseScript, "1", keys::PartitionLease(options_.group, p), options_.replica_id});
  }
  cmds.push_back({"ZREM", keys::GroupMembers(options_.group), options_.replica_id});
  (void)redis_->Pipeline(cmds);
  std::lock_guard<std::mutex> lock(mu_);
  owned_.clear();
  releasing_.clear();
}

void PartitionedConsumer::ConsumeLoop(Lane* lane) {
  while (running_) {
    bool did_work = false;
    ConsumeOnce(lane, &did_work);
    // Found nothing: with block_read the next read blocks until an entry comes (no sleep
    // needed); while entries keep coming it polls, so batches fill up between reads.
    lane->idle = !did_work;
    const bool next_blocks = options_.block_read > absl::ZeroDuration() && !LaneWork(*lane).empty();
    if (!did_work && !next_blocks) {
      std::unique_lock<std::mutex> lock(mu_);
      stop_cv_.wait_for(lock, absl::ToChronoMicroseconds(options_.idle_poll), [this] { return !running_; });
    }
  }
  FlushAcks(lane);
}

void PartitionedConsumer::FlushAcks(Lane* lane) {
  if (lane->pending_acks.empty()) return;
  (void)redis_->Pipeline(lane->pending_acks);
  lane->pending_acks.clear();
}

std::vector<std::pair<uint32_t, PartitionedConsumer::Mode>> PartitionedConsumer::LaneWork(const Lane& lane) const {
  const size_t lanes = std::max<size_t>(1, lanes_.size());
  // A blocked read takes entries when they come, up to block_read later: the lease must
  // outlast that, with room for a late renewal.
  const absl::Time horizon = absl::Now() + options_.block_read + options_.lease_ttl / 3;
  std::vector<std::pair<uint32_t, Mode>> work;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [p, lease] : owned_) {
    if (p % lanes == lane.index && lease.valid_until > horizon) work.emplace_back(p, lease.mode);
  }
  return work;
}

void PartitionedConsumer::ReleaseHandedBack(Lane* lane) {
  const size_t lanes = std::max<size_t>(1, lanes_.size());
  std::vector<RedisCommand> cmds;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = releasing_.begin(); it != releasing_.end();) {
      const uint32_t p = *it;
      if (p % lanes != lane->index) {
        ++it;
        continue;
      }
      owned_.erase(p);
      it = releasing_.erase(it);
      cmds.push_back({"EVAL", kReleaseScript, "1", keys::PartitionLease(options_.group, p), options_.replica_id});
    }
  }
  if (cmds.empty()) return;
  // The acknowledgements first, so the next owner finds as little as possible pending.
  std::vector<RedisCommand> all = std::move(lane->pending_acks);
  lane->pending_acks.clear();
  for (auto& c : cmds) all.push_back(std::move(c));
  (void)redis_->Pipeline(all);
}

void PartitionedConsumer::ConsumeOnce(Lane* lane, bool* did_work) {
  ReleaseHandedBack(lane);
  // A partition always belongs to the same lane, so its batches stay in order.
  std::vector<std::pair<uint32_t, Mode>> work = LaneWork(*lane);
  if (work.empty()) {
    FlushAcks(lane);
    return;
  }
  // The previous batches' acknowledgements go first in the same round trip.
  std::vector<RedisCommand> reads = std::move(lane->pending_acks);
  lane->pending_acks.clear();
  const size_t first_read = reads.size();
  // Blocking only after a poll that found nothing: a blocked read is answered on the first
  // append, and reading that way under steady load would make many tiny batches.
  const bool blocking = options_.block_read > absl::ZeroDuration() && lane->idle;
  absl::Duration timeout = absl::ZeroDuration();
  if (blocking) {
    // One command over every partition's stream; a recovering partition's "0" (its pending
    // entries) makes Redis answer at once.
    RedisCommand read = {"XREADGROUP", "GROUP", options_.group, options_.replica_id, "COUNT",
                         std::to_string(options_.batch_size), "BLOCK",
                         std::to_string(absl::ToInt64Milliseconds(options_.block_read)), "STREAMS"};
    for (const auto& [p, mode] : work) read.push_back(keys::EventStream(p));
    for (const auto& [p, mode] : work) read.push_back(mode == Mode::kRecovering ? "0" : ">");
    reads.push_back(std::move(read));
    timeout = options_.block_read + absl::Seconds(5);
  } else {
    for (const auto& [p, mode] : work) {
      reads.push_back({"XREADGROUP", "GROUP", options_.group, options_.replica_id, "COUNT",
                       std::to_string(options_.batch_size), "STREAMS", keys::EventStream(p),
                       mode == Mode::kRecovering ? "0" : ">"});
    }
  }
  auto all_replies = redis_->Pipeline(reads, timeout);
  if (!all_replies.ok()) {
    // Redis may have run the reads and lost only the replies: the entries would wait in our
    // pending list, and reading on with ">" would leave a gap before what comes next (which
    // journey's watermark would then skip). So every partition read reads its pending
    // entries first.
    for (const auto& [p, mode] : work) SetMode(p, Mode::kRecovering);
    // Wait for the lease loop to see Redis again.
    std::unique_lock<std::mutex> lock(mu_);
    stop_cv_.wait_for(lock, std::chrono::milliseconds(100), [this] { return !running_; });
    return;
  }
  // One reply per partition, as the per-partition reads give them: [[stream, entries]] or nil.
  std::vector<RedisReply> partition_replies(work.size());
  if (blocking) {
    RedisReply& r = (*all_replies)[first_read];
    if (r.is_error()) {
      // NOGROUP on one stream (deleted meanwhile) fails the whole read: read each partition
      // on its own to find the one to give up, as the per-partition reads do.
      std::vector<RedisCommand> each;
      for (const auto& [p, mode] : work) {
        each.push_back({"XREADGROUP", "GROUP", options_.group, options_.replica_id, "COUNT",
                        std::to_string(options_.batch_size), "STREAMS", keys::EventStream(p),
                        mode == Mode::kRecovering ? "0" : ">"});
      }
      auto each_replies = redis_->Pipeline(each);
      if (!each_replies.ok()) {
        for (const auto& [p, mode] : work) SetMode(p, Mode::kRecovering);  // as above
        return;
      }
      for (size_t i = 0; i < work.size(); ++i) partition_replies[i] = std::move((*each_replies)[i]);
    } else if (r.is_array()) {
      std::map<std::string, size_t> by_stream;
      for (size_t i = 0; i < work.size(); ++i) by_stream[keys::EventStream(work[i].first)] = i;
      for (RedisReply& stream : r.elements) {
        if (!stream.is_array() || stream.elements.size() < 2) continue;
        auto it = by_stream.find(stream.elements[0].str);
        if (it == by_stream.end()) continue;
        RedisReply& one = partition_replies[it->second];
        one.type = RedisReply::Type::kArray;
        one.elements.push_back(std::move(stream));
      }
    }
  } else {
    for (size_t i = 0; i < work.size(); ++i) partition_replies[i] = std::move((*all_replies)[first_read + i]);
  }
  auto* replies = &partition_replies;
  // Parse each partition's reply, then apply the batches (concurrently across partitions
  // when configured), then acknowledge what was applied.
  struct Batch {
    uint32_t partition;
    std::vector<StreamEntry> entries;
    std::vector<std::string> dead;
    absl::Status status;
  };
  std::vector<Batch> batches;
  batches.reserve(work.size());
  for (size_t i = 0; i < work.size(); ++i) {
    const auto [partition, mode] = work[i];
    const RedisReply& reply = (*replies)[i];
    if (reply.is_error()) {
      // NOGROUP after a stream was deleted: re-create on the next acquisition.
      std::lock_guard<std::mutex> lock(mu_);
      owned_.erase(partition);
      continue;
    }
    Batch b{partition, {}, {}, absl::OkStatus()};
    if (reply.is_array() && !reply.elements.empty() && reply.elements[0].elements.size() >= 2) {
      ParseEntries(reply.elements[0].elements[1], &b.entries, &b.dead);
    }
    if (b.entries.empty() && b.dead.empty()) {
      if (mode == Mode::kRecovering) SetMode(partition, Mode::kLive);
      continue;
    }
    batches.push_back(std::move(b));
  }
  if (batches.empty()) return;
  *did_work = true;
  if (metrics_) {
    const int64_t now_ms = NowMs();
    for (const Batch& b : batches) {
      if (b.entries.empty()) continue;
      const int64_t age_ms = now_ms - static_cast<int64_t>(ParsePosition(b.entries.front().id).ms);
      metrics_->read_delay_seconds->Observe(static_cast<double>(std::max<int64_t>(0, age_ms)) / 1000.0);
    }
  }
  // The lane's batches go to the handler in one call, which lets it share its round trips
  // among them.
  std::vector<EntryHandler::PartitionBatch> calls;
  std::vector<size_t> called;
  for (size_t k = 0; k < batches.size(); ++k) {
    if (batches[k].entries.empty()) continue;
    called.push_back(k);
    calls.push_back({batches[k].partition, &batches[k].entries});
  }
  if (!calls.empty()) {
    const absl::Time start = absl::Now();
    std::vector<absl::Status> statuses = handler_->ApplyBatches(calls);
    if (metrics_) metrics_->batch_seconds->Observe(absl::ToDoubleSeconds(absl::Now() - start));
    for (size_t j = 0; j < called.size(); ++j) {
      batches[called[j]].status = j < statuses.size() ? statuses[j] : absl::InternalError("handler returned no status");
    }
  }
  std::vector<RedisCommand> acks;
  for (Batch& b : batches) {
    if (!b.status.ok()) {
      log::Warn("batch failed, will retry",
                {{"group", options_.group}, {"partition", std::to_string(b.partition)},
                 {"error", std::string(b.status.message())}});
      if (metrics_) metrics_->failures->Increment();
      SetMode(b.partition, Mode::kRecovering);
      continue;
    }
    if (metrics_) metrics_->entries->Increment(static_cast<double>(b.entries.size()));
    RedisCommand ack = {"XACK", keys::EventStream(b.partition), options_.group};
    ack.reserve(3 + b.entries.size() + b.dead.size());
    for (const auto& e : b.entries) ack.push_back(e.id);
    for (const auto& id : b.dead) ack.push_back(id);
    acks.push_back(std::move(ack));
  }
  // Sent with the next read (or flushed when the loop ends).
  for (auto& ack : acks) lane->pending_acks.push_back(std::move(ack));
}

}  // namespace journey::stream
