// `--name=value` flags of the benches that take a few numbers and do not need absl flags.
#pragma once

#include <cstring>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace journey::bench {

// The value of --name=N, or `fallback` when absent or not a number.
template <typename Int = int>
Int IntFlag(int argc, char** argv, const char* name, Int fallback) {
  const std::string prefix = absl::StrCat("--", name, "=");
  for (int i = 1; i < argc; ++i) {
    Int v = 0;
    if (std::strncmp(argv[i], prefix.c_str(), prefix.size()) == 0 && absl::SimpleAtoi(argv[i] + prefix.size(), &v)) {
      return v;
    }
  }
  return fallback;
}

}  // namespace journey::bench
