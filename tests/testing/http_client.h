// Test fixture: one HTTP request to a service on 127.0.0.1 with libcurl, the way a Segment
// SDK sends it (JSON body, the write key as HTTP Basic user).
#pragma once

#include <string>

namespace journey::testing {

struct HttpResponse {
  long status = 0;  // 0 when no answer came
  std::string body;
  std::string headers;  // the raw response header lines
};

// `write_key` goes as the HTTP Basic user, as Segment's SDKs send it.
HttpResponse HttpRequest(int port, const std::string& method, const std::string& path, const std::string& body,
                         const std::string& write_key = "dev");

inline HttpResponse HttpPost(int port, const std::string& path, const std::string& body,
                             const std::string& write_key = "dev") {
  return HttpRequest(port, "POST", path, body, write_key);
}

}  // namespace journey::testing
