// What every inbound call passes before its handler runs: the API key (authorization:
// Bearer <key>), its workspace against the one this process serves, the scope the method
// needs (method_scopes.h), the key's rate limit, and a default deadline for calls that set
// none. Services call Admit() first thing in each handler (see gated_service.h); it does not
// depend on how the server's transport credentials are built, so TLS composes with it.
#pragma once

#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/auth/key_cache.h"
#include "common/auth/rate_limiter.h"
#include "common/auth/shared_rate_limiter.h"
#include "common/time/clock.h"

namespace prometheus {
class Registry;
template <typename T>
class Family;
class Counter;
}  // namespace prometheus

namespace journey::auth {

struct CallGateOptions {
  bool auth_enabled = true;
  // --auth=auto: while the workspace has no live key at all, calls are admitted without one
  // (a fresh local suite, the black-box probes); the first key created switches checking on
  // for every replica within a refresh. --auth=on refuses keyless calls from the start.
  bool open_until_first_key = false;
  std::string workspace = "default";
  // Applied to a call whose client set no deadline; long-lived streams get
  // default_stream_deadline instead (zero = none).
  absl::Duration default_deadline = absl::Seconds(30);
  absl::Duration default_stream_deadline = absl::ZeroDuration();
  // Per scope; a key's own rate_per_s/burst win. A key with several scopes is limited by
  // the limit of the scope the call needs.
  std::map<std::string, RateLimit> scope_limits;
};

// The defaults of --rate_limits (calls per second per key and replica / burst).
std::map<std::string, RateLimit> DefaultScopeLimits();

// A decision about one call; for the Segment HTTP API too.
struct Decision {
  absl::Status status;                         // Unauthenticated, PermissionDenied, ResourceExhausted
  absl::Duration retry_after;                  // with ResourceExhausted
  std::shared_ptr<const v1::ApiKeyInfo> key;   // the caller's key when authenticated
};

class CallGate;

// Holds an admitted call's registration with the deadline watchdog; keep it alive for the
// whole handler.
class AdmittedCall {
 public:
  AdmittedCall(grpc::Status status) : status_(std::move(status)) {}
  AdmittedCall(AdmittedCall&& other) noexcept;
  AdmittedCall& operator=(AdmittedCall&&) = delete;
  ~AdmittedCall();

  bool ok() const { return status_.ok(); }
  const grpc::Status& status() const { return status_; }

 private:
  friend class CallGate;
  grpc::Status status_;
  CallGate* gate_ = nullptr;
  uint64_t watch_id_ = 0;
};

class CallGate {
 public:
  // `keys` may be null only when auth is off. `metrics` may be null.
  CallGate(CallGateOptions options, KeyCache* keys, const Clock* clock, prometheus::Registry* metrics = nullptr);
  ~CallGate();

  // Admits everything and watches no deadline: the gate of services built outside a
  // ServiceRuntime (unit tests of the handlers).
  static CallGate* Unchecked();

  // `full_method` is "journey.ingest.v1.Ingest/Track".
  AdmittedCall Admit(grpc::ServerContextBase* ctx, absl::string_view full_method);
  // The key checks alone, for a caller that is not gRPC (the Segment HTTP write key).
  Decision Authorize(absl::string_view api_key, absl::string_view scope);

  bool auth_enabled() const { return options_.auth_enabled; }
  // Keys are checked now: auth on, or auto once the workspace has a key.
  bool Enforcing() const;
  const std::string& workspace() const { return options_.workspace; }

  // The deadline watchdog.
  void Start();
  void Stop();
  // Caps each key's calls summed over the replicas too (null = per replica only).
  void SetSharedLimiter(SharedRateLimiter* shared) { shared_limiter_ = shared; }

 private:
  friend class AdmittedCall;
  struct Watched {
    grpc::ServerContextBase* ctx;
    absl::Time deadline;
  };
  CallGate();  // Unchecked
  void Unwatch(uint64_t id);
  void WatchLoop();
  void Count(absl::string_view outcome);

  bool unchecked_ = false;
  CallGateOptions options_;
  KeyCache* keys_ = nullptr;
  const Clock* clock_ = nullptr;
  RateLimiter limiter_;
  SharedRateLimiter* shared_limiter_ = nullptr;
  prometheus::Family<prometheus::Counter>* decisions_ = nullptr;
  // The counter of each outcome, found once: Family::Add builds and hashes a label map under
  // the family's lock, which every call would pay.
  std::map<std::string, prometheus::Counter*, std::less<>> outcome_counters_;

  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  uint64_t next_id_ = 1;
  std::map<uint64_t, Watched> watched_;
  std::thread watchdog_;
};

}  // namespace journey::auth
