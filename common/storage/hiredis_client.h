// RedisClient over hiredis: a fixed pool of blocking connections, each command with a
// timeout, broken connections dropped and re-opened with exponential backoff.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/storage/redis_client.h"
#include "common/storage/redis_url.h"

struct redisContext;

namespace journey::storage {

struct HiredisOptions {
  RedisEndpoint endpoint;
  int pool_size = 8;
  absl::Duration connect_timeout = absl::Milliseconds(500);
  absl::Duration command_timeout = absl::Seconds(2);
  absl::Duration min_backoff = absl::Milliseconds(20);
  absl::Duration max_backoff = absl::Seconds(1);
};

class HiredisClient final : public RedisClient {
 public:
  // Does not connect: connections open on first use, so a service can start while Redis
  // is still coming up.
  static absl::StatusOr<std::unique_ptr<HiredisClient>> Create(const HiredisOptions& options);
  static absl::StatusOr<std::unique_ptr<HiredisClient>> FromUrl(const std::string& url, int pool_size = 8);
  ~HiredisClient() override;

  absl::StatusOr<std::vector<RedisReply>> Pipeline(const std::vector<RedisCommand>& commands,
                                                   absl::Duration timeout = absl::ZeroDuration()) override;

  // An error reply that means Redis is not serving right now (LOADING, BUSY, MASTERDOWN),
  // rather than a refused command; a pipeline that gets one fails as Unavailable.
  static bool IsTransientError(absl::string_view error);

 private:
  explicit HiredisClient(const HiredisOptions& options);

  // A pooled connection slot; ctx is null while disconnected.
  struct Slot {
    redisContext* ctx = nullptr;
    // The socket timeout last set on ctx: setting it costs two syscalls, so only on change.
    absl::Duration timeout = absl::ZeroDuration();
  };

  Slot* Acquire();
  void Release(Slot* slot);
  absl::Status Connect(Slot* slot);
  void Drop(Slot* slot);
  void NoteFailure();
  void NoteSuccess();

  const HiredisOptions options_;
  std::mutex mu_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<Slot*> free_;
  // Shared reconnect backoff: while Redis is down, callers fail fast instead of each
  // waiting out a connect timeout.
  absl::Time next_connect_ = absl::InfinitePast();
  absl::Duration backoff_ = absl::ZeroDuration();
};

}  // namespace journey::storage
