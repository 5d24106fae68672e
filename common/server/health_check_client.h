// grpc.health.v1 Check without generated code (the health proto is not shipped as a
// Debian -dev header): the request and response are encoded by hand.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

namespace journey::server {

// SERVING (true) or anything else / unreachable (false) for `service` ("" = the server).
bool IsServing(const std::shared_ptr<grpc::Channel>& channel, const std::string& service, int timeout_ms);

}  // namespace journey::server
