// Test fixture: one HTTP request to a service on 127.0.0.1 with libcurl, the way a Segment
// SDK sends it (JSON body, the write key as HTTP Basic user).
#pragma once

#include <string>

namespace journey::testing {

struct HttpResponse {
  long status = 0;  // 0 when no answer came
  std::string body;
};

HttpResponse HttpRequest(int port, const std::string& method, const std::string& path, const std::string& body);

inline HttpResponse HttpPost(int port, const std::string& path, const std::string& body) {
  return HttpRequest(port, "POST", path, body);
}

}  // namespace journey::testing
