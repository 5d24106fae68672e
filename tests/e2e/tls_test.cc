// TLS and mutual TLS on the real service binaries, with throwaway certificates made by the
// openssl CLI: every gRPC port serves TLS, client certificates are required or requested as
// configured, and a rotated certificate is served without a restart.
#include <gtest/gtest.h>

#include <map>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "journey/ingest/v1/ingest.grpc.pb.h"
#include "common/server/health_check_client.h"
#include "tests/testing/poll.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/service_process.h"
#include "tests/testing/test_certificates.h"

namespace journey {
namespace {

using journey::testing::PollUntil;
using journey::testing::ReadFile;
using journey::testing::ServiceProcess;
using journey::testing::TestCertificates;

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(redis_.Start().ok());
    ASSERT_TRUE(certs_.CreateCa().ok());
    ASSERT_TRUE(certs_.CreateLeaf("server", "journey-server-1").ok());
    ASSERT_TRUE(certs_.CreateLeaf("client", "journey-client").ok());
    ASSERT_TRUE(other_ca_.CreateCa().ok());
    ASSERT_TRUE(other_ca_.CreateLeaf("stranger", "stranger").ok());
  }

  std::map<std::string, std::string> TlsFlags(const std::string& client_auth) {
    std::map<std::string, std::string> flags = {{"tls_cert_file", certs_.cert("server")},
                                                {"tls_key_file", certs_.key("server")},
                                                {"tls_client_auth", client_auth},
                                                {"tls_reload_interval_s", "1"}};
    if (client_auth != "none") flags["tls_ca_file"] = certs_.ca_cert();
    return flags;
  }

  // TLS that verifies the server against our CA, optionally presenting a client certificate.
  std::shared_ptr<grpc::ChannelCredentials> Tls(const TestCertificates* client_certs = nullptr,
                                                const std::string& client = "") {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = ReadFile(certs_.ca_cert());
    if (client_certs != nullptr) {
      options.pem_cert_chain = ReadFile(client_certs->cert(client));
      options.pem_private_key = ReadFile(client_certs->key(client));
    }
    return grpc::SslCredentials(options);
  }

  // A Track call over a fresh channel (a new handshake); the server certificate's CN on success.
  grpc::Status TrackOver(ServiceProcess& ingest, std::shared_ptr<grpc::ChannelCredentials> credentials,
                         std::string* server_cn = nullptr) {
    grpc::ChannelArguments args;
    args.SetInt("grpc.use_local_subchannel_pool", 1);  // no connection shared with earlier channels
    auto channel = grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", ingest.grpc_port()), credentials, args);
    auto stub = ingest::v1::Ingest::NewStub(channel);
    ingest::v1::TrackRequest request;
    auto* e = request.mutable_event();
    e->set_message_id(absl::StrCat("tls-", ++sent_));
    e->set_type(common::v1::EVENT_TYPE_TRACK);
    e->set_user_id("tls-user");
    e->set_name("Product Viewed");
    e->set_product_id("p-1");
    e->mutable_timestamp()->set_seconds(absl::ToUnixSeconds(absl::Now()));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
    ingest::v1::TrackResponse response;
    grpc::Status status = stub->Track(&ctx, request, &response);
    if (status.ok() && server_cn != nullptr) {
      auto cn = ctx.auth_context()->FindPropertyValues("x509_common_name");
      *server_cn = cn.empty() ? "" : std::string(cn.front().data(), cn.front().size());
    }
    return status;
  }

  journey::testing::RedisServer redis_;
  TestCertificates certs_;
  TestCertificates other_ca_;
  int sent_ = 0;
};

TEST_F(TlsTest, EveryServiceServesTlsAndRefusesPlaintext) {
  for (const char* name : {"ingest", "journey", "persona", "recommend"}) {
    auto flags = TlsFlags("none");
    const int health_port = journey::testing::FreePort();
    flags["health_port"] = std::to_string(health_port);
    ServiceProcess svc(name, redis_.url(), flags);
    svc.set_channel_credentials(Tls());
    auto started = svc.Start();  // readiness is checked over TLS
    ASSERT_TRUE(started.ok()) << started;
    EXPECT_NE(svc.LogTail(1 << 20).find("\"transport\":\"tls client_auth=none\""), std::string::npos) << svc.LogTail();
    svc.set_channel_credentials(grpc::InsecureChannelCredentials());
    EXPECT_FALSE(svc.Serving()) << name << " answered a plaintext client";
    // Kubelet's probes speak plaintext: the health port answers them, and only health.
    auto probe = grpc::CreateChannel(absl::StrCat("127.0.0.1:", health_port), grpc::InsecureChannelCredentials());
    EXPECT_TRUE(server::IsServing(probe, "", 2000)) << name;
    EXPECT_TRUE(server::IsServing(probe, "liveness", 2000)) << name;
    if (std::string(name) == "ingest") {
      auto stub = ingest::v1::Ingest::NewStub(probe);
      grpc::ClientContext ctx;
      ingest::v1::TrackRequest request;
      ingest::v1::TrackResponse response;
      EXPECT_EQ(stub->Track(&ctx, request, &response).error_code(), grpc::StatusCode::UNIMPLEMENTED)
          << "the plaintext health port serves more than health";
    }
    EXPECT_EQ(svc.Stop(), 0) << svc.LogTail();
  }
}

TEST_F(TlsTest, RequiredClientCertificateIsEnforced) {
  ServiceProcess ingest("ingest", redis_.url(), TlsFlags("require"));
  ingest.set_channel_credentials(Tls(&certs_, "client"));
  auto started = ingest.Start();
  ASSERT_TRUE(started.ok()) << started;

  EXPECT_TRUE(TrackOver(ingest, Tls(&certs_, "client")).ok());
  EXPECT_EQ(TrackOver(ingest, Tls()).error_code(), grpc::StatusCode::UNAVAILABLE)
      << "a client without a certificate got through";
  EXPECT_EQ(TrackOver(ingest, Tls(&other_ca_, "stranger")).error_code(), grpc::StatusCode::UNAVAILABLE)
      << "a certificate of another CA got through";
  EXPECT_EQ(ingest.Stop(), 0) << ingest.LogTail();
}

TEST_F(TlsTest, RequestedClientCertificateIsOptionalButVerified) {
  ServiceProcess ingest("ingest", redis_.url(), TlsFlags("request"));
  ingest.set_channel_credentials(Tls());
  auto started = ingest.Start();
  ASSERT_TRUE(started.ok()) << started;

  EXPECT_TRUE(TrackOver(ingest, Tls()).ok());
  EXPECT_TRUE(TrackOver(ingest, Tls(&certs_, "client")).ok());
  EXPECT_EQ(TrackOver(ingest, Tls(&other_ca_, "stranger")).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(ingest.Stop(), 0) << ingest.LogTail();
}

TEST_F(TlsTest, RotatedCertificateIsServedWithoutRestart) {
  ServiceProcess ingest("ingest", redis_.url(), TlsFlags("require"));
  ingest.set_channel_credentials(Tls(&certs_, "client"));
  auto started = ingest.Start();
  ASSERT_TRUE(started.ok()) << started;
  const pid_t pid = ingest.pid();

  std::string cn;
  ASSERT_TRUE(TrackOver(ingest, Tls(&certs_, "client"), &cn).ok());
  EXPECT_EQ(cn, "journey-server-1");

  ASSERT_TRUE(certs_.CreateLeaf("server2", "journey-server-2").ok());
  // Key first, then the chain: the watcher keeps the old pair until the two match again.
  ASSERT_TRUE(journey::testing::ReplaceFile(certs_.key("server"), ReadFile(certs_.key("server2"))).ok());
  ASSERT_TRUE(journey::testing::ReplaceFile(certs_.cert("server"), ReadFile(certs_.cert("server2"))).ok());

  EXPECT_TRUE(PollUntil([&] { return TrackOver(ingest, Tls(&certs_, "client"), &cn).ok() && cn == "journey-server-2"; },
                        absl::Seconds(15), absl::Milliseconds(200)))
      << "still serving CN=" << cn << "; log: " << ingest.LogTail();
  EXPECT_EQ(ingest.pid(), pid) << "the service restarted";
  EXPECT_EQ(ingest.Stop(), 0) << ingest.LogTail();
}

}  // namespace
}  // namespace journey
