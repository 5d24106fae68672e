#include "services/recommend/stream_learner.h"

#include <pthread.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/storage/keys.h"

namespace journey::recommend {
namespace {

namespace cv1 = journey::common::v1;

absl::Time EventTime(const cv1::EventEnvelope& env, const Clock* clock) {
  const auto& ts = env.event().has_timestamp() ? env.event().timestamp() : env.ingested_at();
  if (ts.seconds() == 0 && ts.nanos() == 0) return clock->Now();
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

}  // namespace

double InteractionWeight(const std::string& event_name) {
  if (event_name == "Order Completed") return 3.0;
  if (event_name == "Product Added" || event_name == "Product Added to Wishlist") return 2.0;
  if (event_name == "Product Viewed" || event_name == "Product Clicked" || event_name == "Product Reviewed" ||
      event_name == "Review Submitted") {
    return 1.0;
  }
  return 0.0;
}

StreamLearner::StreamLearner(storage::RedisClient* redis, ItemModel* model, StreamLearnerOptions options,
                             const Clock* clock)
    : redis_(redis), model_(model), options_(std::move(options)), clock_(clock) {
  last_ids_.assign(options_.partitions, options_.start_id);
}

StreamLearner::~StreamLearner() { Stop(); }

void StreamLearner::Start() {
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
  pthread_setname_np(thread_.native_handle(), "rec-learner");
}

void StreamLearner::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void StreamLearner::Loop() {
  bool was_failing = false;
  while (!stop_) {
    auto applied = PollOnce();
    if (!applied.ok() && !was_failing) log::Warn("stream read failed", {{"error", std::string(applied.status().message())}});
    was_failing = !applied.ok();
    if (applied.ok() && *applied > 0) continue;  // more may be waiting
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, absl::ToChronoMilliseconds(applied.ok() ? options_.idle_poll : options_.error_backoff),
                 [&] { return stop_.load(); });
  }
}

absl::StatusOr<size_t> StreamLearner::PollOnce() {
  // One XREAD per partition (each partition is its own Cluster slot), all in one round trip.
  std::vector<storage::RedisCommand> reads;
  reads.reserve(options_.partitions);
  for (int p = 0; p < options_.partitions; ++p) {
    reads.push_back({"XREAD", "COUNT", std::to_string(options_.batch_size), "STREAMS", keys::EventStream(p), last_ids_[p]});
  }
  auto replies = redis_->Pipeline(reads);
  if (!replies.ok()) return replies.status();
  size_t applied = 0;
  std::vector<CompletedOrder> orders;
  for (int p = 0; p < options_.partitions && p < static_cast<int>(replies->size()); ++p) {
    const storage::RedisReply& reply = (*replies)[p];
    // XREAD: [[stream, [[id, [field, value, ...]], ...]]] or nil.
    if (!reply.is_array() || reply.elements.empty() || reply.elements[0].elements.size() < 2) continue;
    for (const storage::RedisReply& entry : reply.elements[0].elements[1].elements) {
      if (!entry.is_array() || entry.elements.size() < 2) continue;
      last_ids_[p] = entry.elements[0].str;
      const auto& fields = entry.elements[1].elements;
      for (size_t i = 0; i + 1 < fields.size(); i += 2) {
        if (fields[i].str != "e") continue;
        cv1::EventEnvelope env;
        if (env.ParseFromString(fields[i + 1].str)) {
          Apply(env, &orders);
          ++applied;
        }
      }
    }
  }
  applied_.fetch_add(applied);
  const absl::Time now = clock_->Now();
  if (applied > 0 && now - last_refresh_ >= options_.refresh_rankings_every) {
    model_->RefreshRankings();
    last_refresh_ = now;
  }
  if (!orders.empty() && order_listener_) order_listener_(orders);
  return applied;
}

void StreamLearner::Apply(const cv1::EventEnvelope& env, std::vector<CompletedOrder>* orders) {
  const std::string& uid = env.canonical_user_id();
  if (!env.workspace_id().empty() && env.workspace_id() != options_.workspace) return;
  switch (env.kind()) {
    case cv1::ENVELOPE_KIND_MERGE:
      model_->ForgetSession(env.previous_id());
      if (aliases_ != nullptr) aliases_->Learn(env.previous_id(), uid);
      return;
    case cv1::ENVELOPE_KIND_ERASE:
      model_->ForgetSession(uid);
      if (aliases_ != nullptr) aliases_->Forget(uid);
      return;
    default:
      break;
  }
  const cv1::Event& ev = env.event();
  const double weight = InteractionWeight(ev.name());
  if (weight <= 0 || uid.empty()) return;
  const absl::Time t = EventTime(env, clock_);
  std::vector<std::string> products;
  if (!ev.product_id().empty()) products.push_back(ev.product_id());
  for (const auto& p : ev.products()) {
    if (!p.product_id().empty()) products.push_back(p.product_id());
  }
  for (const auto& id : products) model_->Observe(uid, id, t, weight);
  if (ev.name() == "Order Completed" && orders != nullptr) {
    double revenue = ev.revenue();
    if (revenue == 0) {
      for (const auto& p : ev.products()) revenue += p.price() * std::max(1, p.quantity());
    }
    orders->push_back({env.workspace_id(), uid, std::move(products), t,
                       !ev.order_id().empty() ? ev.order_id() : ev.message_id(), revenue});
  }
}

}  // namespace journey::recommend
