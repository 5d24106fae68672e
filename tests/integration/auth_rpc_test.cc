// API keys, scopes, workspaces and limits on the four real binaries and one real Redis,
// called over real gRPC and HTTP. Table-driven over common/auth/method_scopes.cc: every RPC
// of every service is called without a key, with a malformed and an unknown key, with a key
// of the wrong scope, with a key of another workspace, and with a good key.
#include <curl/curl.h>
#include <gtest/gtest.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/auth/key_store.h"
#include "common/auth/method_scopes.h"
#include "common/auth/api_key.h"
#include "common/storage/hiredis_client.h"
#include "common/storage/keys.h"
#include "google/protobuf/descriptor.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "journey/auth/v1/auth.grpc.pb.h"
#include "journey/ingest/v1/ingest.grpc.pb.h"
#include "journey/persona/v1/persona.grpc.pb.h"
#include "journey/recommend/v1/recommend.grpc.pb.h"
#include "journey/state/v1/journey.grpc.pb.h"
#include "tests/testing/poll.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/service_process.h"
#include "tests/testing/suite_setup.h"

namespace journey {
namespace {

using journey::testing::PollUntil;
using journey::testing::RedisServer;
using journey::testing::ServiceProcess;

constexpr char kAdminKey[] = "jk_auth_test_bootstrap_admin_key_42";
const char* const kServices[] = {"ingest", "journey", "persona", "recommend"};

// One call of any method, unary or streaming, as raw bytes: one empty request message, then
// half-close, read to the end. Returns the status and the trailing metadata.
struct RawResult {
  grpc::Status status;
  std::multimap<std::string, std::string> trailers;
};

RawResult CallRaw(const std::shared_ptr<grpc::Channel>& channel, const std::string& full_method,
                  const std::string& api_key, absl::Duration deadline = absl::Seconds(2),
                  const std::string& request = "") {
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(deadline));
  if (!api_key.empty()) ctx.AddMetadata("authorization", "Bearer " + api_key);
  auto call = stub.PrepareCall(&ctx, "/" + full_method, &cq);
  void* tag = nullptr;
  bool ok = false;
  auto step = [&](intptr_t id) {
    cq.Next(&tag, &ok);
    EXPECT_EQ(reinterpret_cast<intptr_t>(tag), id);
    return ok;
  };
  call->StartCall(reinterpret_cast<void*>(1));
  step(1);
  grpc::Slice slice(request);
  grpc::ByteBuffer message(&slice, 1);
  call->Write(message, reinterpret_cast<void*>(2));
  step(2);
  call->WritesDone(reinterpret_cast<void*>(3));
  step(3);
  grpc::ByteBuffer reply;
  do {
    call->Read(&reply, reinterpret_cast<void*>(4));
  } while (step(4));
  RawResult result;
  call->Finish(&result.status, reinterpret_cast<void*>(5));
  step(5);
  for (const auto& [k, v] : ctx.GetServerTrailingMetadata()) {
    result.trailers.emplace(std::string(k.data(), k.size()), std::string(v.data(), v.size()));
  }
  return result;
}

std::string ServiceOf(absl::string_view full_method) {
  if (absl::StartsWith(full_method, "journey.ingest.")) return "ingest";
  if (absl::StartsWith(full_method, "journey.state.")) return "journey";
  if (absl::StartsWith(full_method, "journey.persona.")) return "persona";
  if (absl::StartsWith(full_method, "journey.recommend.")) return "recommend";
  return "";  // journey.auth.v1.ApiKeys: every service
}

class AuthTest : public ::testing::Test {
 protected:
  inline static journey::testing::SuiteSetup suite_;
  static void StartSuite() {
    redis_ = new RedisServer();
    ASSERT_TRUE(redis_->Start().ok());
    for (const char* name : kServices) {
      std::map<std::string, std::string> flags{{"auth", "on"}};
      if (std::string(name) == "ingest") flags["max_message_bytes"] = "65536";
      if (std::string(name) == "journey") flags["default_stream_deadline_ms"] = "500";
      auto* p = new ServiceProcess(name, redis_->url(), flags);
      p->set_bootstrap_admin_key(kAdminKey);
      auto st = p->Start();
      ASSERT_TRUE(st.ok()) << name << ": " << st << "\n" << p->LogTail();
      (*services_)[name] = p;
    }
    // One key per scope, and keys of another workspace, written straight to the store.
    auto redis = storage::HiredisClient::FromUrl(redis_->url(), 1);
    ASSERT_TRUE(redis.ok());
    auth::KeyStore store(redis->get(), RealClock::Get());
    for (absl::string_view scope : auth::AllScopes()) {
      auto mine = store.Create("default", {"test", {std::string(scope)}});
      auto other = store.Create("other-workspace", {"test", {std::string(scope)}});
      ASSERT_TRUE(mine.ok() && other.ok());
      (*keys_)[std::string(scope)] = mine->second;
      (*other_keys_)[std::string(scope)] = other->second;
    }
    // Keys written behind the services' back are seen by every service within its cache refresh.
    const std::string probe_key = (*keys_)["admin"];
    for (const char* name : kServices) {
      ASSERT_TRUE(PollUntil(
          [&] {
            auto r = CallRaw((*services_)[name]->channel(), "journey.auth.v1.ApiKeys/ListKeys", probe_key);
            return r.status.ok();
          },
          absl::Seconds(15)))
          << name << " never admitted a key written to the store\n" << (*services_)[name]->LogTail();
    }
    suite_.Done();
  }
  void SetUp() override {
    ASSERT_TRUE(suite_.Ensure(StartSuite)) << "the suite's set-up failed (see the failures above)";
  }
  static void TearDownTestSuite() {
    for (auto& [name, p] : *services_) {
      EXPECT_EQ(p->Stop(), 0) << name << ": " << p->LogTail();
      delete p;
    }
    services_->clear();
    delete redis_;
  }

  static std::shared_ptr<grpc::Channel> Channel(const std::string& service) { return (*services_)[service]->channel(); }

  static std::string LogsOfAll() {
    std::string all;
    for (auto& [name, p] : *services_) {
      std::ifstream in(p->log_path());
      std::stringstream ss;
      ss << in.rdbuf();
      all += ss.str();
    }
    return all;
  }

  static RedisServer* redis_;
  static std::map<std::string, ServiceProcess*>* services_;
  static std::map<std::string, std::string>* keys_;
  static std::map<std::string, std::string>* other_keys_;
};

RedisServer* AuthTest::redis_ = nullptr;
std::map<std::string, ServiceProcess*>* AuthTest::services_ = new std::map<std::string, ServiceProcess*>();
std::map<std::string, std::string>* AuthTest::keys_ = new std::map<std::string, std::string>();
std::map<std::string, std::string>* AuthTest::other_keys_ = new std::map<std::string, std::string>();

TEST_F(AuthTest, EveryMethodOfEveryServiceHasAScope) {
  int methods = 0;
  // Through a message of each proto file, so its descriptor is linked in and registered.
  const std::vector<const google::protobuf::FileDescriptor*> files = {
      ingest::v1::TrackRequest::descriptor()->file(), state::v1::GetJourneyRequest::descriptor()->file(),
      persona::v1::GetProfileRequest::descriptor()->file(),
      recommend::v1::GetRecommendationsRequest::descriptor()->file(), auth::v1::ListKeysRequest::descriptor()->file()};
  for (const auto* file : files) {
    ASSERT_EQ(file->service_count(), 1) << file->name();
    const auto* service = file->service(0);
    const std::string& name = service->full_name();
    for (int i = 0; i < service->method_count(); ++i) {
      const std::string full = absl::StrCat(name, "/", service->method(i)->name());
      EXPECT_NE(auth::FindMethodPolicy(full), nullptr) << full << " is missing from common/auth/method_scopes.cc";
      ++methods;
    }
  }
  // And the table lists nothing that does not exist.
  EXPECT_EQ(methods, static_cast<int>(auth::AllMethodPolicies().size()));
}

TEST_F(AuthTest, EveryRpcRefusesMissingWrongAndForeignKeysAndAdmitsAGoodOne) {
  for (const auth::MethodPolicy& policy : auth::AllMethodPolicies()) {
    const std::string method(policy.method);
    std::vector<std::string> targets;
    if (ServiceOf(method).empty()) {
      targets.assign(std::begin(kServices), std::end(kServices));
    } else {
      targets.push_back(ServiceOf(method));
    }
    std::string wrong_scope;
    for (absl::string_view s : auth::AllScopes()) {
      if (s != policy.scope && s != auth::kScopeAdmin) {
        wrong_scope = std::string(s);
        break;
      }
    }
    for (const std::string& target : targets) {
      SCOPED_TRACE(absl::StrCat(method, " on ", target));
      auto ch = Channel(target);
      EXPECT_EQ(CallRaw(ch, method, "").status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
      EXPECT_EQ(CallRaw(ch, method, "jk_not_a_key_of_anyone_000000000000").status.error_code(),
                grpc::StatusCode::UNAUTHENTICATED);
      EXPECT_EQ(CallRaw(ch, method, (*keys_)[wrong_scope]).status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
          << "scope " << wrong_scope;
      EXPECT_EQ(CallRaw(ch, method, (*other_keys_)[std::string(policy.scope)]).status.error_code(),
                grpc::StatusCode::PERMISSION_DENIED);
      EXPECT_EQ(CallRaw(ch, method, (*other_keys_)["admin"]).status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
      for (const std::string& key : {(*keys_)[std::string(policy.scope)], std::string(kAdminKey)}) {
        const grpc::Status good = CallRaw(ch, method, key).status;
        EXPECT_NE(good.error_code(), grpc::StatusCode::UNAUTHENTICATED) << good.error_message();
        EXPECT_NE(good.error_code(), grpc::StatusCode::PERMISSION_DENIED) << good.error_message();
        EXPECT_NE(good.error_code(), grpc::StatusCode::UNIMPLEMENTED) << good.error_message();
      }
    }
  }
}

TEST_F(AuthTest, MalformedAuthorizationIsUnauthenticated) {
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", std::string("Basic ") + kAdminKey);
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
  state::v1::GetDefinitionRequest req;
  state::v1::JourneyDefinition resp;
  EXPECT_EQ(state::v1::Journey::NewStub(Channel("journey"))->GetDefinition(&ctx, req, &resp).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(AuthTest, HealthAndReflectionStayOpen) {
  for (const char* name : kServices) {
    EXPECT_TRUE((*services_)[name]->Serving()) << name;
    // A reflection request without a key: list the services.
    std::string list_services;
    list_services.push_back(static_cast<char>((7 << 3) | 2));  // field 7 (list_services), length-delimited
    list_services.push_back(0);
    auto r = CallRaw(Channel(name), "grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", "",
                     absl::Seconds(2), list_services);
    EXPECT_TRUE(r.status.ok()) << name << ": " << r.status.error_message();
  }
}

TEST_F(AuthTest, NewAndRevokedKeysTakeEffectOnEveryReplicaWithinSeconds) {
  // A second journey replica beside the first.
  ServiceProcess replica("journey", redis_->url(), {{"auth", "on"}});
  ASSERT_TRUE(replica.Start().ok()) << replica.LogTail();
  auto admin_ctx = [] {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->AddMetadata("authorization", std::string("Bearer ") + kAdminKey);
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    return ctx;
  };
  // Created through ingest's ApiKeys...
  auth::v1::CreateKeyRequest create;
  create.add_scopes("journey:read");
  create.set_name("dashboard");
  auth::v1::CreateKeyResponse created;
  ASSERT_TRUE(auth::v1::ApiKeys::NewStub(Channel("ingest"))->CreateKey(admin_ctx().get(), create, &created).ok());
  EXPECT_TRUE(absl::StartsWith(created.api_key(), "jk_"));
  EXPECT_EQ(created.key().workspace_id(), "default");
  const std::string method = "journey.state.v1.Journey/GetDefinition";
  auto admitted = [&](const std::shared_ptr<grpc::Channel>& ch) {
    return CallRaw(ch, method, created.api_key()).status.ok();
  };
  // ...admitted by both journey replicas...
  EXPECT_TRUE(PollUntil([&] { return admitted(Channel("journey")) && admitted(replica.channel()); }, absl::Seconds(3)));
  // ...listed without the key itself...
  auth::v1::ListKeysResponse list;
  ASSERT_TRUE(auth::v1::ApiKeys::NewStub(Channel("recommend"))->ListKeys(admin_ctx().get(), {}, &list).ok());
  bool listed = false;
  for (const auto& k : list.keys()) listed = listed || k.key_id() == created.key().key_id();
  EXPECT_TRUE(listed);
  EXPECT_FALSE(absl::StrContains(list.DebugString(), created.api_key()));
  // ...and never stored in clear.
  auto redis = storage::HiredisClient::FromUrl(redis_->url(), 1);
  auto stored = (*redis)->Command({"HGETALL", keys::ApiKeys()});
  ASSERT_TRUE(stored.ok());
  for (const auto& e : stored->elements) EXPECT_FALSE(absl::StrContains(e.str, created.api_key()));
  // Revoked through persona: both replicas refuse it within seconds.
  auth::v1::RevokeKeyRequest revoke;
  revoke.set_key_id(created.key().key_id());
  auth::v1::RevokeKeyResponse revoked;
  ASSERT_TRUE(auth::v1::ApiKeys::NewStub(Channel("persona"))->RevokeKey(admin_ctx().get(), revoke, &revoked).ok());
  EXPECT_TRUE(revoked.key().has_revoked_at());
  const absl::Time start = absl::Now();
  EXPECT_TRUE(PollUntil(
      [&] {
        return CallRaw(Channel("journey"), method, created.api_key()).status.error_code() ==
                   grpc::StatusCode::UNAUTHENTICATED &&
               CallRaw(replica.channel(), method, created.api_key()).status.error_code() ==
                   grpc::StatusCode::UNAUTHENTICATED;
      },
      absl::Seconds(3)));
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  // A key of another workspace cannot be revoked from this one.
  revoke.set_key_id(auth::KeyIdOf((*other_keys_)["admin"]));
  EXPECT_EQ(auth::v1::ApiKeys::NewStub(Channel("persona"))->RevokeKey(admin_ctx().get(), revoke, &revoked).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(replica.Stop(), 0);
}

TEST_F(AuthTest, AKeyOverItsRateLimitGetsResourceExhaustedWithRetryInfo) {
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", std::string("Bearer ") + kAdminKey);
  auth::v1::CreateKeyRequest create;
  create.add_scopes("recommend:read");
  create.set_rate_per_s(0.5);
  create.set_burst(2);
  auth::v1::CreateKeyResponse created;
  ASSERT_TRUE(auth::v1::ApiKeys::NewStub(Channel("recommend"))->CreateKey(&ctx, create, &created).ok());
  const std::string method = "journey.recommend.v1.Recommend/ListOffers";
  // The creating replica knows the key at once; two calls fit the burst, the third does not.
  EXPECT_TRUE(CallRaw(Channel("recommend"), method, created.api_key()).status.ok());
  EXPECT_TRUE(CallRaw(Channel("recommend"), method, created.api_key()).status.ok());
  RawResult limited = CallRaw(Channel("recommend"), method, created.api_key());
  ASSERT_EQ(limited.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << limited.status.error_message();
  auto retry_after = limited.trailers.find("retry-after");
  ASSERT_NE(retry_after, limited.trailers.end());
  EXPECT_GE(std::stoi(retry_after->second), 1);
  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(limited.status.error_details()));
  ASSERT_EQ(details.details_size(), 1);
  google::rpc::RetryInfo retry;
  ASSERT_TRUE(details.details(0).UnpackTo(&retry));
  EXPECT_GT(retry.retry_delay().seconds() * 1000 + retry.retry_delay().nanos() / 1'000'000, 0);
  EXPECT_LE(retry.retry_delay().seconds(), 2);
  // Other keys are not affected.
  EXPECT_TRUE(CallRaw(Channel("recommend"), method, (*keys_)["recommend:read"]).status.ok());
}

TEST_F(AuthTest, AKeysRateLimitHoldsForAllReplicasTogether) {
  ServiceProcess replica("recommend", redis_->url(), {{"auth", "on"}});
  ASSERT_TRUE(replica.Start().ok()) << replica.LogTail();
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", std::string("Bearer ") + kAdminKey);
  auth::v1::CreateKeyRequest create;
  create.add_scopes("recommend:read");
  create.set_rate_per_s(1);
  create.set_burst(3);  // each replica's own bucket admits 3 at once; together they may not
  auth::v1::CreateKeyResponse created;
  ASSERT_TRUE(auth::v1::ApiKeys::NewStub(Channel("recommend"))->CreateKey(&ctx, create, &created).ok());
  const std::string method = "journey.recommend.v1.Recommend/ListOffers";
  ASSERT_TRUE(PollUntil([&] { return CallRaw(replica.channel(), method, created.api_key()).status.ok(); },
                        absl::Seconds(5)))
      << "the replica never learned the new key\n" << replica.LogTail();
  // The limit's window is burst / rate = 3 s of Unix time (shared_rate_limiter.h): start
  // early in a window after the one the call above was counted in.
  const int64_t polled_window = absl::ToUnixMillis(absl::Now()) / 3000;
  ASSERT_TRUE(PollUntil(
      [&] {
        const int64_t now_ms = absl::ToUnixMillis(absl::Now());
        return now_ms / 3000 > polled_window && now_ms % 3000 < 500;
      },
      absl::Seconds(7)));
  int admitted = 0, refused = 0, refused_across = 0;
  for (int i = 0; i < 12; ++i) {
    RawResult r = CallRaw(i % 2 == 0 ? Channel("recommend") : replica.channel(), method, created.api_key());
    if (r.status.ok()) ++admitted;
    if (r.status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
      ++refused;
      // Once the window's 3 are gone, a replica whose own bucket still has room refuses
      // for the others' calls; after that its own bucket is empty too.
      if (r.status.error_message().find("across replicas") != std::string::npos) ++refused_across;
    }
  }
  EXPECT_GE(refused_across, 2);
  EXPECT_EQ(admitted, 3) << "per replica it would be 6";
  EXPECT_EQ(refused, 9);
  EXPECT_EQ(replica.Stop(), 0);
}

TEST_F(AuthTest, OversizedMessagesAreRefused) {
  ingest::v1::TrackRequest req;
  req.mutable_event()->set_name(std::string(100 * 1024, 'x'));
  RawResult r = CallRaw(Channel("ingest"), "journey.ingest.v1.Ingest/Track", (*keys_)["ingest:write"],
                        absl::Seconds(2), req.SerializeAsString());
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << r.status.error_message();
}

TEST_F(AuthTest, AStreamWithoutADeadlineGetsTheDefaultOne) {
  // journey runs with --default_stream_deadline_ms=500; the client sets no deadline.
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer " + (*keys_)["journey:read"]);
  state::v1::WatchTransitionsRequest req;
  auto stub = state::v1::Journey::NewStub(Channel("journey"));
  const absl::Time start = absl::Now();
  auto reader = stub->WatchTransitions(&ctx, req);
  state::v1::Transition t;
  while (reader->Read(&t)) {
  }
  grpc::Status st = reader->Finish();
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(st.error_code(), grpc::StatusCode::CANCELLED) << st.error_message();
  EXPECT_GE(took, absl::Milliseconds(400));
  EXPECT_LT(took, absl::Seconds(5));
}

size_t Collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

long HttpTrack(int port, const std::string& write_key) {
  CURL* curl = curl_easy_init();
  const std::string url = absl::StrCat("http://127.0.0.1:", port, "/v1/track");
  const std::string body =
      R"({"userId": "http-user", "event": "Product Viewed", "messageId": "m-http-)" + std::to_string(rand()) + R"("})";
  std::string reply;
  long status = 0;
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  const std::string user = write_key + ":";
  if (!write_key.empty()) curl_easy_setopt(curl, CURLOPT_USERPWD, user.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
  if (curl_easy_perform(curl) == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return status;
}

TEST_F(AuthTest, SegmentHttpChecksTheWriteKey) {
  const int port = (*services_)["ingest"]->http_port();
  EXPECT_EQ(HttpTrack(port, ""), 401);
  EXPECT_EQ(HttpTrack(port, "jk_unknown_key_000000000000000000"), 401);
  EXPECT_EQ(HttpTrack(port, (*keys_)["recommend:read"]), 403);
  EXPECT_EQ(HttpTrack(port, (*other_keys_)["ingest:write"]), 403);
  EXPECT_EQ(HttpTrack(port, (*keys_)["ingest:write"]), 200);
}

TEST_F(AuthTest, NoKeyOrPersonalDataInTheLogs) {
  // A customer with an email trait goes through ingest, journey and persona.
  ingest::v1::IdentifyRequest identify;
  auto* e = identify.mutable_event();
  e->set_message_id("pii-m1");
  e->set_user_id("pii-user-4711");
  e->mutable_timestamp()->set_seconds(absl::ToUnixSeconds(absl::Now()));
  (*e->mutable_traits())["email"].set_string_value("alice.pii@example.com");
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer " + (*keys_)["ingest:write"]);
  ingest::v1::IdentifyResponse resp;
  grpc::Status st = ingest::v1::Ingest::NewStub(Channel("ingest"))->Identify(&ctx, identify, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_TRUE(PollUntil(
      [&] {
        grpc::ClientContext c;
        c.AddMetadata("authorization", "Bearer " + (*keys_)["persona:read"]);
        persona::v1::GetProfileRequest req;
        req.set_user_id("pii-user-4711");
        persona::v1::Profile profile;
        return persona::v1::Persona::NewStub(Channel("persona"))->GetProfile(&c, req, &profile).ok() &&
               profile.traits().count("email") == 1;
      },
      absl::Seconds(10)));
  const std::string logs = LogsOfAll();
  EXPECT_FALSE(logs.empty());
  EXPECT_FALSE(absl::StrContains(logs, "pii-user-4711"));
  EXPECT_FALSE(absl::StrContains(logs, "alice.pii@example.com"));
  EXPECT_FALSE(absl::StrContains(logs, kAdminKey));
  for (const auto& [scope, key] : *keys_) EXPECT_FALSE(absl::StrContains(logs, key)) << scope;
}

TEST(KeyStoreTest, ABootstrapKeyIsInsertedOnceAndARevokedOneStaysRevoked) {
  RedisServer redis;
  ASSERT_TRUE(redis.Start().ok());
  auto client = storage::HiredisClient::FromUrl(redis.url(), 1);
  ASSERT_TRUE(client.ok());
  auth::KeyStore store(client->get(), RealClock::Get());
  const std::string key = "jk_operator_chosen_bootstrap_key_77";
  bool inserted = false;
  ASSERT_TRUE(store.InsertBootstrapKey("default", key, &inserted).ok());
  EXPECT_TRUE(inserted);
  auto version = store.Version();
  ASSERT_TRUE(store.InsertBootstrapKey("default", key, &inserted).ok());
  EXPECT_FALSE(inserted);
  EXPECT_EQ(*store.Version(), *version);  // nothing changed, so replicas need not reload
  ASSERT_TRUE(store.Revoke("default", auth::KeyIdOf(key)).ok());
  ASSERT_TRUE(store.InsertBootstrapKey("default", key, &inserted).ok());  // a replica restarts
  EXPECT_FALSE(inserted);
  auto listed = store.List("default", /*include_revoked=*/true);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_TRUE((*listed)[0].has_revoked_at());
  EXPECT_EQ((*listed)[0].scopes(0), "admin");
  EXPECT_FALSE(store.InsertBootstrapKey("default", "too-short").ok());
}

TEST(AuthOffTest, AuthOffAdmitsCallsWithoutAKeyAndSaysSoAtStart) {
  RedisServer redis;
  ASSERT_TRUE(redis.Start().ok());
  ServiceProcess journey("journey", redis.url(), {{"auth", "off"}});
  ASSERT_TRUE(journey.Start().ok()) << journey.LogTail();
  EXPECT_TRUE(CallRaw(journey.channel(), "journey.state.v1.Journey/GetDefinition", "").status.ok());
  EXPECT_TRUE(absl::StrContains(journey.LogTail(100000), "AUTHENTICATION IS OFF"));
  EXPECT_EQ(journey.Stop(), 0);
}

TEST(AuthAutoTest, OpenUntilTheWorkspaceHasAKeyThenEveryCallNeedsOne) {
  RedisServer redis;
  ASSERT_TRUE(redis.Start().ok());
  ServiceProcess journey("journey", redis.url(), {{"auth", "auto"}});
  ASSERT_TRUE(journey.Start().ok()) << journey.LogTail();
  const std::string method = "journey.state.v1.Journey/GetDefinition";
  EXPECT_TRUE(CallRaw(journey.channel(), method, "").status.ok());
  EXPECT_TRUE(absl::StrContains(journey.LogTail(100000), "OPEN UNTIL THE FIRST API KEY"));
  // The first key needs no key to create (there is none to send)...
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  auth::v1::CreateKeyRequest create;
  create.add_scopes("journey:read");
  auth::v1::CreateKeyResponse created;
  ASSERT_TRUE(auth::v1::ApiKeys::NewStub(journey.channel())->CreateKey(&ctx, create, &created).ok());
  // ...and from then on a keyless call is refused and the key admitted.
  EXPECT_TRUE(PollUntil(
      [&] { return CallRaw(journey.channel(), method, "").status.error_code() == grpc::StatusCode::UNAUTHENTICATED; },
      absl::Seconds(3)));
  EXPECT_TRUE(CallRaw(journey.channel(), method, created.api_key()).status.ok());
  EXPECT_EQ(journey.Stop(), 0);
}

}  // namespace
}  // namespace journey
