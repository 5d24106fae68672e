#include "tests/testing/redis_cluster.h"

#include <hiredis/hiredis.h>

#include <cstdlib>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
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

}  // namespace

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
