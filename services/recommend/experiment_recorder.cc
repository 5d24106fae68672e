#include "services/recommend/experiment_recorder.h"

#include <pthread.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/log/log.h"
#include "common/storage/keys.h"
#include "services/recommend/experiment_stats.h"

namespace journey::recommend {
namespace {

// KEYS[1] = the experiment's members hash, KEYS[2] = its totals hash (one hash tag).
// Exposure: ARGV = "e", customer, variant, at_ms, expire_at_ms (0 = never). The first
// exposure fixes the customer's variant (HSETNX) and is the only one that counts; every one
// moves the last exposure and sets both hashes to expire at expire_at (ResultsExpireAt).
// Outcome: ARGV = "o", customer, kind ("c" conversion, "k" click), dedupe id, revenue,
// at_ms, window_ms. Counts only for an exposed customer, between their first exposure and
// the window after their last; a dedupe id seen before counts nothing; the customer's
// conversion (click) counts once; revenue adds to the customer's total and to the
// variant's sum and sum of squares of per-customer revenue (for Welch's interval).
constexpr char kExperimentScript[] = R"lua(
local members, totals = KEYS[1], KEYS[2]
local customer = ARGV[2]
if ARGV[1] == 'e' then
  local variant, at = ARGV[3], tonumber(ARGV[4])
  local first = redis.call('HSETNX', members, 'e:' .. customer, variant .. '|' .. ARGV[4])
  local last = tonumber(redis.call('HGET', members, 'l:' .. customer) or '0')
  if at > last then redis.call('HSET', members, 'l:' .. customer, ARGV[4]) end
  if first == 1 then redis.call('HINCRBY', totals, variant .. '|exposed', 1) end
  if ARGV[5] ~= '0' then
    redis.call('PEXPIREAT', members, ARGV[5])
    redis.call('PEXPIREAT', totals, ARGV[5])
  end
  return first
end
local exposure = redis.call('HGET', members, 'e:' .. customer)
if not exposure then return 0 end
local sep = string.find(exposure, '|', 1, true)
local variant = string.sub(exposure, 1, sep - 1)
local first = tonumber(string.sub(exposure, sep + 1))
local last = tonumber(redis.call('HGET', members, 'l:' .. customer) or first)
local kind, dedupe, revenue, at, window = ARGV[3], ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
if at < first or at > last + window then return 0 end
if dedupe ~= '' and redis.call('HSETNX', members, 'o:' .. dedupe, '1') == 0 then return 0 end
local counted = redis.call('HSETNX', members, kind .. ':' .. customer, '1')
if counted == 1 then
  redis.call('HINCRBY', totals, variant .. (kind == 'c' and '|conversions' or '|clicks'), 1)
end
if kind == 'c' and revenue ~= 0 then
  local before = tonumber(redis.call('HGET', members, 'r:' .. customer) or '0')
  local after = before + revenue
  redis.call('HSET', members, 'r:' .. customer, string.format('%.17g', after))
  redis.call('HINCRBYFLOAT', totals, variant .. '|revenue', string.format('%.17g', revenue))
  redis.call('HINCRBYFLOAT', totals, variant .. '|revenue_sq', string.format('%.17g', after * after - before * before))
end
return counted
)lua";

bool IsTransient(const std::string& error) {
  for (const char* prefix : {"LOADING", "BUSY", "TRYAGAIN", "CLUSTERDOWN", "READONLY", "MASTERDOWN", "MOVED", "ASK"}) {
    if (absl::StartsWith(error, prefix)) return true;
  }
  return false;
}

std::string Millis(absl::Time t) { return std::to_string(absl::ToUnixMillis(t)); }

std::string ExpireAtMillis(const ExperimentSet* set, const std::string& experiment_id, absl::Time exposed_at) {
  const Experiment* e = set != nullptr ? set->Find(experiment_id) : nullptr;
  if (e == nullptr) return "0";
  return Millis(ResultsExpireAt(*e, exposed_at));
}

}  // namespace

absl::Time ResultsExpireAt(const Experiment& experiment, absl::Time exposed_at) {
  const absl::Time last_exposure = experiment.end == absl::InfiniteFuture() ? exposed_at : experiment.end;
  return last_exposure + experiment.attribution_window + kResultsRetention;
}

ExperimentRecorder::ExperimentRecorder(ExperimentRecorderOptions options, storage::RedisClient* redis,
                                       const ExperimentStore* experiments, const Clock* clock)
    : options_(std::move(options)),
      redis_(redis),
      experiments_(experiments),
      clock_(clock),
      script_(kExperimentScript) {}

ExperimentRecorder::~ExperimentRecorder() { Stop(); }

void ExperimentRecorder::Enqueue(storage::RedisCommand command) {
  // Caller holds mu_.
  if (queue_.size() >= options_.max_queue) {
    dropped_++;
    return;
  }
  queue_.push_back(std::move(command));
}

void ExperimentRecorder::RecordExposures(const std::string& customer_id, const std::vector<ExposureRecord>& exposures,
                                         absl::Time at) {
  if (exposures.empty()) return;
  std::shared_ptr<const ExperimentSet> set = experiments_->Get();
  std::lock_guard<std::mutex> lock(mu_);
  // Bounded memory: forgetting what was sent only means sending some exposures again, and
  // the script counts each customer once whatever it is sent.
  if (sent_.size() > 1000000) sent_.clear();
  for (const ExposureRecord& e : exposures) {
    absl::Time& sent = sent_[absl::StrCat(e.experiment_id, "\x1f", customer_id)];
    if (sent != absl::Time() && at - sent < options_.exposure_refresh && at >= sent) continue;
    sent = at;
    storage::RedisCommand call = storage::RedisScript::Call(2);
    for (std::string arg : {keys::ExperimentMembers(options_.workspace, e.experiment_id),
                            keys::ExperimentTotals(options_.workspace, e.experiment_id), std::string("e"), customer_id,
                            e.variant, Millis(at), ExpireAtMillis(set.get(), e.experiment_id, at)}) {
      call.push_back(std::move(arg));
    }
    Enqueue(std::move(call));
  }
}

void ExperimentRecorder::RecordOutcome(const ExperimentOutcome& outcome) {
  std::shared_ptr<const ExperimentSet> set = experiments_->Get();
  if (set == nullptr || outcome.customer_id.empty()) return;
  const std::vector<const Experiment*> open = set->Attributable(outcome.at);
  std::lock_guard<std::mutex> lock(mu_);
  for (const Experiment* e : open) {
    storage::RedisCommand call = storage::RedisScript::Call(2);
    for (std::string arg : {keys::ExperimentMembers(options_.workspace, e->id),
                            keys::ExperimentTotals(options_.workspace, e->id), std::string("o"), outcome.customer_id,
                            std::string(outcome.kind == OutcomeKind::kConversion ? "c" : "k"), outcome.dedupe_id,
                            absl::StrFormat("%.17g", outcome.revenue), Millis(outcome.at),
                            std::to_string(absl::ToInt64Milliseconds(e->attribution_window))}) {
      call.push_back(std::move(arg));
    }
    Enqueue(std::move(call));
  }
}

void ExperimentRecorder::OnOrders(const std::vector<CompletedOrder>& orders) {
  for (const CompletedOrder& o : orders) {
    if (!o.workspace.empty() && o.workspace != options_.workspace) continue;
    ExperimentOutcome outcome;
    outcome.customer_id = o.user_id;
    outcome.kind = OutcomeKind::kConversion;
    outcome.dedupe_id = absl::StrCat("order:", o.order_id);
    outcome.revenue = o.revenue;
    outcome.at = o.at;
    RecordOutcome(outcome);
  }
}

absl::Status ExperimentRecorder::Flush() {
  std::lock_guard<std::mutex> flush_lock(flush_mu_);
  std::vector<storage::RedisCommand> batch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    batch.swap(queue_);
  }
  if (batch.empty()) return absl::OkStatus();
  auto replies = script_.Pipeline(redis_, batch);
  if (!replies.ok()) {
    // Every call is idempotent: put the batch back in front and send it again next time.
    std::lock_guard<std::mutex> lock(mu_);
    if (batch.size() + queue_.size() > options_.max_queue) {
      dropped_ += batch.size();
    } else {
      batch.insert(batch.end(), std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
      queue_ = std::move(batch);
    }
    return replies.status();
  }
  // A call Redis refused for now (loading after a restart, a failover) is sent again; any
  // other error is a bug in the call and would fail again: logged and counted as dropped.
  std::vector<storage::RedisCommand> again;
  std::string error;
  for (size_t i = 0; i < replies->size() && i < batch.size(); ++i) {
    const storage::RedisReply& r = (*replies)[i];
    if (!r.is_error()) continue;
    error = r.str;
    if (IsTransient(r.str)) {
      again.push_back(std::move(batch[i]));
    } else {
      dropped_++;
    }
  }
  if (!error.empty()) log::Warn("experiment records refused", {{"error", error}, {"retried", std::to_string(again.size())}});
  if (!again.empty()) {
    std::lock_guard<std::mutex> lock(mu_);
    again.insert(again.end(), std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
    queue_ = std::move(again);
    return absl::UnavailableError(absl::StrCat("experiment records refused, will retry: ", error));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::GetExperimentResultsResponse> ExperimentRecorder::Results(const std::string& experiment_id) const {
  if (experiment_id.empty()) return absl::InvalidArgumentError("experiment_id: required");
  auto reply = redis_->Command({"HGETALL", keys::ExperimentTotals(options_.workspace, experiment_id)});
  if (!reply.ok()) return absl::UnavailableError(absl::StrCat("reading experiment totals: ", reply.status().message()));
  std::map<std::string, ArmTotals> totals;
  for (size_t i = 0; i + 1 < reply->elements.size(); i += 2) {
    const std::string& field = reply->elements[i].str;
    const size_t bar = field.rfind('|');
    if (bar == std::string::npos) continue;
    ArmTotals& t = totals[field.substr(0, bar)];
    const std::string what = field.substr(bar + 1);
    const std::string& value = reply->elements[i + 1].str;
    double x = 0;
    if (!absl::SimpleAtod(value, &x)) continue;
    if (what == "exposed") t.exposed = static_cast<int64_t>(x);
    if (what == "conversions") t.conversions = static_cast<int64_t>(x);
    if (what == "clicks") t.clicks = static_cast<int64_t>(x);
    if (what == "revenue") t.revenue = x;
    if (what == "revenue_sq") t.revenue_sq = x;
  }
  std::shared_ptr<const ExperimentSet> set = experiments_->Get();
  const Experiment* e = set != nullptr ? set->Find(experiment_id) : nullptr;
  if (e == nullptr && totals.empty()) {
    return absl::NotFoundError(absl::StrCat("experiment_id: \"", experiment_id, "\" is not defined and has no data"));
  }
  PrimaryMetric metric = PrimaryMetric::kConversion;
  std::string control;
  std::vector<std::string> order;
  if (e != nullptr) {
    metric = e->primary_metric;
    for (const auto& v : e->variants) {
      order.push_back(v.id);
      if (v.control) control = v.id;
    }
  } else {
    // No longer configured: its data remains; "control" is the control if there is one.
    control = totals.count("control") ? "control" : totals.begin()->first;
  }
  return BuildExperimentResults(experiment_id, metric, control, order, totals);
}

void ExperimentRecorder::Start() {
  stop_ = false;
  thread_ = std::thread([this] {
    while (true) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        if (cv_.wait_for(lock, absl::ToChronoMilliseconds(options_.flush_every), [&] { return stop_; })) break;
      }
      (void)Flush();
    }
    (void)Flush();  // what is in hand at shutdown
  });
  pthread_setname_np(thread_.native_handle(), "rec-exposures");
}

void ExperimentRecorder::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace journey::recommend
