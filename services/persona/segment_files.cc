#include "services/persona/segment_files.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace journey::persona {
namespace {

namespace cpb = ::journey::common::v1;

absl::Status Bad(const YAML::Node& node, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(what, " (line ", node.Mark().line + 1, ")"));
}

cpb::TraitValue ScalarValue(const std::string& text) {
  cpb::TraitValue v;
  double d;
  const std::string lower = absl::AsciiStrToLower(text);
  if (lower == "true" || lower == "false") {
    v.set_bool_value(lower == "true");
  } else if (absl::SimpleAtod(text, &d)) {
    v.set_number_value(d);
  } else {
    v.set_string_value(text);
  }
  return v;
}

// "90d", "24h", "30m", "3600s" or a number of seconds.
absl::StatusOr<int64_t> ParseWindow(const YAML::Node& node) {
  std::string text = node.as<std::string>();
  int64_t unit = 1;
  if (!text.empty()) {
    switch (text.back()) {
      case 'd': unit = 86400; break;
      case 'h': unit = 3600; break;
      case 'm': unit = 60; break;
      case 's': unit = 1; break;
      default: unit = 0;
    }
    if (unit != 0) text.pop_back(); else unit = 1;
  }
  int64_t n;
  if (!absl::SimpleAtoi(text, &n)) return Bad(node, absl::StrCat("window: '", node.as<std::string>(), "' is not like 90d"));
  return n * unit;
}

absl::Status ParseCondition(const YAML::Node& node, pb::Condition* out);

absl::Status ParseList(const YAML::Node& node, pb::ConditionList* out) {
  if (!node.IsSequence()) return Bad(node, "all/any: expects a list of conditions");
  for (const auto& child : node) {
    if (auto s = ParseCondition(child, out->add_conditions()); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status ParseCondition(const YAML::Node& node, pb::Condition* out) {
  if (!node.IsMap() || node.size() != 1) {
    return Bad(node, "condition: expects exactly one of all, any, not, compare, event_count");
  }
  const std::string kind = node.begin()->first.as<std::string>();
  const YAML::Node body = node.begin()->second;
  if (kind == "all") return ParseList(body, out->mutable_all());
  if (kind == "any") return ParseList(body, out->mutable_any());
  if (kind == "not") return ParseCondition(body, out->mutable_not_());
  if (kind == "compare") {
    pb::Comparison* c = out->mutable_compare();
    if (!body["attribute"] || !body["op"]) return Bad(body, "compare: needs attribute and op");
    c->set_attribute(body["attribute"].as<std::string>());
    c->set_op(body["op"].as<std::string>());
    if (const YAML::Node v = body["value"]) {
      if (v.IsSequence()) {
        for (const auto& item : v) c->mutable_value()->mutable_list_value()->add_values(item.as<std::string>());
      } else if (v.IsScalar()) {
        // A quoted scalar stays a string ("007"); a plain one is typed.
        if (v.Tag() == "!") {
          c->mutable_value()->set_string_value(v.as<std::string>());
        } else {
          *c->mutable_value() = ScalarValue(v.as<std::string>());
        }
      } else {
        return Bad(v, "compare.value: expects a scalar or a list");
      }
    }
    return absl::OkStatus();
  }
  if (kind == "event_count") {
    pb::EventCountCondition* e = out->mutable_event_count();
    if (!body["event"]) return Bad(body, "event_count: needs event");
    e->set_event(body["event"].as<std::string>());
    e->set_op(body["op"] ? body["op"].as<std::string>() : ">=");
    int64_t count = 1;
    if (body["count"] && !absl::SimpleAtoi(body["count"].as<std::string>(), &count)) {
      return Bad(body["count"], "event_count.count: expects an integer");
    }
    e->set_count(count);
    if (body["window_s"]) {
      int64_t w;
      if (!absl::SimpleAtoi(body["window_s"].as<std::string>(), &w)) return Bad(body, "event_count.window_s: integer");
      e->set_window_s(w);
    } else if (body["window"]) {
      auto w = ParseWindow(body["window"]);
      if (!w.ok()) return w.status();
      e->set_window_s(*w);
    }
    return absl::OkStatus();
  }
  return Bad(node, absl::StrCat("condition: unknown kind '", kind, "'"));
}

absl::Status ParseDefinition(const YAML::Node& node, pb::SegmentDefinition* d) {
  if (!node.IsMap()) return Bad(node, "segment: expects a mapping");
  if (!node["id"]) return Bad(node, "segment: id is required");
  d->set_id(node["id"].as<std::string>());
  d->set_name(node["name"] ? node["name"].as<std::string>() : d->id());
  if (node["description"]) d->set_description(node["description"].as<std::string>());
  if (node["persona"]) d->set_is_persona(node["persona"].as<bool>());
  if (node["is_persona"]) d->set_is_persona(node["is_persona"].as<bool>());
  if (node["priority"]) d->set_priority(node["priority"].as<int>());
  if (!node["condition"]) return Bad(node, absl::StrCat("segment ", d->id(), ": condition is required"));
  if (auto s = ParseCondition(node["condition"], d->mutable_condition()); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("segment ", d->id(), ": ", s.message()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<pb::SegmentDefinition>> ParseSegmentDefinitions(const std::string& text) {
  std::vector<pb::SegmentDefinition> out;
  try {
    YAML::Node root = YAML::Load(text);
    if (!root || root.IsNull()) return out;
    YAML::Node list = root.IsMap() && root["segments"] ? root["segments"] : root;
    if (list.IsSequence()) {
      for (const auto& item : list) {
        pb::SegmentDefinition d;
        if (auto s = ParseDefinition(item, &d); !s.ok()) return s;
        out.push_back(std::move(d));
      }
    } else {
      pb::SegmentDefinition d;
      if (auto s = ParseDefinition(list, &d); !s.ok()) return s;
      out.push_back(std::move(d));
    }
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("not valid YAML/JSON: ", e.what()));
  }
  return out;
}

absl::StatusOr<std::vector<pb::SegmentDefinition>> LoadSegmentDirectory(const std::string& config_dir) {
  namespace fs = std::filesystem;
  std::vector<pb::SegmentDefinition> out;
  const fs::path dir = fs::path(config_dir) / "segments";
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string ext = entry.path().extension().string();
    if (ext == ".yaml" || ext == ".yml" || ext == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::ifstream in(f);
    if (!in) return absl::InvalidArgumentError(absl::StrCat(f.string(), ": cannot read"));
    std::stringstream ss;
    ss << in.rdbuf();
    auto defs = ParseSegmentDefinitions(ss.str());
    if (!defs.ok()) return absl::InvalidArgumentError(absl::StrCat(f.string(), ": ", defs.status().message()));
    for (auto& d : *defs) out.push_back(std::move(d));
  }
  return out;
}

}  // namespace journey::persona
