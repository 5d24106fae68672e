// How journeyctl reports: JSON for scripts, errors on stderr naming the service and what to do.
#pragma once

#include <grpcpp/grpcpp.h>

#include <string>

#include "absl/status/status.h"
#include "google/protobuf/message.h"

namespace journey::cli {

// Protobuf JSON with the proto field names, indented.
std::string ToJson(const google::protobuf::Message& m);
// Prints "journeyctl: <explanation>" and returns 1.
int Fail(const grpc::Status& status, const std::string& service, const std::string& address);
// Prints "journeyctl <command>: <message>" and returns 2 (bad usage or input).
int UsageError(const std::string& command, const absl::Status& status);

}  // namespace journey::cli
