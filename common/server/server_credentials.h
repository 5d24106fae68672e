// The transport credentials of every gRPC port: plaintext, TLS, or mutual TLS, from the
// certificate files of TlsConfig, re-read every reload_interval_s so that a rotated
// certificate is served without a restart. An authentication check (API keys) composes
// with these: it runs per call on top of whichever transport is chosen here.
#pragma once

#include <memory>

#include <grpcpp/security/server_credentials.h>

#include "common/config/tls_config.h"

namespace journey::server {

std::shared_ptr<grpc::ServerCredentials> MakeServerCredentials(const config::TlsConfig& tls);

}  // namespace journey::server
