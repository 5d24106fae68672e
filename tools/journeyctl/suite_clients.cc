#include "tools/journeyctl/suite_clients.h"

#include "absl/strings/str_cat.h"

namespace journey::cli {
namespace {

std::shared_ptr<grpc::Channel> Dial(const std::string& address) {
  grpc::ChannelArguments args;
  // dns:/// targets with several addresses spread calls over replicas.
  args.SetLoadBalancingPolicyName("round_robin");
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

}  // namespace

SuiteClients::SuiteClients(const SuiteAddresses& addresses)
    : addresses_(addresses),
      ingest_(ingest::v1::Ingest::NewStub(Dial(addresses.ingest))),
      journey_(state::v1::Journey::NewStub(Dial(addresses.journey))),
      persona_(persona::v1::Persona::NewStub(Dial(addresses.persona))),
      recommend_(recommend::v1::Recommend::NewStub(Dial(addresses.recommend))) {}

std::unique_ptr<grpc::ClientContext> SuiteClients::Context() const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(addresses_.timeout_ms));
  if (!addresses_.api_key.empty()) ctx->AddMetadata("authorization", "Bearer " + addresses_.api_key);
  return ctx;
}

std::string Explain(const grpc::Status& status, const std::string& service, const std::string& address) {
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      return absl::StrCat(service, " at ", address, " is unreachable (is it running?): ", status.error_message());
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return absl::StrCat(service, " at ", address, " did not answer in time");
    case grpc::StatusCode::UNAUTHENTICATED:
      return absl::StrCat(service, ": no valid API key (set --api_key or JOURNEY_API_KEY): ", status.error_message());
    case grpc::StatusCode::UNIMPLEMENTED:
      return absl::StrCat(service, " at ", address, " does not offer this call yet (UNIMPLEMENTED)");
    case grpc::StatusCode::PERMISSION_DENIED:
      return absl::StrCat(service, ": the API key lacks the scope for this call: ", status.error_message());
    default:
      return absl::StrCat(service, ": ", status.error_message(), " (code ", status.error_code(), ")");
  }
}

}  // namespace journey::cli
