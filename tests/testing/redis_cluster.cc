#include "tests/testing/redis_cluster.h"

#include <hiredis/hiredis.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "tests/testing/poll.h"

namespace journey::testing {
namespace {

// One command on a fresh connection; the reply as text ("" on any failure). Kept free of
// journey_common so the fixture does not depend on the client it tests.
std::string Query(int port, const char* command) {
  timeval tv{1, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port, tv);
  if (c == nullptr || c->err) {
    if (c) redisFree(c);
    return "";
  }
  redisSetTimeout(c, tv);
  auto* r = static_cast<redisReply*>(redisCommand(c, command));
  std::string out;
  if (r != nullptr && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS)) out.assign(r->str, r->len);
  if (r != nullptr) freeReplyObject(r);
  redisFree(c);
  return out;
}

// One command given as argv on a fresh connection; the reply, or nullptr. Caller frees it.
redisReply* QueryArgv(int port, const std::vector<std::string>& argv) {
  timeval tv{5, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port, tv);
  if (c == nullptr || c->err) {
    if (c) redisFree(c);
    return nullptr;
  }
  redisSetTimeout(c, tv);
  std::vector<const char*> args;
  std::vector<size_t> lens;
  for (const auto& a : argv) {
    args.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* r = static_cast<redisReply*>(redisCommandArgv(c, static_cast<int>(args.size()), args.data(), lens.data()));
  redisFree(c);
  return r;
}

absl::Status ExpectOk(int port, const std::vector<std::string>& argv) {
  redisReply* r = QueryArgv(port, argv);
  const bool ok = r != nullptr && r->type == REDIS_REPLY_STATUS && std::string(r->str, r->len) == "OK";
  std::string what = r != nullptr && r->str != nullptr ? std::string(r->str, r->len) : "no reply";
  if (r != nullptr) freeReplyObject(r);
  if (!ok) return absl::InternalError(absl::StrCat(absl::StrJoin(argv, " "), ": ", what));
  return absl::OkStatus();
}

}  // namespace

int RedisCluster::OwnerOfSlot(int slot) const {
  // CLUSTER NODES lines: <id> <ip:port@bus> <flags> <master> <ping> <pong> <epoch> <link> <slot ranges...>
  for (absl::string_view line : absl::StrSplit(Query(port(0), "CLUSTER NODES"), '\n')) {
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (f.size() < 9 || !absl::StrContains(f[2], "master")) continue;
    for (size_t i = 8; i < f.size(); ++i) {
      if (f[i].front() == '[') continue;  // a slot being imported or migrated
      std::vector<absl::string_view> range = absl::StrSplit(f[i], '-');
      int lo = 0, hi = 0;
      if (!absl::SimpleAtoi(range[0], &lo)) continue;
      hi = lo;
      if (range.size() == 2 && !absl::SimpleAtoi(range[1], &hi)) continue;
      if (slot < lo || slot > hi) continue;
      const absl::string_view address = f[1].substr(0, f[1].find('@'));
      for (int n = 0; n < size(); ++n) {
        if (this->address(n) == address) return n;
      }
    }
  }
  return -1;
}

absl::StatusOr<int> RedisCluster::MigrateSlot(int slot, int to, const std::function<void()>& after_each_key) {
  const int from = OwnerOfSlot(slot);
  if (from < 0) return absl::NotFoundError(absl::StrCat("no owner of slot ", slot));
  if (from == to) return 0;
  const std::string s = std::to_string(slot);
  const std::string from_id = Query(port(from), "CLUSTER MYID"), to_id = Query(port(to), "CLUSTER MYID");
  if (auto st = ExpectOk(port(to), {"CLUSTER", "SETSLOT", s, "IMPORTING", from_id}); !st.ok()) return st;
  if (auto st = ExpectOk(port(from), {"CLUSTER", "SETSLOT", s, "MIGRATING", to_id}); !st.ok()) return st;
  int moved = 0;
  while (true) {
    redisReply* keys = QueryArgv(port(from), {"CLUSTER", "GETKEYSINSLOT", s, "1"});
    if (keys == nullptr || keys->type != REDIS_REPLY_ARRAY) {
      if (keys != nullptr) freeReplyObject(keys);
      return absl::InternalError("CLUSTER GETKEYSINSLOT failed");
    }
    std::string key = keys->elements > 0 ? std::string(keys->element[0]->str, keys->element[0]->len) : "";
    const bool done = keys->elements == 0;
    freeReplyObject(keys);
    if (done) break;
    if (auto st = ExpectOk(port(from), {"MIGRATE", "127.0.0.1", std::to_string(port(to)), key, "0", "5000"}); !st.ok()) {
      return st;
    }
    ++moved;
    if (after_each_key) after_each_key();
  }
  for (int n = 0; n < size(); ++n) {
    if (auto st = ExpectOk(port(n), {"CLUSTER", "SETSLOT", s, "NODE", to_id}); !st.ok()) return st;
  }
  return moved;
}

RedisCluster::RedisCluster(int masters) {
  for (int i = 0; i < masters; ++i) {
    RedisServer::Options o;
    // The bus port defaults to port + 10000, which is past 65535 or taken for many free
    // ports: pick a free one explicitly (cluster-port, Redis >= 7.0).
    o.extra_args = {"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout",
                    "5000", "--cluster-port", std::to_string(FreePort())};
    nodes_.push_back(std::make_unique<RedisServer>(o));
  }
}

RedisCluster::~RedisCluster() {
  for (auto& n : nodes_) n->Stop();
}

std::string RedisCluster::url() const {
  std::string out = "redis+cluster://";
  for (int i = 0; i < size(); ++i) absl::StrAppend(&out, i ? "," : "", address(i));
  return out;
}

absl::Status RedisCluster::Start() {
  for (auto& n : nodes_) {
    if (auto s = n->Start(); !s.ok()) return s;
  }
  std::string cmd = "redis-cli --cluster create";
  for (int i = 0; i < size(); ++i) absl::StrAppend(&cmd, " ", address(i));
  absl::StrAppend(&cmd, " --cluster-yes > ", nodes_[0]->dir(), "/cluster-create.log 2>&1");
  if (std::system(cmd.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("`", cmd, "` failed, see ", nodes_[0]->dir(), "/cluster-create.log"));
  }
  return WaitHealthy();
}

absl::Status RedisCluster::WaitHealthy() {
  const bool ok = PollUntil(
      [&] {
        for (int i = 0; i < size(); ++i) {
          std::string info = Query(port(i), "CLUSTER INFO");
          if (!absl::StrContains(info, "cluster_state:ok") ||
              !absl::StrContains(info, absl::StrCat("cluster_known_nodes:", size()))) {
            return false;
          }
        }
        return true;
      },
      absl::Seconds(20), absl::Milliseconds(50));
  if (!ok) return absl::DeadlineExceededError("redis cluster did not reach cluster_state:ok");
  return absl::OkStatus();
}

}  // namespace journey::testing
