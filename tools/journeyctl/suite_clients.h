// The four services as journeyctl sees them: one channel and stub per service, addressed by
// flags or JOURNEY_<SERVICE>_ADDR, every call with a deadline.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

#include "journey/ingest/v1/ingest.grpc.pb.h"
#include "journey/persona/v1/persona.grpc.pb.h"
#include "journey/recommend/v1/recommend.grpc.pb.h"
#include "journey/state/v1/journey.grpc.pb.h"

namespace journey::cli {

struct SuiteAddresses {
  std::string ingest = "127.0.0.1:50051";
  std::string journey = "127.0.0.1:50052";
  std::string persona = "127.0.0.1:50053";
  std::string recommend = "127.0.0.1:50054";
  std::string api_key;
  int timeout_ms = 5000;
  // TLS: on with --tls (JOURNEY_TLS=1); ca_file verifies the server (default: system roots);
  // cert_file + key_file present a client certificate (mTLS).
  bool tls = false;
  std::string ca_file, cert_file, key_file;
};

// A channel to `address` with the TLS settings of `addresses` (plaintext unless tls).
absl::StatusOr<std::shared_ptr<grpc::Channel>> DialService(const SuiteAddresses& addresses, const std::string& address);

class SuiteClients {
 public:
  // A TLS file that cannot be read is reported on stderr once and the channel fails its calls.
  explicit SuiteClients(const SuiteAddresses& addresses);

  ingest::v1::Ingest::Stub& ingest() { return *ingest_; }
  state::v1::Journey::Stub& journey() { return *journey_; }
  persona::v1::Persona::Stub& persona() { return *persona_; }
  recommend::v1::Recommend::Stub& recommend() { return *recommend_; }

  // A context with the deadline and credentials every call carries.
  std::unique_ptr<grpc::ClientContext> Context() const;

 private:
  SuiteAddresses addresses_;
  std::unique_ptr<ingest::v1::Ingest::Stub> ingest_;
  std::unique_ptr<state::v1::Journey::Stub> journey_;
  std::unique_ptr<persona::v1::Persona::Stub> persona_;
  std::unique_ptr<recommend::v1::Recommend::Stub> recommend_;
};

// "journey at 127.0.0.1:50052 is unreachable (is it running?)" and similar, for people.
std::string Explain(const grpc::Status& status, const std::string& service, const std::string& address);

}  // namespace journey::cli
