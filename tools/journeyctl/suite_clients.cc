#include "tools/journeyctl/suite_clients.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace journey::cli {
namespace {

absl::StatusOr<std::string> ReadPem(const std::string& flag, const std::string& path) {
  if (path.empty()) return std::string();
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("--", flag, " '", path, "' cannot be read"));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::Channel>> DialService(const SuiteAddresses& addresses, const std::string& address) {
  grpc::ChannelArguments args;
  // dns:/// targets with several addresses spread calls over replicas.
  args.SetLoadBalancingPolicyName("round_robin");
  if (!addresses.tls) return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
  grpc::SslCredentialsOptions ssl;
  auto ca = ReadPem("ca_file", addresses.ca_file);
  if (!ca.ok()) return ca.status();
  auto cert = ReadPem("cert_file", addresses.cert_file);
  if (!cert.ok()) return cert.status();
  auto key = ReadPem("key_file", addresses.key_file);
  if (!key.ok()) return key.status();
  ssl.pem_root_certs = *ca;
  ssl.pem_cert_chain = *cert;
  ssl.pem_private_key = *key;
  return grpc::CreateCustomChannel(address, grpc::SslCredentials(ssl), args);
}

SuiteClients::SuiteClients(const SuiteAddresses& addresses) : addresses_(addresses) {
  bool reported = false;
  auto dial = [&](const std::string& address) {
    auto channel = DialService(addresses, address);
    if (channel.ok()) return *channel;
    if (!reported) std::fprintf(stderr, "journeyctl: %s\n", std::string(channel.status().message()).c_str());
    reported = true;
    // Calls on a channel to nowhere fail as UNAVAILABLE, after the message above.
    return grpc::CreateChannel("unix:/nonexistent", grpc::InsecureChannelCredentials());
  };
  ingest_ = ingest::v1::Ingest::NewStub(dial(addresses.ingest));
  journey_ = state::v1::Journey::NewStub(dial(addresses.journey));
  persona_ = persona::v1::Persona::NewStub(dial(addresses.persona));
  recommend_ = recommend::v1::Recommend::NewStub(dial(addresses.recommend));
}

std::unique_ptr<grpc::ClientContext> SuiteClients::Context() const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(addresses_.timeout_ms));
  if (!addresses_.api_key.empty()) ctx->AddMetadata("authorization", "Bearer " + addresses_.api_key);
  return ctx;
}

std::string Explain(const grpc::Status& status, const std::string& service, const std::string& address) {
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      return absl::StrCat(service, " at ", address, " is unreachable (is it running? TLS on both sides or on "
                          "neither?): ", status.error_message());
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return absl::StrCat(service, " at ", address, " did not answer in time");
    case grpc::StatusCode::UNAUTHENTICATED:
      return absl::StrCat(service, ": no valid API key (set --api_key or JOURNEY_API_KEY): ", status.error_message());
    case grpc::StatusCode::UNIMPLEMENTED:
      return absl::StrCat(service, " at ", address, " does not offer this call yet (UNIMPLEMENTED)");
    case grpc::StatusCode::PERMISSION_DENIED:
      return absl::StrCat(service, ": the API key lacks the scope for this call: ", status.error_message());
    case grpc::StatusCode::INVALID_ARGUMENT:
      return absl::StrCat(service, " refused the input (INVALID_ARGUMENT): ", status.error_message());
    case grpc::StatusCode::NOT_FOUND:
      return absl::StrCat(service, ": not found (NOT_FOUND): ", status.error_message());
    case grpc::StatusCode::FAILED_PRECONDITION:
      return absl::StrCat(service, " refused it in the current state (FAILED_PRECONDITION): ", status.error_message());
    case grpc::StatusCode::ABORTED:
      return absl::StrCat(service, ": a concurrent change came first, retry (ABORTED): ", status.error_message());
    default:
      return absl::StrCat(service, ": ", status.error_message(), " (code ", status.error_code(), ")");
  }
}

}  // namespace journey::cli
