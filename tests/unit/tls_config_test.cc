#include "common/config/tls_config.h"

#include <gtest/gtest.h>

#include <fstream>

namespace journey::config {
namespace {

class TlsConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(pem_) << "-----BEGIN CERTIFICATE-----\n";
  }
  void TearDown() override { std::remove(pem_.c_str()); }
  std::string pem_ = ::testing::TempDir() + "/tls_config_test.pem";
};

TEST_F(TlsConfigTest, PlaintextIsValid) { EXPECT_TRUE(ValidateTlsConfig(TlsConfig{}).ok()); }

TEST_F(TlsConfigTest, ErrorsNameTheFlag) {
  TlsConfig key_only;
  key_only.key_file = pem_;
  EXPECT_NE(ValidateTlsConfig(key_only).message().find("--tls_key_file"), std::string::npos);

  TlsConfig no_key;
  no_key.cert_file = pem_;
  EXPECT_NE(ValidateTlsConfig(no_key).message().find("--tls_key_file"), std::string::npos);

  TlsConfig missing = no_key;
  missing.cert_file = "/nonexistent/cert.pem";
  missing.key_file = pem_;
  EXPECT_NE(ValidateTlsConfig(missing).message().find("--tls_cert_file"), std::string::npos);

  TlsConfig mtls_without_ca;
  mtls_without_ca.cert_file = pem_;
  mtls_without_ca.key_file = pem_;
  mtls_without_ca.client_auth = ClientAuth::kRequire;
  EXPECT_NE(ValidateTlsConfig(mtls_without_ca).message().find("--tls_ca_file"), std::string::npos);

  TlsConfig mtls = mtls_without_ca;
  mtls.ca_file = pem_;
  EXPECT_TRUE(ValidateTlsConfig(mtls).ok());

  TlsConfig client_auth_without_tls;
  client_auth_without_tls.client_auth = ClientAuth::kRequest;
  EXPECT_NE(ValidateTlsConfig(client_auth_without_tls).message().find("--tls_client_auth"), std::string::npos);
}

TEST(ClientAuthTest, ParsesTheThreeModes) {
  ClientAuth auth = ClientAuth::kNone;
  EXPECT_TRUE(ParseClientAuth("require", &auth));
  EXPECT_EQ(auth, ClientAuth::kRequire);
  EXPECT_TRUE(ParseClientAuth("request", &auth));
  EXPECT_EQ(auth, ClientAuth::kRequest);
  EXPECT_TRUE(ParseClientAuth("none", &auth));
  EXPECT_EQ(auth, ClientAuth::kNone);
  EXPECT_FALSE(ParseClientAuth("optional", &auth));
}

}  // namespace
}  // namespace journey::config
