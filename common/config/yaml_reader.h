// Walking a YAML config tree while collecting every error as "file:line: field: problem", so
// one run of a validator reports all of a file's mistakes (journey definitions, triggers).
#pragma once

#include <cmath>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/number/whole_number.h"

namespace journey::config {

// Collects errors while walking the YAML tree, each prefixed with file:line.
class YamlReader {
 public:
  explicit YamlReader(std::string source) : source_(std::move(source)) {}

  void Error(const YAML::Node& at, const std::string& field, const std::string& message) {
    const int line = at.IsDefined() && at.Mark().line >= 0 ? at.Mark().line + 1 : 0;
    errors_.push_back(absl::StrCat(source_, ":", line, ": ", field, ": ", message));
  }
  std::vector<std::string>& errors() { return errors_; }

  bool String(const YAML::Node& node, const std::string& field, std::string* out) {
    if (!node.IsScalar()) {
      Error(node, field, "must be a text value");
      return false;
    }
    *out = node.Scalar();
    return true;
  }
  bool Number(const YAML::Node& node, const std::string& field, double* out) {
    if (!node.IsScalar() || !absl::SimpleAtod(node.Scalar(), out)) {
      Error(node, field, absl::StrCat("must be a number, got '", node.IsScalar() ? node.Scalar() : "<not a value>",
                                      "'"));
      return false;
    }
    return true;
  }
  // A count or duration in whole units: `scale` turns days or hours into seconds, and the
  // result is rounded to a whole second, so 1.5 days is fine but 1e300 is an error, not UB.
  template <typename Int>
  bool Whole(const YAML::Node& node, const std::string& field, double scale, Int* out) {
    double n = 0;
    if (!Number(node, field, &n)) return false;
    const std::optional<Int> whole = journey::number::WholeNumber<Int>(std::round(n * scale));
    if (!whole) {
      Error(node, field, absl::StrCat("is out of range: '", node.Scalar(), "'"));
      return false;
    }
    *out = *whole;
    return true;
  }
  void UnknownKeys(const YAML::Node& map, const std::string& where, std::set<std::string> allowed) {
    for (const auto& kv : map) {
      const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "?";
      if (!allowed.count(key)) {
        Error(kv.first, absl::StrCat(where, key), absl::StrCat("unknown field (allowed: ",
                                                              absl::StrJoin(allowed, ", "), ")"));
      }
    }
  }

 private:
  std::string source_;
  std::vector<std::string> errors_;
};

}  // namespace journey::config
