#include "tools/journeyctl/output.h"

#include <google/protobuf/util/json_util.h>

#include <cstdio>

#include "tools/journeyctl/suite_clients.h"

namespace journey::cli {

std::string ToJson(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &out, options);
  return out;
}

int Fail(const grpc::Status& status, const std::string& service, const std::string& address) {
  std::fprintf(stderr, "journeyctl: %s\n", Explain(status, service, address).c_str());
  return 1;
}

int UsageError(const std::string& command, const absl::Status& status) {
  std::fprintf(stderr, "journeyctl %s: %s\n", command.c_str(), std::string(status.message()).c_str());
  return 2;
}

}  // namespace journey::cli
