#include "common/orchestration/webhook_delivery.h"

#include <google/protobuf/util/json_util.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/orchestration/webhook_signature.h"
#include "common/storage/keys.h"
#include "journey/common/v1/common.pb.h"

namespace journey::orchestration {
namespace {

using storage::RedisCommand;
using storage::RedisReply;

// Entries of an XREADGROUP/XAUTOCLAIM entry list: [id, [field, value, ...]] (fields nil when
// the entry was trimmed away meanwhile).
void ParseEntries(const RedisReply& list, std::vector<std::pair<std::string, std::string>>* out) {
  for (const RedisReply& e : list.elements) {
    if (e.elements.size() < 2) continue;
    std::string payload;
    const RedisReply& fields = e.elements[1];
    for (size_t i = 0; i + 1 < fields.elements.size(); i += 2) {
      if (fields.elements[i].str == "a") payload = fields.elements[i + 1].str;
    }
    out->emplace_back(e.elements[0].str, std::move(payload));
  }
}

// A receiver's 4xx other than timeout/too-many-requests will not change on a retry.
bool Permanent(long status) { return status >= 400 && status < 500 && status != 408 && status != 429; }

}  // namespace

absl::Status WebhookDelivery::Validate(const WebhookOptions& options) {
  if (options.url.empty()) return absl::InvalidArgumentError("--action_webhook_url: empty");
  if (options.url.rfind("http://", 0) != 0 && options.url.rfind("https://", 0) != 0) {
    return absl::InvalidArgumentError(absl::StrCat("--action_webhook_url: '", options.url, "' is not an http(s) URL"));
  }
  if (options.secret.empty()) return absl::InvalidArgumentError("--action_webhook_secret_file: empty secret");
  if (options.max_attempts < 1) return absl::InvalidArgumentError("--action_webhook_max_attempts: must be at least 1");
  if (options.timeout <= absl::ZeroDuration()) return absl::InvalidArgumentError("--action_webhook_timeout_ms: must be positive");
  if (options.initial_backoff <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--action_webhook_backoff_ms: must be positive");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<WebhookDelivery>> WebhookDelivery::Create(storage::RedisClient* redis,
                                                                         const Clock* clock, WebhookOptions options,
                                                                         prometheus::Registry* metrics) {
  if (absl::Status valid = Validate(options); !valid.ok()) return valid;
  return std::unique_ptr<WebhookDelivery>(new WebhookDelivery(redis, clock, std::move(options), metrics));
}

WebhookDelivery::WebhookDelivery(storage::RedisClient* redis, const Clock* clock, WebhookOptions options,
                                 prometheus::Registry* metrics)
    : redis_(redis), clock_(clock), options_(std::move(options)), client_(options_.url, options_.timeout) {
  if (metrics != nullptr) {
    outcomes_ = &prometheus::BuildCounter()
                     .Name("journey_action_webhook_total")
                     .Help("Webhook POSTs of triggered actions by outcome (delivered, retry, dead_letter)")
                     .Register(*metrics);
  }
}

void WebhookDelivery::Count(const std::string& outcome) {
  if (outcomes_ != nullptr) outcomes_->Add({{"outcome", outcome}}).Increment();
}

void WebhookDelivery::Start() {
  if (running_.exchange(true)) return;
  thread_ = std::thread([this] {
    while (running_) {
      auto done = RunOnce();
      if (!done.ok()) log::Warn("action webhook pass failed", {{"error", std::string(done.status().message())}});
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, absl::ToChronoMilliseconds(options_.tick), [this] { return !running_; });
    }
  });
}

void WebhookDelivery::Stop() {
  if (!running_.exchange(false)) return;
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

absl::Status WebhookDelivery::Fetch() {
  if (queue_.size() >= options_.max_in_flight) return absl::OkStatus();
  std::vector<RedisCommand> cmds;
  if (own_cursor_.empty()) own_cursor_.assign(options_.partitions, "0");
  const bool create = !groups_created_;
  if (create) {
    for (int p = 0; p < options_.partitions; ++p) {
      cmds.push_back({"XGROUP", "CREATE", keys::ActionStream(p), options_.group, "0", "MKSTREAM"});
    }
  }
  const std::string count = std::to_string(options_.batch);
  // Per partition: [own pending from the cursor], new entries, entries of a dead consumer.
  struct Reads {
    int own = -1, fresh = -1, claimed = -1;
  };
  std::vector<Reads> at(options_.partitions);
  for (int p = 0; p < options_.partitions; ++p) {
    const std::string stream = keys::ActionStream(p);
    // After a restart: what this consumer read and never acknowledged (from the cursor on,
    // until none is left).
    if (!own_cursor_[p].empty()) {
      at[p].own = static_cast<int>(cmds.size());
      cmds.push_back({"XREADGROUP", "GROUP", options_.group, options_.consumer, "COUNT", count, "STREAMS", stream,
                      own_cursor_[p]});
    }
    at[p].fresh = static_cast<int>(cmds.size());
    cmds.push_back({"XREADGROUP", "GROUP", options_.group, options_.consumer, "COUNT", count, "STREAMS", stream, ">"});
    at[p].claimed = static_cast<int>(cmds.size());
    cmds.push_back({"XAUTOCLAIM", stream, options_.group, options_.consumer,
                    std::to_string(absl::ToInt64Milliseconds(options_.reclaim_idle)), "0-0", "COUNT", count});
  }
  auto replies = redis_->Pipeline(cmds);
  if (!replies.ok()) return replies.status();
  const absl::Time now = clock_->Now();
  auto read_entries = [&](int index, std::vector<std::pair<std::string, std::string>>* out) -> absl::Status {
    const RedisReply& read = (*replies)[index];
    if (read.is_error()) return absl::InternalError(absl::StrCat("XREADGROUP actions: ", read.str));
    if (read.is_array() && !read.elements.empty() && read.elements[0].elements.size() >= 2) {
      ParseEntries(read.elements[0].elements[1], out);
    }
    return absl::OkStatus();
  };
  for (int p = 0; p < options_.partitions; ++p) {
    std::vector<std::pair<std::string, std::string>> entries;
    if (at[p].own >= 0) {
      if (absl::Status st = read_entries(at[p].own, &entries); !st.ok()) return st;
      own_cursor_[p] = entries.empty() ? "" : entries.back().first;
    }
    if (absl::Status st = read_entries(at[p].fresh, &entries); !st.ok()) return st;
    const RedisReply& claimed = (*replies)[at[p].claimed];
    if (claimed.is_array() && claimed.elements.size() >= 2) ParseEntries(claimed.elements[1], &entries);
    for (auto& [id, payload] : entries) {
      auto key = std::make_pair(static_cast<uint32_t>(p), id);
      if (queue_.count(key)) continue;  // ours already, backing off
      Entry e;
      e.partition = p;
      e.id = id;
      e.payload = std::move(payload);
      e.next_attempt = now;
      queue_.emplace(std::move(key), std::move(e));
    }
  }
  groups_created_ = true;
  return absl::OkStatus();
}

absl::Status WebhookDelivery::Finish(const Entry& entry, const std::string& outcome, bool dead_letter) {
  journey::common::v1::Action action;
  (void)action.ParseFromString(entry.payload);
  const std::string ws = action.workspace_id().empty() ? "default" : action.workspace_id();
  std::vector<RedisCommand> cmds;
  cmds.push_back({"MULTI"});
  if (dead_letter) cmds.push_back({"RPUSH", keys::ActionDeadLetters(entry.partition), entry.payload});
  cmds.push_back({"HINCRBY", keys::ActionCounts(ws), absl::StrCat(outcome, "|webhook|", action.trigger_id()), "1"});
  cmds.push_back({"XACK", keys::ActionStream(entry.partition), options_.group, entry.id});
  cmds.push_back({"EXEC"});
  auto replies = redis_->Pipeline(cmds);
  if (!replies.ok()) return replies.status();
  if (!replies->back().is_array()) return absl::UnavailableError("acknowledging action: transaction did not run");
  Count(outcome);
  return absl::OkStatus();
}

absl::StatusOr<bool> WebhookDelivery::Deliver(Entry* entry) {
  journey::common::v1::Action action;
  if (entry->payload.empty() || !action.ParseFromString(entry->payload)) {
    // Trimmed away or not an action: nothing to send, keep it for inspection.
    auto finished = Finish(*entry, "dead_letter", true);
    if (!finished.ok()) return finished;
    return true;
  }
  std::string body;
  google::protobuf::util::JsonPrintOptions json;
  json.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(action, &body, json);
  ++entry->attempts;
  const std::string timestamp = std::to_string(absl::ToUnixSeconds(clock_->Now()));
  auto status = client_.Post(body, {{std::string(kIdempotencyHeader), action.idempotency_key()},
                                    {std::string(kTimestampHeader), timestamp},
                                    {std::string(kSignatureHeader), WebhookSignature(options_.secret, timestamp, body)},
                                    {std::string(kAttemptHeader), std::to_string(entry->attempts)}});
  const bool delivered = status.ok() && *status >= 200 && *status < 300;
  if (delivered) {
    auto finished = Finish(*entry, "delivered", false);
    if (!finished.ok()) return finished;
    return true;
  }
  const std::string why = status.ok() ? absl::StrCat("HTTP ", *status) : std::string(status.status().message());
  if ((status.ok() && Permanent(*status)) || entry->attempts >= options_.max_attempts) {
    log::Warn("action dead-lettered", {{"key", action.idempotency_key()}, {"attempts", std::to_string(entry->attempts)},
                                       {"error", why}});
    auto finished = Finish(*entry, "dead_letter", true);
    if (!finished.ok()) return finished;
    return true;
  }
  Count("retry");
  absl::Duration backoff = options_.initial_backoff;
  for (int i = 1; i < entry->attempts && backoff < options_.max_backoff; ++i) backoff *= 2;
  entry->next_attempt = clock_->Now() + std::min(backoff, options_.max_backoff);
  // Reset the entry's idle time, so other replicas leave it to this one while it backs off.
  (void)redis_->Pipeline({{"XCLAIM", keys::ActionStream(entry->partition), options_.group, options_.consumer, "0",
                           entry->id, "JUSTID"}});
  return false;
}

absl::StatusOr<int> WebhookDelivery::RunOnce(int max_posts) {
  if (absl::Status fetched = Fetch(); !fetched.ok()) return fetched;
  int done = 0, posts = 0;
  const absl::Time now = clock_->Now();
  for (auto it = queue_.begin(); it != queue_.end() && posts < max_posts;) {
    if (it->second.next_attempt > now) {
      ++it;
      continue;
    }
    ++posts;
    auto finished = Deliver(&it->second);
    if (!finished.ok()) return finished.status();  // Redis is down: the entry stays pending
    if (*finished) {
      ++done;
      it = queue_.erase(it);
    } else {
      ++it;
    }
  }
  return done;
}

}  // namespace journey::orchestration
