// Open-loop load on Recommend.GetRecommendations: requests leave at a fixed rate whatever
// the server does, and each latency is measured from the request's intended send time (so
// a stall shows up as latency, not as a lower rate). The same run first measures an empty
// gRPC call (grpc.health.v1.Health/Check) on the same server, so the recommend overhead
// reads as a ratio. The server runs in this process with the production wiring, a private
// redis-server (unless --redis_url), a synthetic catalog of --offers offers and --products
// products, a model trained on synthetic sessions, and customer snapshots in Redis.
// Prints JSON, including the CPU time each phase cost per request: this process (server
// and load generator together; the empty-call phase shows what the load generator and
// gRPC alone cost) and the private redis-server, so runs on a busy machine compare.
#include <google/protobuf/arena.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <random>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "bench/process_cpu.h"
#include "common/server/service_runtime.h"
#include "common/storage/hiredis_client.h"
#include "common/storage/keys.h"
#include "services/recommend/catalog_admin.h"
#include "services/recommend/experiment_assigner.h"
#include "services/recommend/experiment_config.h"
#include "services/recommend/experiment_recorder.h"
#include "services/recommend/feedback.h"
#include "services/recommend/periodic_task.h"
#include "services/recommend/queued_health.h"
#include "services/recommend/recommend_logic.h"
#include "services/recommend/recommend_service.h"
#include "services/recommend/recommendation_queues.h"
#include "services/recommend/stream_learner.h"
#include "tests/testing/redis_server.h"

ABSL_FLAG(double, rate, 5000, "requests per second");
ABSL_FLAG(double, seconds, 10, "duration of each phase");
ABSL_FLAG(int, offers, 1000, "offers in the catalog");
ABSL_FLAG(int, products, 100000, "products in the catalog");
ABSL_FLAG(int, users, 20000, "customers with snapshots in Redis");
ABSL_FLAG(std::string, redis_url, "", "Redis to use; empty = start a private redis-server");
ABSL_FLAG(int, recommend_threads, 4, "threads answering GetRecommendations, as the service's flag");
ABSL_FLAG(int, recommend_queues, 0, "completion queues those threads share (0 = one per thread), as the service's flag");
ABSL_FLAG(bool, promotion_gate, false,
          "apply the orchestration rules to promotional offers (global cap 3/day, cool-downs), as main.cc does");
ABSL_FLAG(bool, experiments, false,
          "also measure with two running experiments and a 5% holdout: the recommend load runs in four "
          "alternating halves (off, on, off, on) and the JSON adds the overhead at p50/p99");

namespace {

using namespace journey;
using namespace journey::recommend;
using SteadyClock = std::chrono::steady_clock;

const char* kStages[] = {"AWARENESS", "CONSIDERATION", "DECISION", "PURCHASE", "POST_PURCHASE", "LOYALTY"};

std::vector<v1::Offer> SyntheticOffers(int n, std::mt19937_64& rng) {
  std::vector<v1::Offer> offers;
  for (int i = 0; i < n; ++i) {
    v1::Offer o;
    o.set_id(absl::StrCat("offer-", i));
    o.set_kind(static_cast<v1::OfferKind>(1 + i % 8));
    o.set_title(absl::StrCat("Offer ", i));
    o.add_stages(kStages[i % 6]);
    if (i % 7 == 0) o.add_stages(kStages[(i + 1) % 6]);
    for (int p = 1; p <= 6; ++p) {
      if ((i + p) % 3 == 0) o.add_placements(static_cast<v1::Placement>(p));
    }
    if (i % 10 == 0) o.add_segments(absl::StrCat("seg-", i % 20));
    if (i % 9 == 0) o.set_consent_purpose("marketing");
    if (i % 3 == 0) o.set_cap_per_day(3);
    if (i % 5 == 0) o.set_cap_lifetime(20);
    o.set_priority(static_cast<int>(rng() % 3));
    o.set_weight(0.5 + (rng() % 100) / 100.0);
    offers.push_back(std::move(o));
  }
  return offers;
}

// Zipf-like product popularity with locality: the next item in a session is near the last.
std::string ProductAt(uint64_t i) { return absl::StrCat("p", i); }

struct Phase {
  std::vector<int64_t> latency_ns;
  std::atomic<int64_t> done{0};
  std::atomic<int64_t> errors{0};
  std::atomic<int64_t> degraded{0};
  double elapsed_s = 0;
  double process_cpu_s = 0;  // user + system of this process during the phase
  double redis_cpu_s = -1;   // of the private redis-server; -1 = not known (--redis_url)
  int64_t context_switches = 0;  // of this process's threads during the phase
  std::map<std::string, double> thread_cpu_s;  // by thread name (threads that ended are missing)
};

// -1 = not known (no private redis-server to read).
double OtherProcessCpuSeconds(pid_t pid) { return pid <= 0 ? -1 : bench::ProcessCpuSeconds(pid); }

// CPU seconds of this process's threads, summed by thread name (where the time goes).
std::map<std::string, double> CpuByThreadName() {
  std::map<std::string, double> out;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) {
    std::string name;
    const double cpu = bench::StatFileCpuSeconds(entry.path().string() + "/stat", &name);
    if (cpu >= 0) out[name] += cpu;
  }
  return out;
}

void Report(const char* name, Phase& phase, bool last) {
  std::vector<int64_t> v(phase.latency_ns.begin(), phase.latency_ns.end());
  std::sort(v.begin(), v.end());
  auto q = [&](double p) { return v.empty() ? 0.0 : v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))] / 1e6; };
  const double per_request_us = v.empty() ? 0.0 : 1e6 / static_cast<double>(v.size());
  std::printf("  \"%s\": {\"requests\": %zu, \"achieved_rps\": %.0f, \"p50_ms\": %.3f, \"p99_ms\": %.3f, "
              "\"p999_ms\": %.3f, \"max_ms\": %.3f, \"errors\": %lld, \"degraded\": %lld, "
              "\"process_cpu_us_per_request\": %.1f, \"redis_cpu_us_per_request\": %.1f, "
              "\"context_switches_per_request\": %.1f},\n",
              name, v.size(), v.size() / phase.elapsed_s, q(0.5), q(0.99), q(0.999), v.empty() ? 0.0 : v.back() / 1e6,
              static_cast<long long>(phase.errors.load()), static_cast<long long>(phase.degraded.load()),
              phase.process_cpu_s * per_request_us, phase.redis_cpu_s < 0 ? -1.0 : phase.redis_cpu_s * per_request_us,
              v.empty() ? 0.0 : static_cast<double>(phase.context_switches) / static_cast<double>(v.size()));
  std::printf("  \"%s_thread_cpu_us_per_request\": {", name);
  bool first = true;
  for (const auto& [thread, cpu] : phase.thread_cpu_s) {
    if (cpu * per_request_us < 0.5) continue;
    std::printf("%s\"%s\": %.1f", first ? "" : ", ", thread.c_str(), cpu * per_request_us);
    first = false;
  }
  std::printf("}%s\n", last ? "" : ",");
}

// Adds `from`'s measurements to `into` (alternating rounds of one configuration).
void Absorb(Phase& into, const Phase& from) {
  into.latency_ns.insert(into.latency_ns.end(), from.latency_ns.begin(), from.latency_ns.end());
  into.errors += from.errors.load();
  into.degraded += from.degraded.load();
  into.elapsed_s += from.elapsed_s;
  into.process_cpu_s += from.process_cpu_s;
  into.context_switches += from.context_switches;
  into.redis_cpu_s = from.redis_cpu_s < 0 ? -1 : std::max(0.0, into.redis_cpu_s) + from.redis_cpu_s;
  for (const auto& [thread, cpu] : from.thread_cpu_s) into.thread_cpu_s[thread] += cpu;
}

double Quantile(std::vector<int64_t> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))] / 1e6;
}

// Two experiments running for every customer and a 5% holdout. Their variants rank as
// production does (A/A), so the difference measured is what assignment, the reply fields
// and exposure recording cost, not what a treatment saves or adds.
constexpr char kBenchExperiments[] = R"(
holdout: {share: 5%, salt: bench}
experiments:
  - {id: bench-products, layer: products, variants: [{id: control}, {id: same-ranking}]}
  - {id: bench-offers, layer: offers, variants: [{id: control}, {id: same-offers}]}
)";

// The load generator's client side: calls leave from the pacing thread, and the same thread
// collects their completions from one completion queue while it waits for the next send
// time. A separate completion thread (as this bench had) costs a thread wake-up per call
// on top of the pacer's own, on the two cores the server and Redis share. Each tag is a
// ClientCall, deleted after Done().
struct ClientCall {
  virtual ~ClientCall() = default;
  virtual void Done() = 0;
};

class ClientCompletions {
 public:
  ~ClientCompletions() {
    cq_.Shutdown();
    void* tag = nullptr;
    bool ok = false;
    while (cq_.Next(&tag, &ok)) Complete(tag);
  }
  grpc::CompletionQueue* cq() { return &cq_; }

  // Completes the calls that finish before `until`; returns at `until`.
  void CompleteUntil(SteadyClock::time_point until) {
    void* tag = nullptr;
    bool ok = false;
    while (true) {
      const auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(until - SteadyClock::now()).count();
      if (left <= 0) return;
      // gRPC's clock for this wait: the monotonic one, as steady_clock.
      const gpr_timespec deadline = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_nanos(left, GPR_TIMESPAN));
      if (cq_.AsyncNext(&tag, &ok, deadline) != grpc::CompletionQueue::GOT_EVENT) return;
      Complete(tag);
    }
  }

 private:
  static void Complete(void* tag) {
    auto* call = static_cast<ClientCall*>(tag);
    call->Done();
    delete call;
  }
  grpc::CompletionQueue cq_;
};

// Issues `issue(i, intended_start)` at the fixed rate, completing calls in between, and
// waits for the rest.
template <typename Issue>
void RunOpenLoop(double rate, double seconds, pid_t redis_pid, Phase& phase, ClientCompletions& completions,
                 Issue issue) {
  const double cpu_before = bench::SelfCpuSeconds(), redis_before = OtherProcessCpuSeconds(redis_pid);
  const std::map<std::string, double> threads_before = CpuByThreadName();
  const int64_t switches_before = bench::SelfContextSwitches();
  const int64_t n = static_cast<int64_t>(rate * seconds);
  phase.latency_ns.assign(n, 0);
  const auto period = std::chrono::nanoseconds(static_cast<int64_t>(1e9 / rate));
  const auto start = SteadyClock::now() + std::chrono::milliseconds(10);
  for (int64_t i = 0; i < n; ++i) {
    const auto intended = start + i * period;
    completions.CompleteUntil(intended);
    issue(i, intended);
  }
  while (phase.done.load() < n) completions.CompleteUntil(SteadyClock::now() + std::chrono::milliseconds(1));
  phase.elapsed_s = std::chrono::duration<double>(SteadyClock::now() - start).count();
  phase.process_cpu_s = bench::SelfCpuSeconds() - cpu_before;
  phase.context_switches = bench::SelfContextSwitches() - switches_before;
  if (redis_before >= 0) phase.redis_cpu_s = OtherProcessCpuSeconds(redis_pid) - redis_before;
  for (const auto& [thread, cpu] : CpuByThreadName()) {
    auto before = threads_before.find(thread);
    phase.thread_cpu_s[thread] = cpu - (before == threads_before.end() ? 0.0 : before->second);
  }
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  server::DisableMutexDeadlockDetection();  // as ServiceRuntime does for the binaries
  std::mt19937_64 rng(12345);
  std::unique_ptr<testing::RedisServer> private_redis;
  std::string url = absl::GetFlag(FLAGS_redis_url);
  if (url.empty()) {
    private_redis = std::make_unique<testing::RedisServer>();
    if (auto st = private_redis->Start(); !st.ok()) {
      std::fprintf(stderr, "redis-server: %s\n", std::string(st.message()).c_str());
      return 2;
    }
    url = private_redis->url();
  }
  auto redis = storage::HiredisClient::FromUrl(url, 16);
  if (!redis.ok()) return 2;
  (void)(*redis)->Command({"FLUSHDB"});

  // Catalogs and model.
  auto catalog = OfferCatalog::Build(SyntheticOffers(absl::GetFlag(FLAGS_offers), rng), 0);
  if (!catalog.ok()) {
    std::fprintf(stderr, "%s\n", std::string(catalog.status().message()).c_str());
    return 1;
  }
  OfferCatalogStore store(*catalog);
  const int n_products = absl::GetFlag(FLAGS_products);
  ProductCatalog products;
  {
    std::vector<v1::ProductInfo> batch;
    for (int i = 0; i < n_products; ++i) {
      v1::ProductInfo p;
      p.set_product_id(ProductAt(i));
      p.set_category(absl::StrCat("cat-", i % 200));
      p.set_brand(absl::StrCat("brand-", i % 500));
      p.set_price(1 + i % 300);
      p.set_in_stock(i % 20 != 0);
      batch.push_back(std::move(p));
    }
    (void)products.Upsert(batch);
  }
  ItemModel model;
  std::geometric_distribution<int> step(0.3);
  std::uniform_int_distribution<int> len(2, 10);
  const absl::Time t0 = absl::Now() - absl::Hours(24);
  auto zipf_item = [&](void) {
    // Heavy head: squares of a uniform concentrate mass on low ids.
    const double u = std::uniform_real_distribution<double>(0, 1)(rng);
    return static_cast<uint64_t>(u * u * u * n_products);
  };
  for (int s = 0; s < 40000; ++s) {
    uint64_t item = zipf_item();
    const int l = len(rng);
    for (int k = 0; k < l; ++k) {
      model.Observe(absl::StrCat("train-", s), ProductAt(item), t0 + absl::Seconds(s * 2 + k));
      item = (item + step(rng)) % n_products;
    }
  }
  model.RefreshRankings();

  // Customers' snapshots.
  const int n_users = absl::GetFlag(FLAGS_users);
  {
    std::vector<storage::RedisCommand> writes;
    for (int u = 0; u < n_users; ++u) {
      common::v1::JourneySnapshot j;
      j.set_stage(kStages[u % 6]);
      for (int k = 0; k < 3; ++k) j.add_session_product_ids(ProductAt(zipf_item()));
      j.add_purchased_product_ids(ProductAt(zipf_item()));
      common::v1::PersonaSnapshot p;
      p.add_segments(absl::StrCat("seg-", u % 20));
      (*p.mutable_consent())["marketing"] = u % 2 == 0;
      writes.push_back({"HSET", keys::View("default", absl::StrCat("user-", u)), "journey", j.SerializeAsString(),
                        "persona", p.SerializeAsString()});
      if (writes.size() == 1000) {
        (void)(*redis)->Pipeline(writes);
        writes.clear();
      }
    }
    if (!writes.empty()) (void)(*redis)->Pipeline(writes);
  }

  // The service, wired as in main.cc.
  OfferStatsCache stats;
  Feedback feedback(FeedbackOptions{}, redis->get(), &stats, RealClock::Get());
  RecommendLogic logic(RecommendOptions{}, redis->get(), &store, &products, &model, &stats, RealClock::Get());
  PromotionGate promotion_gate(redis->get(), RealClock::Get(), orchestration::OrchestrationRules{}, "default");
  if (absl::GetFlag(FLAGS_promotion_gate)) logic.SetPromotionGate(&promotion_gate);
  // Experiments wired as in main.cc; none until the "on" rounds of --experiments.
  auto no_experiments = std::make_shared<const ExperimentSet>("default", ExperimentConfig{});
  ExperimentStore experiments(no_experiments);
  ExperimentRecorder recorder(ExperimentRecorderOptions{}, redis->get(), &experiments, RealClock::Get());
  feedback.SetExperimentRecorder(&recorder);
  logic.SetExperiments(&experiments);
  logic.SetServedListener([&](const ServedRecommendation& s) {
    feedback.OnServed(s);
    recorder.RecordExposures(s.user_id, s.exposures, s.served_at);
  });
  StreamLearner learner(redis->get(), &model, StreamLearnerOptions{}, RealClock::Get());
  learner.SetAliasCache(logic.aliases());
  CatalogAdmin admin("default", redis->get(), &store, &products);
  PeriodicTask catalog_sync("offer catalog sync", absl::Seconds(1), [&admin] { return admin.SyncFromRedis(); });
  PeriodicTask stats_refresh("offer stats refresh", absl::Seconds(2), [&feedback] { return feedback.RefreshCache(); });
  RecommendService service(&logic, &admin, &feedback);
  // Health answered on the recommend queues, as main.cc wires it (no callback service in
  // the process, so gRPC starts no callback threads).
  QueuedHealth health;
  RecommendationQueues queues(&service, absl::GetFlag(FLAGS_recommend_threads), &health,
                              absl::GetFlag(FLAGS_recommend_queues));
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  queues.AddTo(builder);
  auto server = builder.BuildAndStart();
  queues.Start();
  feedback.Start();
  recorder.Start();
  learner.Start();
  catalog_sync.Start();
  stats_refresh.Start();

  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
  auto stub = v1::Recommend::NewStub(channel);
  grpc::GenericStub generic(channel);
  const double rate = absl::GetFlag(FLAGS_rate), seconds = absl::GetFlag(FLAGS_seconds);
  const pid_t redis_pid = private_redis != nullptr ? private_redis->pid() : -1;

  // This thread paces the load; named only now, so no thread started above inherits it.
  pthread_setname_np(pthread_self(), "bench-pacer");

  // Warm-up (connections, allocator, caches), not measured.
  for (int i = 0; i < 200; ++i) {
    grpc::ClientContext ctx;
    v1::GetRecommendationsRequest req;
    req.set_user_id(absl::StrCat("user-", i));
    v1::GetRecommendationsResponse resp;
    (void)stub->GetRecommendations(&ctx, req, &resp);
  }

  Phase empty;
  grpc::ByteBuffer empty_request;
  {
    grpc::Slice nothing("", 0);
    empty_request = grpc::ByteBuffer(&nothing, 1);
  }
  ClientCompletions completions;
  RunOpenLoop(rate, seconds, redis_pid, empty, completions, [&](int64_t i, SteadyClock::time_point intended) {
    struct Call final : ClientCall {
      Phase* phase;
      int64_t i;
      SteadyClock::time_point intended;
      grpc::ClientContext ctx;
      grpc::ByteBuffer resp;
      grpc::Status status;
      std::unique_ptr<grpc::GenericClientAsyncResponseReader> rpc;
      void Done() override {
        phase->latency_ns[i] = std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now() - intended).count();
        if (!status.ok()) phase->errors++;
        phase->done++;
      }
    };
    auto* call = new Call;
    call->phase = &empty;
    call->i = i;
    call->intended = intended;
    call->ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
    call->rpc = generic.PrepareUnaryCall(&call->ctx, "/grpc.health.v1.Health/Check", empty_request, completions.cq());
    call->rpc->StartCall();
    call->rpc->Finish(&call->resp, &call->status, call);
  });

  Phase recommend;
  std::vector<v1::GetRecommendationsRequest> requests(4096);
  for (auto& req : requests) {
    const int u = static_cast<int>(rng() % (n_users + n_users / 10));  // ~9% unknown customers
    req.set_user_id(absl::StrCat("user-", u));
    req.set_placement(static_cast<v1::Placement>(rng() % 7));
    req.set_current_product_id(ProductAt(zipf_item()));
    req.set_limit(10);
  }
  auto run_recommend = [&](Phase& recommend, double seconds) {
  RunOpenLoop(rate, seconds, redis_pid, recommend, completions, [&](int64_t i, SteadyClock::time_point intended) {
    struct Call final : ClientCall {
      Phase* phase;
      int64_t i;
      SteadyClock::time_point intended;
      grpc::ClientContext ctx;
      // The answer is parsed onto an arena in the call: the load generator's own parsing
      // (tens of messages a call) is not what this bench measures.
      alignas(8) char first_block[8192];
      google::protobuf::Arena arena{[this] {
        google::protobuf::ArenaOptions options;
        options.initial_block = first_block;
        options.initial_block_size = sizeof(first_block);
        return options;
      }()};
      v1::GetRecommendationsResponse& resp = *google::protobuf::Arena::CreateMessage<v1::GetRecommendationsResponse>(&arena);
      grpc::Status status;
      std::unique_ptr<grpc::ClientAsyncResponseReader<v1::GetRecommendationsResponse>> rpc;
      void Done() override {
        phase->latency_ns[i] = std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now() - intended).count();
        if (!status.ok()) phase->errors++;
        if (status.ok() && resp.degraded()) phase->degraded++;
        if (status.ok() && resp.offers_size() == 0 && resp.products_size() == 0) phase->errors++;
        phase->done++;
      }
    };
    auto* call = new Call;
    call->phase = &recommend;
    call->i = i;
    call->intended = intended;
    call->ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
    call->rpc = stub->PrepareAsyncGetRecommendations(&call->ctx, requests[i % requests.size()], completions.cq());
    call->rpc->StartCall();
    call->rpc->Finish(&call->resp, &call->status, call);
  });
  };
  Phase with_experiments;
  const bool measure_experiments = absl::GetFlag(FLAGS_experiments);
  if (!measure_experiments) {
    run_recommend(recommend, seconds);
  } else {
    auto parsed = ParseExperimentsYaml(kBenchExperiments, "bench");
    if (!parsed.ok() || !ValidateExperiments(&*parsed).ok()) {
      std::fprintf(stderr, "bench experiments: %s\n", std::string(parsed.status().message()).c_str());
      return 1;
    }
    auto on = std::make_shared<const ExperimentSet>("default", std::move(*parsed));
    // Alternating halves, so drift over the run (Redis growing, other load) hits both alike.
    for (int round = 0; round < 4; ++round) {
      const bool experiments_on = round % 2 == 1;
      experiments.Set(experiments_on ? on : no_experiments);
      Phase part;
      run_recommend(part, seconds / 2);
      Absorb(experiments_on ? with_experiments : recommend, part);
    }
  }

  std::printf("{\n  \"rate\": %.0f, \"seconds\": %.1f, \"offers\": %d, \"products\": %d, \"users\": %d, \"cores\": %u,\n"
              "  \"promotion_gate\": %s,\n",
              rate, seconds, absl::GetFlag(FLAGS_offers), n_products, n_users, std::thread::hardware_concurrency(),
              absl::GetFlag(FLAGS_promotion_gate) ? "true" : "false");
  Report("empty_grpc", empty, false);
  Report("get_recommendations", recommend, !measure_experiments);
  if (measure_experiments) {
    Report("get_recommendations_experiments", with_experiments, false);
    const double p50_off = Quantile(recommend.latency_ns, 0.5), p50_on = Quantile(with_experiments.latency_ns, 0.5);
    const double p99_off = Quantile(recommend.latency_ns, 0.99), p99_on = Quantile(with_experiments.latency_ns, 0.99);
    const double cpu_off = recommend.process_cpu_s / std::max<size_t>(1, recommend.latency_ns.size());
    const double cpu_on = with_experiments.process_cpu_s / std::max<size_t>(1, with_experiments.latency_ns.size());
    std::printf("  \"experiment_overhead\": {\"experiments\": 2, \"holdout_share\": 0.05, \"p50_off_ms\": %.3f, "
                "\"p50_on_ms\": %.3f, \"p50_overhead_pct\": %.1f, \"p99_off_ms\": %.3f, \"p99_on_ms\": %.3f, "
                "\"p99_overhead_pct\": %.1f, \"process_cpu_overhead_pct\": %.1f, \"exposure_writes_dropped\": %llu}\n",
                p50_off, p50_on, 100 * (p50_on / p50_off - 1), p99_off, p99_on, 100 * (p99_on / p99_off - 1),
                100 * (cpu_on / cpu_off - 1), static_cast<unsigned long long>(recorder.dropped()));
  }
  std::printf("}\n");
  stats_refresh.Stop();
  catalog_sync.Stop();
  learner.Stop();
  recorder.Stop();
  feedback.Stop();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  queues.Stop();
  return 0;
}
