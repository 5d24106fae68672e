#include "services/recommend/feedback.h"

#include <pthread.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>

#include "absl/hash/hash.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/log/log.h"
#include "common/orchestration/action_outbox.h"
#include "common/storage/keys.h"
#include "common/time/utc_day.h"

namespace journey::recommend {
namespace {

constexpr char kImpression[] = "i";
constexpr char kClick[] = "c";
constexpr char kConversion[] = "v";
constexpr char kDismiss[] = "d";
constexpr char kAllSegments[] = "*";

google::protobuf::Timestamp ToProto(absl::Time t) {
  google::protobuf::Timestamp ts;
  const int64_t ns = absl::ToUnixNanos(t);
  ts.set_seconds(ns / 1000000000);
  ts.set_nanos(static_cast<int32_t>(ns % 1000000000));
  return ts;
}

absl::Time FromProto(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

bool Contains(const google::protobuf::RepeatedPtrField<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

}  // namespace

std::shared_ptr<const OfferStatsTable> OfferStatsCache::Table() const {
  absl::ReaderMutexLock lock(&mu_);
  return table_;
}

void OfferStatsCache::Add(const std::string& offer_id, const std::string& stage, const OfferOutcomes& delta) {
  absl::MutexLock lock(&mu_);
  auto next = std::make_shared<OfferStatsTable>(*table_);
  next->Add(offer_id, stage, delta);
  table_ = std::move(next);
}

void OfferStatsCache::Load(const storage::RedisReply& hash) {
  auto next = std::make_shared<OfferStatsTable>();
  for (size_t i = 0; i + 1 < hash.elements.size(); i += 2) {
    std::vector<absl::string_view> parts = absl::StrSplit(hash.elements[i].str, '|');
    int64_t n = 0;
    if (parts.size() != 4 || parts[2] != kAllSegments || !absl::SimpleAtoi(hash.elements[i + 1].str, &n)) continue;
    OfferOutcomes delta;
    if (parts[3] == kImpression) delta.impressions = n;
    if (parts[3] == kClick) delta.clicks = n;
    if (parts[3] == kConversion) delta.conversions = n;
    next->Add(parts[0], parts[1], delta);
  }
  absl::MutexLock lock(&mu_);
  table_ = std::move(next);
}

Feedback::Feedback(FeedbackOptions options, storage::RedisClient* redis, OfferStatsCache* cache, const Clock* clock)
    : options_(std::move(options)), redis_(redis), cache_(cache), clock_(clock) {}

Feedback::~Feedback() { Stop(); }

void Feedback::Enqueue(std::vector<storage::RedisCommand> commands) {
  std::lock_guard<std::mutex> lock(mu_);
  if (queue_.size() + commands.size() > options_.max_queue) {
    dropped_ += commands.size();
    return;
  }
  for (auto& c : commands) queue_.push_back(std::move(c));
}

size_t Feedback::OutcomeFieldHash::operator()(const OutcomeFieldView& f) const {
  return absl::Hash<std::tuple<absl::string_view, absl::string_view, absl::string_view, char>>()(
      std::make_tuple(f.offer, f.stage, f.segment, f.outcome));
}

void Feedback::Increment(OutcomeCounts* counts, const OutcomeFieldView& field) {
  auto it = counts->find(field);
  if (it != counts->end()) {
    ++it->second;
    return;
  }
  counts->emplace(OutcomeField{std::string(field.offer), std::string(field.stage), std::string(field.segment),
                               field.outcome},
                  1);
}

void Feedback::CountOutcome(const v1::RecommendationRecord& record, absl::string_view offer_id,
                            absl::string_view outcome) {
  // Every served offer lands here; only a field not yet pending since the last flush allocates.
  const char o = outcome.empty() ? '?' : outcome[0];
  std::lock_guard<std::mutex> lock(mu_);
  Increment(&pending_counts_, {offer_id, record.stage(), kAllSegments, o});
  for (int i = 0; i < record.segments_size() && i < options_.max_stat_segments; ++i) {
    Increment(&pending_segment_counts_, {offer_id, record.stage(), record.segments(i), o});
  }
}

void Feedback::OnServed(const ServedRecommendation& served) {
  v1::RecommendationRecord record;
  record.set_recommendation_id(served.recommendation_id);
  record.set_user_id(served.user_id);
  record.set_stage(served.stage);
  for (const auto& s : served.segments) record.add_segments(s);
  for (const auto& o : served.offer_ids) record.add_offer_ids(o);
  for (const auto& p : served.product_ids) record.add_product_ids(p);
  *record.mutable_served_at() = ToProto(served.served_at);
  const std::string bytes = record.SerializeAsString();
  const std::string ttl = std::to_string(absl::ToInt64Seconds(options_.record_ttl));
  const std::string& day = UtcDay(served.served_at);
  const std::string cap_day = keys::RecommendCapsDay(options_.workspace, served.user_id, day);
  const std::string cap_life = keys::RecommendCapsLifetime(options_.workspace, served.user_id);

  std::vector<storage::RedisCommand> cmds;
  cmds.push_back({"SET", keys::Recommendation(options_.workspace, served.recommendation_id), bytes, "EX", ttl});
  cmds.push_back({"SET", keys::RecommendLast(options_.workspace, served.user_id), bytes, "EX", ttl});
  // Counters only for offers that have caps: uncapped offers need none.
  for (const auto& offer : served.daily_capped_offer_ids) cmds.push_back({"HINCRBY", cap_day, offer, "1"});
  if (!served.daily_capped_offer_ids.empty()) cmds.push_back({"EXPIRE", cap_day, std::to_string(2 * 24 * 3600)});
  for (const auto& offer : served.lifetime_capped_offer_ids) cmds.push_back({"HINCRBY", cap_life, offer, "1"});
  Enqueue(std::move(cmds));
  // Every served offer counts an impression: one lock for the answer, not one per offer.
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& offer : served.offer_ids) {
    Increment(&pending_counts_, {offer, served.stage, kAllSegments, kImpression[0]});
    for (size_t i = 0; i < served.segments.size() && i < static_cast<size_t>(options_.max_stat_segments); ++i) {
      Increment(&pending_segment_counts_, {offer, served.stage, served.segments[i], kImpression[0]});
    }
  }
}

void Feedback::OnOrders(const std::vector<CompletedOrder>& orders) {
  std::vector<storage::RedisCommand> reads;
  std::vector<const CompletedOrder*> mine;
  for (const auto& o : orders) {
    if (!o.workspace.empty() && o.workspace != options_.workspace) continue;
    reads.push_back({"GET", keys::RecommendLast(options_.workspace, o.user_id)});
    mine.push_back(&o);
  }
  if (reads.empty()) return;
  auto replies = redis_->Pipeline(reads);
  if (!replies.ok()) return;  // best effort: attribution is statistics, not money
  std::vector<storage::RedisCommand> cmds;
  for (size_t i = 0; i < mine.size() && i < replies->size(); ++i) {
    if (!(*replies)[i].is_string()) continue;
    v1::RecommendationRecord record;
    if (!record.ParseFromString((*replies)[i].str)) continue;
    const absl::Time served = FromProto(record.served_at());
    if (mine[i]->at < served || mine[i]->at - served > options_.attribution_window) continue;
    for (const auto& offer : record.offer_ids()) CountOutcome(record, offer, kConversion);
    // One order converts a recommendation once.
    cmds.push_back({"DEL", keys::RecommendLast(options_.workspace, mine[i]->user_id)});
    if (options_.cooldown_after_conversion > absl::ZeroDuration()) {
      orchestration::AppendCooldownCommands(options_.workspace, mine[i]->user_id, "conversion", mine[i]->at,
                                            options_.cooldown_after_conversion, &cmds);
    }
  }
  if (!cmds.empty()) Enqueue(std::move(cmds));
}

absl::StatusOr<v1::ReportOutcomeResponse> Feedback::ReportOutcome(const v1::ReportOutcomeRequest& request) {
  if (request.recommendation_id().empty()) return absl::InvalidArgumentError("recommendation_id: required");
  if (request.item_id().empty()) return absl::InvalidArgumentError("item_id: required");
  if (request.outcome() == v1::OUTCOME_UNSPECIFIED || !v1::Outcome_IsValid(request.outcome())) {
    return absl::InvalidArgumentError(absl::StrCat("outcome: ", request.outcome(), " is not IMPRESSION, CLICK, CONVERSION or DISMISS"));
  }
  if (!std::isfinite(request.value()) || request.value() < 0 || request.value() > 1e12) {
    return absl::InvalidArgumentError(absl::StrCat("value: ", request.value(), " is not an amount in 0..1e12"));
  }
  if (request.order_id().size() > 256) return absl::InvalidArgumentError("order_id: longer than 256 characters");
  auto reply = redis_->Command({"GET", keys::Recommendation(options_.workspace, request.recommendation_id())});
  if (!reply.ok()) return absl::UnavailableError(absl::StrCat("reading the recommendation: ", reply.status().message()));
  v1::RecommendationRecord record;
  if (!reply->is_string() || !record.ParseFromString(reply->str)) {
    return absl::NotFoundError(absl::StrCat("recommendation_id: \"", request.recommendation_id(), "\" unknown or expired"));
  }
  const bool is_offer = Contains(record.offer_ids(), request.item_id());
  if (!is_offer && !Contains(record.product_ids(), request.item_id())) {
    return absl::InvalidArgumentError(
        absl::StrCat("item_id: \"", request.item_id(), "\" was not part of recommendation ", request.recommendation_id()));
  }
  // A conversion or dismissal starts the customer's cool-down before anything is counted: it
  // is in force when the call returns, and a failed write fails the call (retry), counting
  // nothing twice.
  const absl::Duration cooldown = request.outcome() == v1::OUTCOME_CONVERSION ? options_.cooldown_after_conversion
                                  : request.outcome() == v1::OUTCOME_DISMISS  ? options_.cooldown_after_dismissal
                                                                              : absl::ZeroDuration();
  if (cooldown > absl::ZeroDuration()) {
    const char* kind = request.outcome() == v1::OUTCOME_CONVERSION ? "conversion" : "dismissal";
    std::vector<storage::RedisCommand> start;
    orchestration::AppendCooldownCommands(options_.workspace, record.user_id(), kind, clock_->Now(), cooldown, &start);
    auto wrote = redis_->Pipeline(start);
    if (!wrote.ok()) {
      return absl::UnavailableError(absl::StrCat("starting the ", kind, " cool-down: ", wrote.status().message()));
    }
    for (const storage::RedisReply& r : *wrote) {
      if (r.is_error()) return absl::UnavailableError(absl::StrCat("starting the ", kind, " cool-down: ", r.str));
    }
  }
  // Impressions are counted when a recommendation is served; a reported IMPRESSION only
  // confirms it. Product outcomes are accepted but not broken out per offer.
  if (is_offer && request.outcome() != v1::OUTCOME_IMPRESSION) {
    const char* outcome = request.outcome() == v1::OUTCOME_CLICK        ? kClick
                          : request.outcome() == v1::OUTCOME_CONVERSION ? kConversion
                                                                        : kDismiss;
    CountOutcome(record, request.item_id(), outcome);
  }
  const bool conversion = request.outcome() == v1::OUTCOME_CONVERSION;
  if (experiments_ != nullptr && (conversion || request.outcome() == v1::OUTCOME_CLICK)) {
    ExperimentOutcome x;
    x.customer_id = record.user_id();
    x.kind = conversion ? OutcomeKind::kConversion : OutcomeKind::kClick;
    if (conversion) {
      // One recommendation converts once; with an order id, that order counts once whether
      // it is reported here, again, or seen as Order Completed in the stream.
      x.dedupe_id = request.order_id().empty() ? absl::StrCat("rec:", request.recommendation_id())
                                               : absl::StrCat("order:", request.order_id());
      x.revenue = request.value();
    }
    x.at = clock_->Now();
    experiments_->RecordOutcome(x);
  }
  return v1::ReportOutcomeResponse();
}

absl::StatusOr<v1::GetOfferStatsResponse> Feedback::GetOfferStats(const v1::GetOfferStatsRequest& request) {
  auto replies = redis_->Pipeline({{"HGETALL", keys::RecommendOfferStats(options_.workspace)},
                                   {"HGETALL", keys::RecommendOfferSegmentStats(options_.workspace)}});
  if (!replies.ok()) return absl::UnavailableError(absl::StrCat("reading offer statistics: ", replies.status().message()));
  std::map<std::tuple<std::string, std::string, std::string>, v1::OfferStats> rows;
  std::vector<const storage::RedisReply*> fields;  // name, value, name, value, ... of both hashes
  for (const auto& reply : *replies) {
    for (const auto& e : reply.elements) fields.push_back(&e);
  }
  for (size_t i = 0; i + 1 < fields.size(); i += 2) {
    std::vector<std::string> parts = absl::StrSplit(fields[i]->str, '|');
    int64_t n = 0;
    if (parts.size() != 4 || !absl::SimpleAtoi(fields[i + 1]->str, &n)) continue;
    if (!request.offer_id().empty() && parts[0] != request.offer_id()) continue;
    v1::OfferStats& s = rows[{parts[0], parts[1], parts[2]}];
    s.set_offer_id(parts[0]);
    s.set_stage(parts[1]);
    s.set_segment(parts[2] == kAllSegments ? "" : parts[2]);
    if (parts[3] == kImpression) s.set_impressions(s.impressions() + n);
    if (parts[3] == kClick) s.set_clicks(s.clicks() + n);
    if (parts[3] == kConversion) s.set_conversions(s.conversions() + n);
  }
  v1::GetOfferStatsResponse out;
  for (auto& [key, s] : rows) {
    if (s.impressions() > 0) {
      s.set_click_rate(static_cast<double>(s.clicks()) / s.impressions());
      s.set_conversion_rate(static_cast<double>(s.conversions()) / s.impressions());
    }
    *out.add_stats() = std::move(s);
  }
  return out;
}

absl::Status Feedback::RefreshCache() {
  auto reply = redis_->Command({"HGETALL", keys::RecommendOfferStats(options_.workspace)});
  if (!reply.ok()) return reply.status();
  cache_->Load(*reply);
  return absl::OkStatus();
}

absl::Status Feedback::Flush() { return FlushQueued(/*with_counters=*/true); }

absl::Status Feedback::FlushQueued(bool with_counters) {
  std::lock_guard<std::mutex> flush_lock(flush_mu_);
  std::vector<storage::RedisCommand> batch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    batch.swap(queue_);
    if (with_counters) {
      const std::string key = keys::RecommendOfferStats(options_.workspace);
      auto name = [](const OutcomeField& f) {
        return absl::StrCat(f.offer, "|", f.stage, "|", f.segment, "|", absl::string_view(&f.outcome, 1));
      };
      for (const auto& [field, n] : pending_counts_) batch.push_back({"HINCRBY", key, name(field), std::to_string(n)});
      const std::string segment_key = keys::RecommendOfferSegmentStats(options_.workspace);
      for (const auto& [field, n] : pending_segment_counts_) {
        batch.push_back({"HINCRBY", segment_key, name(field), std::to_string(n)});
      }
      pending_counts_.clear();
      pending_segment_counts_.clear();
    }
  }
  if (batch.empty()) return absl::OkStatus();
  auto replies = redis_->Pipeline(batch);
  if (!replies.ok()) {
    // Counters are statistics: losing a flush while Redis is down is acceptable; count it.
    dropped_ += batch.size();
    return replies.status();
  }
  return absl::OkStatus();
}

void Feedback::Start() {
  stop_ = false;
  thread_ = std::thread([this] {
    auto counters_due = std::chrono::steady_clock::now();
    while (true) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        if (cv_.wait_for(lock, absl::ToChronoMilliseconds(options_.flush_every), [&] { return stop_; })) break;
      }
      const auto now = std::chrono::steady_clock::now();
      const bool with_counters = now >= counters_due;
      if (with_counters) counters_due = now + absl::ToChronoMilliseconds(options_.counters_flush_every);
      (void)FlushQueued(with_counters);
    }
    (void)Flush();  // what is in hand at shutdown
  });
  pthread_setname_np(thread_.native_handle(), "rec-feedback");
}

void Feedback::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace journey::recommend
