#include "common/storage/hiredis_client.h"

#include <charconv>

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/log/log.h"

namespace journey::storage {
namespace {

timeval AsTimeval(absl::Duration d) { return absl::ToTimeval(d); }

// Appends "<prefix><n>\r\n".
void AppendHeader(char prefix, size_t n, std::string* out) {
  char buf[24];
  buf[0] = prefix;
  auto [end, ec] = std::to_chars(buf + 1, buf + sizeof(buf) - 2, n);
  (void)ec;
  *end++ = '\r';
  *end++ = '\n';
  out->append(buf, end - buf);
}

// Commands in the Redis protocol: "*<argc>\r\n" then "$<len>\r\n<arg>\r\n" per argument.
std::string EncodeResp(const std::vector<RedisCommand>& commands) {
  size_t size = 0;
  for (const auto& cmd : commands) {
    size += 16;
    for (const auto& a : cmd) size += a.size() + 16;
  }
  std::string out;
  out.reserve(size);
  for (const auto& cmd : commands) {
    AppendHeader('*', cmd.size(), &out);
    for (const auto& a : cmd) {
      AppendHeader('$', a.size(), &out);
      out.append(a);
      out.append("\r\n", 2);
    }
  }
  return out;
}

// hiredis builds replies through these callbacks: they build our RedisReply tree directly,
// instead of hiredis's own tree that would then be copied and freed node by node (for a
// stream read of 512 entries that copying was a sixth of a journey consumer's CPU). A root
// is allocated; a child is its parent's pre-sized element, returned so that nested arrays
// can address it.
RedisReply* NodeFor(const redisReadTask* task) {
  if (task->parent == nullptr) return new RedisReply();
  auto* parent = static_cast<RedisReply*>(task->parent->obj);
  return &parent->elements[task->idx];
}

void* CreateString(const redisReadTask* task, char* str, size_t len) {
  RedisReply* r = NodeFor(task);
  r->type = task->type == REDIS_REPLY_ERROR    ? RedisReply::Type::kError
            : task->type == REDIS_REPLY_STATUS ? RedisReply::Type::kStatus
                                               : RedisReply::Type::kString;
  r->str.assign(str, len);
  return r;
}

void* CreateArray(const redisReadTask* task, int elements) {
  RedisReply* r = NodeFor(task);
  r->type = RedisReply::Type::kArray;
  if (elements > 0) r->elements.resize(static_cast<size_t>(elements));
  return r;
}

void* CreateInteger(const redisReadTask* task, long long value) {
  RedisReply* r = NodeFor(task);
  r->type = RedisReply::Type::kInteger;
  r->integer = value;
  return r;
}

void* CreateNil(const redisReadTask* task) {
  RedisReply* r = NodeFor(task);
  r->type = RedisReply::Type::kNil;
  return r;
}

// hiredis frees only roots (a reply it abandons on a protocol error).
void FreeReply(void* reply) { delete static_cast<RedisReply*>(reply); }

redisReplyObjectFunctions kReplyFunctions = {CreateString, CreateArray, CreateInteger, CreateNil, FreeReply};

}  // namespace

absl::StatusOr<std::unique_ptr<HiredisClient>> HiredisClient::Create(const HiredisOptions& options) {
  if (options.pool_size < 1) return absl::InvalidArgumentError("redis pool_size must be at least 1");
  return std::unique_ptr<HiredisClient>(new HiredisClient(options));
}

absl::StatusOr<std::unique_ptr<HiredisClient>> HiredisClient::FromUrl(const std::string& url, int pool_size) {
  auto endpoint = ParseRedisUrl(url);
  if (!endpoint.ok()) return endpoint.status();
  HiredisOptions options;
  options.endpoint = *endpoint;
  options.pool_size = pool_size;
  return Create(options);
}

HiredisClient::HiredisClient(const HiredisOptions& options) : options_(options) {
  for (int i = 0; i < options.pool_size; ++i) {
    slots_.push_back(std::make_unique<Slot>());
    free_.push_back(slots_.back().get());
  }
}

HiredisClient::~HiredisClient() {
  for (auto& slot : slots_) Drop(slot.get());
}

HiredisClient::Slot* HiredisClient::Acquire() {
  std::unique_lock<std::mutex> lock(mu_);
  available_.wait(lock, [this] { return !free_.empty(); });
  Slot* slot = free_.back();
  free_.pop_back();
  return slot;
}

void HiredisClient::Release(Slot* slot) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    free_.push_back(slot);
  }
  available_.notify_one();
}

void HiredisClient::Drop(Slot* slot) {
  if (slot->ctx != nullptr) {
    redisFree(slot->ctx);
    slot->ctx = nullptr;
  }
}

void HiredisClient::NoteFailure() {
  std::lock_guard<std::mutex> lock(mu_);
  backoff_ = backoff_ == absl::ZeroDuration() ? options_.min_backoff : std::min(backoff_ * 2, options_.max_backoff);
  next_connect_ = absl::Now() + backoff_;
}

void HiredisClient::NoteSuccess() {
  std::lock_guard<std::mutex> lock(mu_);
  backoff_ = absl::ZeroDuration();
  next_connect_ = absl::InfinitePast();
}

absl::Status HiredisClient::Connect(Slot* slot) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (absl::Now() < next_connect_) {
      return absl::UnavailableError(absl::StrCat("redis ", options_.endpoint.host, ":", options_.endpoint.port,
                                                 " unreachable (backing off)"));
    }
  }
  const RedisEndpoint& ep = options_.endpoint;
  timeval tv = AsTimeval(options_.connect_timeout);
  redisContext* ctx = redisConnectWithTimeout(ep.host.c_str(), ep.port, tv);
  if (ctx == nullptr || ctx->err) {
    std::string why = ctx ? ctx->errstr : "out of memory";
    if (ctx) redisFree(ctx);
    NoteFailure();
    return absl::UnavailableError(absl::StrCat("redis ", ep.host, ":", ep.port, " connect: ", why));
  }
  redisEnableKeepAlive(ctx);
  slot->ctx = ctx;
  slot->timeout = absl::ZeroDuration();  // a fresh socket: set on first use
  std::vector<RedisCommand> setup;
  if (!ep.password.empty()) {
    if (ep.username.empty()) setup.push_back({"AUTH", ep.password});
    else setup.push_back({"AUTH", ep.username, ep.password});
  }
  if (ep.db != 0) setup.push_back({"SELECT", std::to_string(ep.db)});
  for (const auto& cmd : setup) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& a : cmd) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    auto* r = static_cast<redisReply*>(redisCommandArgv(ctx, argv.size(), argv.data(), lens.data()));
    bool failed = r == nullptr || r->type == REDIS_REPLY_ERROR;
    std::string why = r == nullptr ? ctx->errstr : (r->type == REDIS_REPLY_ERROR ? std::string(r->str, r->len) : "");
    if (r) freeReplyObject(r);
    if (failed) {
      Drop(slot);
      NoteFailure();
      // A wrong password is a configuration error, but retrying lets a rotated secret heal.
      return absl::UnavailableError(absl::StrCat("redis ", cmd.front(), ": ", why));
    }
  }
  // From here on replies are RedisReply trees (see kReplyFunctions).
  ctx->reader->fn = &kReplyFunctions;
  return absl::OkStatus();
}

bool HiredisClient::IsTransientError(absl::string_view error) {
  // The code is the first word: "BUSY " must not match "BUSYGROUP" or "BUSYKEY".
  for (absl::string_view code : {"LOADING ", "BUSY ", "MASTERDOWN "}) {
    if (absl::StartsWith(error, code)) return true;
  }
  return false;
}

absl::StatusOr<std::vector<RedisReply>> HiredisClient::Pipeline(const std::vector<RedisCommand>& commands,
                                                                absl::Duration timeout) {
  std::vector<RedisReply> replies;
  if (commands.empty()) return replies;
  Slot* slot = Acquire();
  struct Releaser {
    HiredisClient* self;
    Slot* slot;
    ~Releaser() { self->Release(slot); }
  } releaser{this, slot};

  if (slot->ctx == nullptr) {
    if (auto status = Connect(slot); !status.ok()) return status;
  }
  redisContext* ctx = slot->ctx;
  const absl::Duration wanted = timeout == absl::ZeroDuration() ? options_.command_timeout : timeout;
  if (wanted != slot->timeout) {
    redisSetTimeout(ctx, AsTimeval(wanted));
    slot->timeout = wanted;
  }

  // The whole pipeline as RESP in one buffer, handed to hiredis once: cheaper than hiredis
  // formatting each argument (a batch write can carry thousands).
  const std::string wire = EncodeResp(commands);
  if (redisAppendFormattedCommand(ctx, wire.data(), wire.size()) != REDIS_OK) {
    std::string why = ctx->errstr;
    Drop(slot);
    NoteFailure();
    return absl::UnavailableError(absl::StrCat("redis append: ", why));
  }
  replies.reserve(commands.size());
  for (size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(ctx, &raw) != REDIS_OK || raw == nullptr) {
      std::string why = ctx->errstr;
      bool timed_out = ctx->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK);
      // The connection's state is unknown after a failed read: never reuse it.
      Drop(slot);
      NoteFailure();
      return absl::UnavailableError(
          absl::StrCat("redis ", commands[i].front(), timed_out ? ": timed out" : ": ", timed_out ? "" : why));
    }
    std::unique_ptr<RedisReply> reply(static_cast<RedisReply*>(raw));
    replies.push_back(std::move(*reply));
  }
  NoteSuccess();
  for (const RedisReply& r : replies) {
    // Redis up but not serving yet (loading its AOF after a restart), or stuck in a script:
    // every command gets this error, so the pipeline as a whole is Unavailable, as when the
    // connection is down, and callers retry instead of failing the request for good.
    if (r.is_error() && IsTransientError(r.str)) {
      return absl::UnavailableError(absl::StrCat("redis ", options_.endpoint.host, ":", options_.endpoint.port,
                                                 " not serving: ", r.str));
    }
  }
  return replies;
}

}  // namespace journey::storage
