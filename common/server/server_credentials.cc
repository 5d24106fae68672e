#include "common/server/server_credentials.h"

#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>

namespace journey::server {
namespace {

grpc_ssl_client_certificate_request_type RequestType(config::ClientAuth auth) {
  switch (auth) {
    case config::ClientAuth::kNone: return GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE;
    case config::ClientAuth::kRequest: return GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY;
    case config::ClientAuth::kRequire: return GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE;
}

}  // namespace

std::shared_ptr<grpc::ServerCredentials> MakeServerCredentials(const config::TlsConfig& tls) {
  if (!tls.enabled()) return grpc::InsecureServerCredentials();
  const unsigned interval_s = static_cast<unsigned>(tls.reload_interval_s);
  // The file watcher re-reads key, chain and roots on its own thread; handshakes after a
  // change use the new files (a half-written pair is ignored until key and cert match).
  std::shared_ptr<grpc::experimental::CertificateProviderInterface> provider =
      tls.ca_file.empty()
          ? std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(tls.key_file, tls.cert_file, interval_s)
          : std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(tls.key_file, tls.cert_file,
                                                                                 tls.ca_file, interval_s);
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  if (!tls.ca_file.empty()) options.watch_root_certs();
  options.set_cert_request_type(RequestType(tls.client_auth));
  return grpc::experimental::TlsServerCredentials(options);
}

}  // namespace journey::server
