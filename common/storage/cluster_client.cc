#include "common/storage/cluster_client.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <functional>
#include <thread>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/log/log.h"
#include "common/storage/redis_key_slot.h"

namespace journey::storage {
namespace {

std::string Address(absl::string_view host, long long port) { return absl::StrCat(host, ":", port); }

bool SplitAddress(absl::string_view address, std::string* host, int* port) {
  auto colon = address.rfind(':');
  if (colon == absl::string_view::npos) return false;
  *host = std::string(address.substr(0, colon));
  return absl::SimpleAtoi(address.substr(colon + 1), port) && !host->empty();
}

// What an error reply asks the client to do.
struct Redirect {
  enum class Kind { kNone, kMoved, kAsk, kRetry } kind = Kind::kNone;
  int slot = -1;
  std::string address;
};

Redirect RedirectOf(const RedisReply& reply) {
  Redirect r;
  if (!reply.is_error()) return r;
  const bool moved = absl::StartsWith(reply.str, "MOVED ");
  if (moved || absl::StartsWith(reply.str, "ASK ")) {
    std::vector<std::string> parts = absl::StrSplit(reply.str, ' ', absl::SkipEmpty());
    if (parts.size() == 3 && absl::SimpleAtoi(parts[1], &r.slot)) {
      r.kind = moved ? Redirect::Kind::kMoved : Redirect::Kind::kAsk;
      r.address = parts[2];
    }
    return r;
  }
  // TRYAGAIN: a multi-key command whose keys a migration split; CLUSTERDOWN: no quorum yet.
  if (absl::StartsWith(reply.str, "TRYAGAIN") || absl::StartsWith(reply.str, "CLUSTERDOWN")) {
    r.kind = Redirect::Kind::kRetry;
  }
  return r;
}

RedisReply StatusReply(std::string text) {
  RedisReply r;
  r.type = RedisReply::Type::kStatus;
  r.str = std::move(text);
  return r;
}

bool IsCommand(const RedisCommand& c, absl::string_view name) {
  return !c.empty() && absl::EqualsIgnoreCase(c[0], name);
}

}  // namespace

// One command, or the commands of one transaction that share a slot (Redis Cluster runs a
// transaction only when all its keys are in one slot).
struct RedisClusterClient::Unit {
  std::vector<size_t> commands;  // indices into the caller's pipeline
  int txn = -1;                  // index into the pipeline's transactions, -1 = plain command
  int slot = -1;                 // -1 = no key: any master
  bool broadcast = false;        // to every master; the first master's reply is the answer
  bool answers = true;           // false for the extra copies of a broadcast
  Target target;                 // set by MOVED/ASK for the next round; empty = slot map
};

// A fixed pool of threads running the per-master sends of multi-master pipelines. Tasks
// never wait on other tasks, so a full queue only delays, it cannot deadlock.
class RedisClusterClient::FanOut {
 public:
  explicit FanOut(int threads) {
    for (int i = 0; i < std::max(1, threads); ++i) {
      threads_.emplace_back([this] {
        std::unique_lock<std::mutex> lock(mu_);
        while (true) {
          cv_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
          if (tasks_.empty()) return;  // stopping, and nothing left to run
          auto task = std::move(tasks_.front());
          tasks_.pop_front();
          lock.unlock();
          task();
          lock.lock();
        }
      });
    }
  }
  ~FanOut() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }

  // Runs every task, the first one on the calling thread, and returns when all are done.
  void RunAll(std::vector<std::function<void()>>& tasks) {
    if (tasks.empty()) return;
    std::mutex done_mu;
    std::condition_variable done_cv;
    size_t remaining = tasks.size() - 1;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (size_t i = 1; i < tasks.size(); ++i) {
        tasks_.push_back([&, i] {
          tasks[i]();
          std::lock_guard<std::mutex> done_lock(done_mu);
          if (--remaining == 0) done_cv.notify_one();
        });
      }
    }
    cv_.notify_all();
    tasks[0]();
    std::unique_lock<std::mutex> done_lock(done_mu);
    done_cv.wait(done_lock, [&] { return remaining == 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

absl::StatusOr<std::unique_ptr<RedisClusterClient>> RedisClusterClient::Create(const ClusterOptions& options) {
  if (options.seeds.empty()) return absl::InvalidArgumentError("redis cluster: no seed nodes");
  if (options.pool_size_per_node < 1) return absl::InvalidArgumentError("redis cluster: pool_size_per_node < 1");
  for (const auto& seed : options.seeds) {
    if (seed.db != 0) return absl::InvalidArgumentError("redis cluster: only database 0 exists on a cluster");
  }
  return std::unique_ptr<RedisClusterClient>(new RedisClusterClient(options));
}

RedisClusterClient::RedisClusterClient(const ClusterOptions& options)
    : options_(options), slot_owner_(kClusterSlots, -1), fanout_(std::make_unique<FanOut>(options.fanout_threads)) {}

RedisClusterClient::~RedisClusterClient() = default;

HiredisClient* RedisClusterClient::Node(const std::string& address) {
  std::lock_guard<std::mutex> lock(nodes_mu_);
  auto it = nodes_.find(address);
  if (it != nodes_.end()) return it->second.get();
  HiredisOptions o;
  const RedisEndpoint& seed = options_.seeds.front();
  o.endpoint.username = seed.username;
  o.endpoint.password = seed.password;
  if (!SplitAddress(address, &o.endpoint.host, &o.endpoint.port)) {
    o.endpoint.host = address;  // Redis always sends host:port; keep going rather than crash
  }
  o.pool_size = options_.pool_size_per_node;
  o.connect_timeout = options_.connect_timeout;
  o.command_timeout = options_.command_timeout;
  auto client = HiredisClient::Create(o);
  HiredisClient* raw = client.ok() ? client->get() : nullptr;
  if (raw != nullptr) nodes_.emplace(address, std::move(*client));
  return raw;
}

std::vector<std::string> RedisClusterClient::Masters() const {
  std::shared_lock<std::shared_mutex> lock(map_mu_);
  std::set<int> owners(slot_owner_.begin(), slot_owner_.end());
  std::vector<std::string> out;
  for (int o : owners) {
    if (o >= 0) out.push_back(node_addresses_[o]);
  }
  return out;
}

absl::StatusOr<RedisReply> RedisClusterClient::ScanAllMasters(const RedisCommand& scan, absl::Duration timeout) {
  // The cluster cursor is "<master>:<that master's cursor>", masters in address order; "0"
  // starts at the first and ends after the last, as a single Redis's cursor does.
  if (scan.size() < 2) return absl::InvalidArgumentError("SCAN: cursor missing");
  std::vector<std::string> masters = Masters();
  std::sort(masters.begin(), masters.end());
  if (masters.empty()) return absl::UnavailableError("redis cluster: no master known");
  size_t master = 0;
  std::string node_cursor = "0";
  if (scan[1] != "0") {
    const size_t colon = scan[1].find(':');
    if (colon == std::string::npos || !absl::SimpleAtoi(scan[1].substr(0, colon), &master)) {
      return absl::InvalidArgumentError(absl::StrCat("SCAN: not a cluster cursor: '", scan[1], "'"));
    }
    node_cursor = scan[1].substr(colon + 1);
    if (master >= masters.size()) master = masters.size() - 1;  // a master left: finish on the last
  }
  HiredisClient* node = Node(masters[master]);
  if (node == nullptr) return absl::UnavailableError(absl::StrCat("redis cluster: cannot reach ", masters[master]));
  RedisCommand on_node = scan;
  on_node[1] = node_cursor;
  auto replies = node->Pipeline({on_node}, timeout);
  if (!replies.ok()) return replies.status();
  RedisReply reply = std::move(replies->front());
  if (reply.is_error() || !reply.is_array() || reply.elements.size() != 2) return reply;
  if (reply.elements[0].str == "0") {
    reply.elements[0].str = master + 1 < masters.size() ? absl::StrCat(master + 1, ":0") : "0";
  } else {
    reply.elements[0].str = absl::StrCat(master, ":", reply.elements[0].str);
  }
  return reply;
}

std::string RedisClusterClient::MasterOfSlot(int slot) const {
  std::shared_lock<std::shared_mutex> lock(map_mu_);
  if (slot < 0 || slot >= kClusterSlots || slot_owner_[slot] < 0) return "";
  return node_addresses_[slot_owner_[slot]];
}

void RedisClusterClient::NoteMoved(int slot, const std::string& address) {
  {
    std::unique_lock<std::shared_mutex> lock(map_mu_);
    if (slot >= 0 && slot < kClusterSlots) {
      auto it = std::find(node_addresses_.begin(), node_addresses_.end(), address);
      int index = static_cast<int>(it - node_addresses_.begin());
      if (it == node_addresses_.end()) node_addresses_.push_back(address);
      slot_owner_[slot] = index;
    }
  }
  stale_ = true;  // one MOVED usually means a whole range moved: re-read the map soon
}

absl::Status RedisClusterClient::RefreshSlots() {
  std::lock_guard<std::mutex> lock(refresh_mu_);
  // Ask the masters we know first (they have the newest view), then the seeds.
  std::vector<std::string> candidates = Masters();
  for (const auto& seed : options_.seeds) {
    std::string a = Address(seed.host, seed.port);
    if (std::find(candidates.begin(), candidates.end(), a) == candidates.end()) candidates.push_back(a);
  }
  absl::Status last = absl::UnavailableError("redis cluster: no node to ask for CLUSTER SLOTS");
  for (const auto& address : candidates) {
    HiredisClient* node = Node(address);
    if (node == nullptr) continue;
    auto reply = node->Command({"CLUSTER", "SLOTS"});
    if (!reply.ok()) {
      last = reply.status();
      continue;
    }
    std::string queried_host;
    int queried_port = 0;
    SplitAddress(address, &queried_host, &queried_port);
    std::vector<int> owners(kClusterSlots, -1);
    std::vector<std::string> addresses;
    size_t covered = 0;
    for (const RedisReply& range : reply->elements) {
      if (!range.is_array() || range.elements.size() < 3 || !range.elements[2].is_array() ||
          range.elements[2].elements.size() < 2) {
        continue;
      }
      const long long first = range.elements[0].integer;
      const long long last_slot = range.elements[1].integer;
      const RedisReply& master = range.elements[2];
      std::string host = master.elements[0].str;
      // "" or "?" when the node does not know how it is reached: the address we used.
      if (host.empty() || host == "?") host = queried_host;
      const std::string a = Address(host, master.elements[1].integer);
      auto it = std::find(addresses.begin(), addresses.end(), a);
      int index = static_cast<int>(it - addresses.begin());
      if (it == addresses.end()) addresses.push_back(a);
      for (long long s = std::max(0LL, first); s <= last_slot && s < kClusterSlots; ++s) {
        owners[s] = index;
        ++covered;
      }
    }
    if (covered == 0) {
      last = absl::UnavailableError(absl::StrCat("redis cluster: ", address, " serves no slots (not created yet?)"));
      continue;
    }
    {
      std::unique_lock<std::shared_mutex> map_lock(map_mu_);
      slot_owner_ = std::move(owners);
      node_addresses_ = std::move(addresses);
      have_slots_ = true;
    }
    stale_ = false;
    last_refresh_ = absl::Now();
    ++refreshes_;
    return absl::OkStatus();
  }
  stale_ = true;
  last_refresh_ = absl::Now();
  return last;
}

absl::Status RedisClusterClient::EnsureSlots() {
  {
    std::shared_lock<std::shared_mutex> lock(map_mu_);
    if (have_slots_) return absl::OkStatus();
  }
  return RefreshSlots();
}

absl::Status RedisClusterClient::RefreshSlotsIfStale() {
  if (!stale_) return absl::OkStatus();
  {
    std::lock_guard<std::mutex> lock(refresh_mu_);
    if (absl::Now() - last_refresh_ < options_.min_refresh_interval) return absl::OkStatus();
  }
  return RefreshSlots();
}

absl::StatusOr<std::vector<RedisReply>> RedisClusterClient::Pipeline(const std::vector<RedisCommand>& commands,
                                                                     absl::Duration timeout) {
  std::vector<RedisReply> results(commands.size());
  if (commands.empty()) return results;
  if (auto status = EnsureSlots(); !status.ok()) return status;
  (void)RefreshSlotsIfStale();  // a failed refresh leaves the old map, which MOVED corrects
  for (const RedisCommand& c : commands) {
    if (!IsCommand(c, "SCAN")) continue;
    if (commands.size() != 1) return absl::InvalidArgumentError("redis cluster pipeline: SCAN must be sent alone");
    auto page = ScanAllMasters(c, timeout);
    if (!page.ok()) return page.status();
    results[0] = std::move(*page);
    return results;
  }

  // Units: plain commands one by one; each MULTI..EXEC split by slot.
  struct Txn {
    size_t multi = 0, exec = 0;
    std::vector<size_t> inner;
    std::optional<RedisReply> failure;  // EXEC's own error (EXECABORT, nil after WATCH)
  };
  std::vector<Txn> txns;
  std::vector<RedisReply> inner_results(commands.size());
  std::vector<Unit> pending;
  for (size_t i = 0; i < commands.size(); ++i) {
    const RedisCommand& c = commands[i];
    if (IsCommand(c, "EXEC") || IsCommand(c, "DISCARD") || IsCommand(c, "WATCH")) {
      return absl::InvalidArgumentError(absl::StrCat("redis cluster pipeline: ", c[0],
                                                     " is only supported as the end of MULTI ... EXEC"));
    }
    if (!IsCommand(c, "MULTI")) {
      CommandRoute route = RouteOf(c);
      Unit u;
      u.commands = {i};
      u.slot = route.kind == CommandRoute::Kind::kKeyed ? route.slot : -1;
      u.broadcast = route.kind == CommandRoute::Kind::kAllMasters;
      pending.push_back(std::move(u));
      continue;
    }
    Txn t;
    t.multi = i;
    size_t j = i + 1;
    for (; j < commands.size() && !IsCommand(commands[j], "EXEC"); ++j) {
      if (IsCommand(commands[j], "MULTI") || IsCommand(commands[j], "DISCARD") || IsCommand(commands[j], "WATCH")) {
        return absl::InvalidArgumentError(absl::StrCat("redis cluster pipeline: ", commands[j][0], " inside MULTI"));
      }
      t.inner.push_back(j);
    }
    if (j == commands.size()) return absl::InvalidArgumentError("redis cluster pipeline: MULTI without EXEC");
    t.exec = j;
    // Group by slot in order; keyless commands join the first keyed group.
    std::vector<Unit> groups;
    int home = -1;
    for (size_t k : t.inner) {
      CommandRoute route = RouteOf(commands[k]);
      int slot = route.kind == CommandRoute::Kind::kKeyed ? route.slot : -1;
      if (slot < 0 && home >= 0) slot = home;
      if (home < 0 && slot >= 0) home = slot;
      auto g = std::find_if(groups.begin(), groups.end(), [&](const Unit& u) { return u.slot == slot; });
      if (g == groups.end()) {
        Unit u;
        u.txn = static_cast<int>(txns.size());
        u.slot = slot;
        groups.push_back(std::move(u));
        g = groups.end() - 1;
      }
      g->commands.push_back(k);
    }
    for (auto& g : groups) {
      if (g.slot < 0 && home >= 0) g.slot = home;  // keyless commands seen before the first key
      pending.push_back(std::move(g));
    }
    txns.push_back(std::move(t));
    i = j;
  }

  int redirect_rounds = 0;
  absl::Duration pause = options_.retry_pause;
  absl::Time retry_deadline = absl::InfiniteFuture();  // set at the first TRYAGAIN/CLUSTERDOWN
  for (int round = 0; !pending.empty(); ++round) {
    if (round > 0) (void)RefreshSlotsIfStale();
    const std::vector<std::string> masters = Masters();
    if (masters.empty()) return absl::UnavailableError("redis cluster: no master known");

    // Route: a redirect wins, then the slot map; broadcasts fan out to every master.
    std::vector<Unit> routed;
    for (Unit& u : pending) {
      if (u.broadcast && u.target.node.empty()) {
        for (size_t m = 0; m < masters.size(); ++m) {
          Unit copy = u;
          copy.target = {masters[m], false};
          copy.answers = m == 0;
          routed.push_back(std::move(copy));
        }
        continue;
      }
      if (u.target.node.empty()) {
        std::string owner = u.slot >= 0 ? MasterOfSlot(u.slot) : "";
        u.target.node = owner.empty() ? masters.front() : owner;
      }
      routed.push_back(std::move(u));
    }

    // One batch per node, units in the caller's order.
    struct Batch {
      std::string node;
      std::vector<RedisCommand> commands;
      std::vector<std::pair<size_t, size_t>> units;  // (index in routed, first reply offset)
      absl::StatusOr<std::vector<RedisReply>> replies;
    };
    std::vector<Batch> batches;
    for (size_t u = 0; u < routed.size(); ++u) {
      const Unit& unit = routed[u];
      auto b = std::find_if(batches.begin(), batches.end(), [&](const Batch& x) { return x.node == unit.target.node; });
      if (b == batches.end()) {
        batches.push_back(Batch{unit.target.node, {}, {}, absl::UnknownError("not sent")});
        b = batches.end() - 1;
      }
      b->units.emplace_back(u, b->commands.size());
      if (unit.target.asking) b->commands.push_back({"ASKING"});
      if (unit.txn >= 0) b->commands.push_back({"MULTI"});
      for (size_t k : unit.commands) b->commands.push_back(commands[k]);
      if (unit.txn >= 0) b->commands.push_back({"EXEC"});
    }
    auto send = [&](Batch* b) {
      HiredisClient* node = Node(b->node);
      if (node == nullptr) {
        b->replies = absl::UnavailableError(absl::StrCat("redis cluster: bad node address ", b->node));
        return;
      }
      b->replies = node->Pipeline(b->commands, timeout);
    };
    std::vector<std::function<void()>> sends;
    for (Batch& b : batches) sends.push_back([&send, &b] { send(&b); });
    fanout_->RunAll(sends);

    std::vector<Unit> next;
    bool retry = false;
    for (Batch& b : batches) {
      if (!b.replies.ok()) {
        stale_ = true;  // the node may have failed over: re-read the map on the next call
        return absl::UnavailableError(absl::StrCat("redis cluster node ", b.node, ": ", b.replies.status().message()));
      }
      const std::vector<RedisReply>& replies = *b.replies;
      for (const auto& [u, first] : b.units) {
        Unit& unit = routed[u];
        size_t at = first + (unit.target.asking ? 1 : 0);
        Redirect redirect;
        if (unit.txn < 0) {
          redirect = RedirectOf(replies[at]);
          if (redirect.kind == Redirect::Kind::kNone && unit.answers) results[unit.commands[0]] = replies[at];
        } else {
          // MULTI's +OK, one reply per queued command, then EXEC. A redirect at queue time
          // aborts the EXEC (EXECABORT); at EXEC time it comes back as EXEC's own error.
          const size_t exec_at = at + 1 + unit.commands.size();
          for (size_t k = 0; k < unit.commands.size() && redirect.kind == Redirect::Kind::kNone; ++k) {
            redirect = RedirectOf(replies[at + 1 + k]);
          }
          if (redirect.kind == Redirect::Kind::kNone) redirect = RedirectOf(replies[exec_at]);
          if (redirect.kind == Redirect::Kind::kNone) {
            const RedisReply& exec = replies[exec_at];
            if (exec.is_array() && exec.elements.size() == unit.commands.size()) {
              for (size_t k = 0; k < unit.commands.size(); ++k) inner_results[unit.commands[k]] = exec.elements[k];
            } else {
              txns[unit.txn].failure = exec;
              for (size_t k = 0; k < unit.commands.size(); ++k) {
                inner_results[unit.commands[k]] = replies[at + 1 + k];
              }
            }
          }
        }
        switch (redirect.kind) {
          case Redirect::Kind::kNone:
            break;
          case Redirect::Kind::kMoved:
            ++moved_;
            NoteMoved(redirect.slot, redirect.address);
            unit.target = {redirect.address, false};
            next.push_back(std::move(unit));
            break;
          case Redirect::Kind::kAsk:
            ++ask_;
            unit.target = {redirect.address, true};
            next.push_back(std::move(unit));
            break;
          case Redirect::Kind::kRetry:
            ++retried_;
            unit.target = {};
            retry = true;
            next.push_back(std::move(unit));
            break;
        }
      }
    }
    std::sort(next.begin(), next.end(),
              [](const Unit& a, const Unit& b) { return a.commands.front() < b.commands.front(); });
    pending = std::move(next);
    if (pending.empty()) break;
    if (retry) {
      const absl::Time now = absl::Now();
      if (retry_deadline == absl::InfiniteFuture()) retry_deadline = now + options_.retry_budget;
      if (now + pause > retry_deadline) {
        return absl::UnavailableError(absl::StrCat("redis cluster: TRYAGAIN/CLUSTERDOWN for ",
                                                   absl::FormatDuration(options_.retry_budget),
                                                   " (slot migration or failover in progress)"));
      }
      absl::SleepFor(pause);
      pause = std::min(pause * 2, options_.max_retry_pause);
    } else if (++redirect_rounds > options_.max_redirects) {
      return absl::UnavailableError(absl::StrCat("redis cluster: still redirected after ", options_.max_redirects,
                                                 " rounds (slot migration or failover in progress)"));
    }
  }

  for (Txn& t : txns) {
    results[t.multi] = StatusReply("OK");
    RedisReply exec;
    exec.type = RedisReply::Type::kArray;
    for (size_t k : t.inner) {
      const bool queue_error = t.failure.has_value() && inner_results[k].is_error();
      results[k] = queue_error ? inner_results[k] : StatusReply("QUEUED");
      exec.elements.push_back(inner_results[k]);
    }
    results[t.exec] = t.failure.has_value() ? *t.failure : std::move(exec);
  }
  return results;
}

}  // namespace journey::storage
