// Test fixture: throwaway X.509 material made with the `openssl` CLI in a temp dir: one CA
// and leaf certificates it signs (valid for localhost and 127.0.0.1, server and client use).
#pragma once

#include <string>

#include "absl/status/status.h"

namespace journey::testing {

class TestCertificates {
 public:
  TestCertificates();  // makes the temp dir; call CreateCa() next
  ~TestCertificates();

  absl::Status CreateCa();
  // Writes <name>.crt and <name>.key signed by the CA, with subject CN=<common_name>.
  absl::Status CreateLeaf(const std::string& name, const std::string& common_name);

  const std::string& dir() const { return dir_; }
  std::string ca_cert() const { return dir_ + "/ca.crt"; }
  std::string cert(const std::string& name) const { return dir_ + "/" + name + ".crt"; }
  std::string key(const std::string& name) const { return dir_ + "/" + name + ".key"; }

 private:
  std::string dir_;
};

// The whole file, or "" when it cannot be read.
std::string ReadFile(const std::string& path);
// Writes through a temp file and rename(), so a reader never sees half a file.
absl::Status ReplaceFile(const std::string& path, const std::string& contents);

}  // namespace journey::testing
