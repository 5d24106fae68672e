#include "tests/testing/test_certificates.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace journey::testing {
namespace {

// EC keys: a handshake-ready certificate in milliseconds, unlike RSA key generation.
constexpr char kKeyArgs[] = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";

absl::Status Run(const std::string& command) {
  const std::string quiet = absl::StrCat(command, " >/dev/null 2>&1");
  if (std::system(quiet.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("failed (is the openssl CLI installed?): ", command));
  }
  return absl::OkStatus();
}

}  // namespace

TestCertificates::TestCertificates() {
  char tmpl[] = "/tmp/journey-certs-XXXXXX";
  dir_ = mkdtemp(tmpl);
}

TestCertificates::~TestCertificates() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

absl::Status TestCertificates::CreateCa() {
  return Run(absl::StrCat("openssl req -x509 ", kKeyArgs, " -keyout ", dir_, "/ca.key -out ", ca_cert(),
                          " -days 2 -subj /CN=journey-test-ca"));
}

absl::Status TestCertificates::CreateLeaf(const std::string& name, const std::string& common_name) {
  const std::string ext = absl::StrCat(dir_, "/", name, ".ext");
  {
    std::ofstream out(ext);
    out << "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
        << "extendedKeyUsage=serverAuth,clientAuth\n"
        << "basicConstraints=CA:FALSE\n";
  }
  const std::string csr = absl::StrCat(dir_, "/", name, ".csr");
  if (auto s = Run(absl::StrCat("openssl req ", kKeyArgs, " -keyout ", key(name), " -out ", csr, " -subj /CN=",
                                common_name));
      !s.ok()) {
    return s;
  }
  return Run(absl::StrCat("openssl x509 -req -in ", csr, " -CA ", ca_cert(), " -CAkey ", dir_,
                          "/ca.key -CAcreateserial -days 2 -extfile ", ext, " -out ", cert(name)));
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

absl::Status ReplaceFile(const std::string& path, const std::string& contents) {
  const std::string tmp = absl::StrCat(path, ".tmp");
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << contents;
    if (!out.good()) return absl::InternalError(absl::StrCat("cannot write ", tmp));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return absl::InternalError(absl::StrCat("cannot rename to ", path));
  return absl::OkStatus();
}

}  // namespace journey::testing
