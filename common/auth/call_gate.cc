#include "common/auth/call_gate.h"

#include <google/protobuf/duration.pb.h>

#include <chrono>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/auth/api_key.h"
#include "common/auth/method_scopes.h"
#include "common/log/log.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "prometheus/counter.h"
#include "prometheus/registry.h"

namespace journey::auth {
namespace {

bool HasScope(const v1::ApiKeyInfo& key, absl::string_view scope) {
  for (const std::string& s : key.scopes()) {
    if (s == scope || s == kScopeAdmin) return true;
  }
  return false;
}

// RESOURCE_EXHAUSTED with a google.rpc.RetryInfo in the status details and a `retry-after`
// trailer (whole seconds, at least 1) for clients that read neither.
grpc::Status RateLimited(grpc::ServerContextBase* ctx, const Decision& d) {
  const int64_t ms = std::max<int64_t>(1, absl::ToInt64Milliseconds(d.retry_after));
  ctx->AddTrailingMetadata("retry-after", std::to_string((ms + 999) / 1000));
  google::rpc::RetryInfo retry;
  retry.mutable_retry_delay()->set_seconds(ms / 1000);
  retry.mutable_retry_delay()->set_nanos(static_cast<int32_t>(ms % 1000) * 1'000'000);
  google::rpc::Status details;
  details.set_code(grpc::StatusCode::RESOURCE_EXHAUSTED);
  details.set_message(std::string(d.status.message()));
  details.add_details()->PackFrom(retry);
  return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, details.message(), details.SerializeAsString());
}

// The key of "authorization: Bearer <key>": empty when there is none, nullopt when the
// metadata is there but not in that form.
std::optional<absl::string_view> BearerKey(grpc::ServerContextBase* ctx) {
  auto it = ctx->client_metadata().find("authorization");
  if (it == ctx->client_metadata().end()) return absl::string_view();
  absl::string_view value(it->second.data(), it->second.size());
  if (value.size() > 7 && absl::EqualsIgnoreCase(value.substr(0, 7), "bearer ")) {
    return absl::StripAsciiWhitespace(value.substr(7));
  }
  return std::nullopt;
}

}  // namespace

std::map<std::string, RateLimit> DefaultScopeLimits() {
  return {{std::string(kScopeIngestWrite), {2000, 4000}},   {std::string(kScopeRecommendRead), {10000, 20000}},
          {std::string(kScopeJourneyRead), {1000, 2000}},   {std::string(kScopePersonaRead), {2000, 4000}},
          {std::string(kScopePersonaSync), {500, 1000}},    {std::string(kScopeAdmin), {50, 100}}};
}

AdmittedCall::AdmittedCall(AdmittedCall&& other) noexcept
    : status_(std::move(other.status_)), gate_(other.gate_), watch_id_(other.watch_id_) {
  other.gate_ = nullptr;
  other.watch_id_ = 0;
}

AdmittedCall::~AdmittedCall() {
  if (gate_ != nullptr && watch_id_ != 0) gate_->Unwatch(watch_id_);
}

CallGate::CallGate() : unchecked_(true), limiter_(RealClock::Get()) { options_.auth_enabled = false; }

CallGate::CallGate(CallGateOptions options, KeyCache* keys, const Clock* clock, prometheus::Registry* metrics)
    : options_(std::move(options)), keys_(keys), clock_(clock), limiter_(clock) {
  if (metrics != nullptr) {
    decisions_ = &prometheus::BuildCounter()
                      .Name("journey_call_gate_total")
                      .Help("Inbound calls by gate outcome: admitted, unauthenticated, permission_denied, "
                            "rate_limited, deadline_cancelled")
                      .Register(*metrics);
    for (const char* outcome :
         {"admitted", "unauthenticated", "permission_denied", "rate_limited", "deadline_cancelled"}) {
      outcome_counters_[outcome] = &decisions_->Add({{"outcome", outcome}});
    }
  }
}

CallGate::~CallGate() { Stop(); }

CallGate* CallGate::Unchecked() {
  static CallGate* gate = new CallGate();
  return gate;
}

void CallGate::Count(absl::string_view outcome) {
  if (decisions_ == nullptr) return;
  if (auto it = outcome_counters_.find(outcome); it != outcome_counters_.end()) {
    it->second->Increment();
  } else {
    decisions_->Add({{"outcome", std::string(outcome)}}).Increment();
  }
}

bool CallGate::Enforcing() const {
  if (!options_.auth_enabled) return false;
  return !options_.open_until_first_key || keys_->HasLiveKeys(options_.workspace);
}

Decision CallGate::Authorize(absl::string_view api_key, absl::string_view scope) {
  Decision d;
  if (!Enforcing()) return d;
  if (api_key.empty()) {
    d.status = absl::UnauthenticatedError("no API key: send 'authorization: Bearer <key>' (HTTP: the write key)");
    return d;
  }
  auto key = keys_->Find(Sha256(api_key));
  if (key == nullptr) {
    d.status = absl::UnauthenticatedError("unknown or revoked API key");
    return d;
  }
  d.key = key;
  if (key->workspace_id() != options_.workspace) {
    d.status = absl::PermissionDeniedError(absl::StrCat("API key ", key->key_id(), " is not a key of workspace '",
                                                        options_.workspace, "'"));
    return d;
  }
  if (!HasScope(*key, scope)) {
    d.status = absl::PermissionDeniedError(absl::StrCat("API key ", key->key_id(), " lacks scope ", scope));
    return d;
  }
  RateLimit limit;
  if (auto it = options_.scope_limits.find(std::string(scope)); it != options_.scope_limits.end()) limit = it->second;
  if (key->rate_per_s() > 0) limit = {key->rate_per_s(), key->burst()};
  if (auto wait = limiter_.TryAcquire(key->key_id(), limit)) {
    d.status = absl::ResourceExhaustedError(absl::StrCat("API key ", key->key_id(), " is over its rate limit of ",
                                                         limit.rate_per_s, " calls/s; retry later"));
    d.retry_after = *wait;
    return d;
  }
  if (shared_limiter_ != nullptr) {
    if (auto wait = shared_limiter_->TryAcquire(key->key_id(), scope, limit)) {
      d.status = absl::ResourceExhaustedError(absl::StrCat("API key ", key->key_id(), " is over its rate limit of ",
                                                           limit.rate_per_s, " calls/s across replicas; retry later"));
      d.retry_after = *wait;
    }
  }
  return d;
}

AdmittedCall CallGate::Admit(grpc::ServerContextBase* ctx, absl::string_view full_method) {
  if (unchecked_) return AdmittedCall(grpc::Status::OK);
  const MethodPolicy* policy = FindMethodPolicy(full_method);
  if (policy == nullptr) {
    // Fail closed: a method missing from the table is a bug, not an open door.
    log::Error("method has no scope in common/auth/method_scopes.cc", {{"method", std::string(full_method)}});
    Count("permission_denied");
    return AdmittedCall(grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "method has no required scope"));
  }
  if (Enforcing()) {
    std::optional<absl::string_view> key = BearerKey(ctx);
    if (!key) {
      Count("unauthenticated");
      return AdmittedCall(
          grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "authorization metadata must be 'Bearer <key>'"));
    }
    Decision d = Authorize(*key, policy->scope);
    if (!d.status.ok()) {
      log::Debug("call refused", {{"method", std::string(full_method)},
                                  {"key_id", d.key ? d.key->key_id() : ""},
                                  {"reason", std::string(d.status.message())}});
      if (absl::IsResourceExhausted(d.status)) {
        Count("rate_limited");
        return AdmittedCall(RateLimited(ctx, d));
      }
      Count(absl::IsUnauthenticated(d.status) ? "unauthenticated" : "permission_denied");
      return AdmittedCall(
          grpc::Status(static_cast<grpc::StatusCode>(d.status.code()), std::string(d.status.message())));
    }
  }
  Count("admitted");
  AdmittedCall call(grpc::Status::OK);
  const absl::Duration limit = policy->long_lived ? options_.default_stream_deadline : options_.default_deadline;
  if (limit > absl::ZeroDuration() && ctx->deadline() == std::chrono::system_clock::time_point::max()) {
    std::lock_guard<std::mutex> lock(mu_);
    call.gate_ = this;
    call.watch_id_ = next_id_++;
    watched_[call.watch_id_] = {ctx, absl::Now() + limit};
  }
  return call;
}

void CallGate::Unwatch(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  watched_.erase(id);
}

void CallGate::Start() {
  if (unchecked_ || watchdog_.joinable()) return;
  watchdog_ = std::thread([this] { WatchLoop(); });
}

void CallGate::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (watchdog_.joinable()) watchdog_.join();
}

void CallGate::WatchLoop() {
  // A call past its default deadline is cancelled: the handler sees IsCancelled() and its
  // stream reads and writes fail, so it ends, and the client gets CANCELLED.
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    const absl::Time now = absl::Now();
    for (auto it = watched_.begin(); it != watched_.end();) {
      if (it->second.deadline <= now) {
        it->second.ctx->TryCancel();
        Count("deadline_cancelled");
        it = watched_.erase(it);
      } else {
        ++it;
      }
    }
    wake_.wait_for(lock, std::chrono::milliseconds(50), [this] { return stopping_; });
  }
}

}  // namespace journey::auth
