#include "services/recommend/experiment_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "services/recommend/offer_catalog.h"

namespace journey::recommend {
namespace {

using experiment::kAssignmentBuckets;

// "file:line: path" for errors; yaml-cpp lines are 0-based.
std::string At(const std::string& source, const YAML::Node& n, const std::string& path) {
  const int line = n.Mark().line;
  return line >= 0 ? absl::StrCat(source, ":", line + 1, ": ", path) : absl::StrCat(source, ": ", path);
}

absl::Status Bad(const std::string& source, const YAML::Node& n, const std::string& path, const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat(At(source, n, path), ": ", why));
}

bool IsId(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!(absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.')) return false;
  }
  return true;
}

// "24h", "90m", "7d".
bool ParseWindow(const std::string& text, absl::Duration* out) {
  absl::string_view s = absl::StripAsciiWhitespace(text);
  if (absl::ConsumeSuffix(&s, "d")) {
    int64_t days = 0;
    if (!absl::SimpleAtoi(s, &days) || days <= 0 || days > 365) return false;
    *out = absl::Hours(24 * days);
    return true;
  }
  return absl::ParseDuration(s, out) && *out > absl::ZeroDuration() && *out <= absl::Hours(24 * 365);
}

bool ParseBool(const YAML::Node& n, bool* out) {
  const std::string s = absl::AsciiStrToLower(n.Scalar());
  if (s == "true" || s == "on" || s == "yes") *out = true;
  else if (s == "false" || s == "off" || s == "no") *out = false;
  else return false;
  return true;
}

absl::Status Strings(const std::string& source, const YAML::Node& n, const std::string& path,
                     std::vector<std::string>* out) {
  if (n.IsScalar()) {
    out->push_back(n.Scalar());
    return absl::OkStatus();
  }
  if (!n.IsSequence()) return Bad(source, n, path, "want a list");
  for (size_t i = 0; i < n.size(); ++i) {
    if (!n[i].IsScalar()) return Bad(source, n[i], absl::StrCat(path, "[", i, "]"), "want a string");
    out->push_back(n[i].Scalar());
  }
  return absl::OkStatus();
}

absl::Status ParseTime(const std::string& source, const YAML::Node& n, const std::string& path, absl::Time* out) {
  std::string err;
  if (!n.IsScalar() || !absl::ParseTime(absl::RFC3339_full, n.Scalar(), out, &err)) {
    return Bad(source, n, path, absl::StrCat("\"", n.Scalar(), "\" is not an RFC 3339 time"));
  }
  return absl::OkStatus();
}

absl::Status ParseHoldout(const std::string& source, const YAML::Node& node, HoldoutSettings* h) {
  if (!node.IsMap()) return Bad(source, node, "holdout", "want a mapping");
  h->assignment.share_bp = 500;  // a holdout section without a share holds out 5%
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar();
    const YAML::Node& v = kv.second;
    const std::string path = "holdout." + key;
    if (key == "share") {
      if (!v.IsScalar() || !experiment::ParseShare(v.Scalar(), &h->assignment.share_bp)) {
        return Bad(source, v, path, absl::StrCat("\"", v.Scalar(), "\" is not a share (want e.g. 5% or 0.05)"));
      }
      if (h->assignment.share_bp > 5000) return Bad(source, v, path, "must be at most 50%");
    } else if (key == "salt") {
      if (!v.IsScalar() || v.Scalar().empty()) return Bad(source, v, path, "want a non-empty string");
      h->assignment.salt = v.Scalar();
    } else if (key == "attribution_window") {
      if (!v.IsScalar() || !ParseWindow(v.Scalar(), &h->attribution_window)) {
        return Bad(source, v, path, absl::StrCat("\"", v.Scalar(), "\" is not a duration (want e.g. 24h or 7d)"));
      }
    } else {
      return Bad(source, kv.first, path, "unknown field (want share, salt, attribution_window)");
    }
  }
  return absl::OkStatus();
}

absl::Status ParseVariant(const std::string& source, const YAML::Node& node, const std::string& where,
                          ExperimentVariant* var) {
  if (!node.IsMap()) return Bad(source, node, where, "want a mapping");
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar();
    const YAML::Node& v = kv.second;
    const std::string path = absl::StrCat(where, ".", key);
    if (key != "offers" && !v.IsScalar()) return Bad(source, v, path, "want a scalar");
    if (key == "id") {
      var->id = v.Scalar();
      if (!IsId(var->id)) return Bad(source, v, path, absl::StrCat("\"", var->id, "\" is not an id (letters, digits, - _ .)"));
    } else if (key == "weight") {
      if (!absl::SimpleAtod(v.Scalar(), &var->weight) || !(var->weight > 0) || var->weight > 1e6) {
        return Bad(source, v, path, absl::StrCat("\"", v.Scalar(), "\" is not a weight > 0"));
      }
    } else if (key == "control") {
      if (!ParseBool(v, &var->control)) return Bad(source, v, path, "want true or false");
    } else if (key == "ranking") {
      const std::string s = absl::AsciiStrToLower(v.Scalar());
      if (s == "co_occurrence") var->treatment.ranking = ProductRanking::kCoOccurrence;
      else if (s == "popularity") var->treatment.ranking = ProductRanking::kPopularity;
      else return Bad(source, v, path, absl::StrCat("unknown ranking \"", v.Scalar(), "\" (want co_occurrence or popularity)"));
    } else if (key == "exploration") {
      if (!ParseBool(v, &var->treatment.exploration)) return Bad(source, v, path, "want true or false");
    } else if (key == "offers") {
      if (auto st = Strings(source, v, path, &var->treatment.offer_ids); !st.ok()) return st;
      if (var->treatment.offer_ids.empty()) return Bad(source, v, path, "an empty list would leave no offer; omit it for all offers");
    } else {
      return Bad(source, kv.first, path, "unknown field (want id, weight, control, ranking, exploration, offers)");
    }
  }
  if (var->id.empty()) return Bad(source, node, where + ".id", "required");
  return absl::OkStatus();
}

absl::Status ParseTarget(const std::string& source, const YAML::Node& node, const std::string& where, Experiment* e) {
  if (!node.IsMap()) return Bad(source, node, where, "want a mapping");
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar();
    const std::string path = absl::StrCat(where, ".", key);
    std::vector<std::string> list;
    if (auto st = Strings(source, kv.second, path, &list); !st.ok()) return st;
    if (key == "stages") {
      for (auto& s : list) e->stages.push_back(absl::AsciiStrToUpper(s));
    } else if (key == "segments") {
      e->segments = std::move(list);
    } else if (key == "placements") {
      for (size_t i = 0; i < list.size(); ++i) {
        v1::Placement p;
        if (!ParsePlacement(absl::AsciiStrToLower(list[i]), &p)) {
          return Bad(source, kv.second, absl::StrCat(path, "[", i, "]"),
                     absl::StrCat("unknown placement \"", list[i],
                                  "\" (want home, product_page, cart, checkout, email, post_purchase)"));
        }
        e->placement_mask |= 1u << static_cast<int>(p);
      }
    } else {
      return Bad(source, kv.first, path, "unknown field (want stages, segments, placements)");
    }
  }
  return absl::OkStatus();
}

absl::Status ParseExperiment(const std::string& source, const YAML::Node& node, const std::string& where,
                             Experiment* e) {
  if (!node.IsMap()) return Bad(source, node, where, "want a mapping");
  e->source = absl::StrCat(source, ":", node.Mark().line + 1);
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar();
    const YAML::Node& v = kv.second;
    const std::string path = absl::StrCat(where, ".", key);
    if (key == "target") {
      if (auto st = ParseTarget(source, v, path, e); !st.ok()) return st;
      continue;
    }
    if (key == "variants") {
      if (!v.IsSequence()) return Bad(source, v, path, "want a list");
      for (size_t i = 0; i < v.size(); ++i) {
        ExperimentVariant var;
        if (auto st = ParseVariant(source, v[i], absl::StrCat(path, "[", i, "]"), &var); !st.ok()) return st;
        e->variants.push_back(std::move(var));
      }
      continue;
    }
    if (!v.IsScalar()) return Bad(source, v, path, "want a scalar");
    if (key == "id") {
      e->id = v.Scalar();
      if (!IsId(e->id)) return Bad(source, v, path, absl::StrCat("\"", e->id, "\" is not an id (letters, digits, - _ .)"));
      if (e->id == kHoldoutExperimentId) return Bad(source, v, path, "\"holdout\" is reserved for the workspace holdout");
    } else if (key == "layer") {
      e->layer = v.Scalar();
      if (!IsId(e->layer)) return Bad(source, v, path, absl::StrCat("\"", e->layer, "\" is not an id"));
    } else if (key == "traffic") {
      if (!experiment::ParseShare(v.Scalar(), &e->traffic_bp) || e->traffic_bp == 0) {
        return Bad(source, v, path, absl::StrCat("\"", v.Scalar(), "\" is not a share above 0 (want e.g. 50% or 0.5)"));
      }
    } else if (key == "start") {
      if (auto st = ParseTime(source, v, path, &e->start); !st.ok()) return st;
    } else if (key == "end") {
      if (auto st = ParseTime(source, v, path, &e->end); !st.ok()) return st;
    } else if (key == "primary_metric") {
      const std::string s = absl::AsciiStrToLower(v.Scalar());
      if (s == "conversion") e->primary_metric = PrimaryMetric::kConversion;
      else if (s == "revenue_per_customer") e->primary_metric = PrimaryMetric::kRevenuePerCustomer;
      else if (s == "click_through") e->primary_metric = PrimaryMetric::kClickThrough;
      else return Bad(source, v, path, absl::StrCat("unknown metric \"", v.Scalar(), "\" (want conversion, revenue_per_customer, click_through)"));
    } else if (key == "attribution_window") {
      if (!ParseWindow(v.Scalar(), &e->attribution_window)) {
        return Bad(source, v, path, absl::StrCat("\"", v.Scalar(), "\" is not a duration (want e.g. 24h or 7d)"));
      }
    } else {
      return Bad(source, kv.first, path,
                 "unknown field (want id, layer, traffic, target, start, end, primary_metric, attribution_window, variants)");
    }
  }
  if (e->id.empty()) return Bad(source, node, where + ".id", "required");
  if (e->layer.empty()) e->layer = e->id;
  if (e->start >= e->end) return Bad(source, node[("end")] ? node["end"] : node, where + ".end", "must be after start");
  const std::string vpath = where + ".variants";
  if (e->variants.size() < 2) return Bad(source, node["variants"] ? node["variants"] : node, vpath, "want at least two variants");
  std::set<std::string> ids;
  int controls = 0;
  for (const auto& var : e->variants) {
    if (!ids.insert(var.id).second) return Bad(source, node["variants"], vpath, absl::StrCat("variant \"", var.id, "\" appears twice"));
    controls += var.control ? 1 : 0;
  }
  if (controls > 1) return Bad(source, node["variants"], vpath, "more than one variant has control: true");
  if (controls == 0) e->variants[0].control = true;  // the first variant is the control unless one says so
  return absl::OkStatus();
}

}  // namespace

const char* PrimaryMetricName(PrimaryMetric metric) {
  switch (metric) {
    case PrimaryMetric::kConversion: return "conversion";
    case PrimaryMetric::kRevenuePerCustomer: return "revenue_per_customer";
    case PrimaryMetric::kClickThrough: return "click_through";
  }
  return "conversion";
}

absl::StatusOr<ExperimentConfig> ParseExperimentsYaml(const std::string& text, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(source, ":", e.mark.line + 1, ": not valid YAML: ", e.msg));
  }
  ExperimentConfig config;
  if (root.IsNull()) return config;
  if (!root.IsMap()) return absl::InvalidArgumentError(absl::StrCat(source, ": want a mapping with holdout and/or experiments"));
  for (const auto& kv : root) {
    const std::string key = kv.first.Scalar();
    if (key == "holdout") {
      if (auto st = ParseHoldout(source, kv.second, &config.holdout); !st.ok()) return st;
    } else if (key == "experiments") {
      if (!kv.second.IsSequence()) return Bad(source, kv.second, "experiments", "want a list");
      for (size_t i = 0; i < kv.second.size(); ++i) {
        Experiment e;
        if (auto st = ParseExperiment(source, kv.second[i], absl::StrCat("experiments[", i, "]"), &e); !st.ok()) return st;
        config.experiments.push_back(std::move(e));
      }
    } else {
      return Bad(source, kv.first, key, "unknown field (want holdout, experiments)");
    }
  }
  return config;
}

absl::Status ValidateExperiments(ExperimentConfig* config) {
  std::set<std::string> ids;
  std::map<std::string, uint32_t> layer_used;
  for (Experiment& e : config->experiments) {
    if (!ids.insert(e.id).second) return absl::InvalidArgumentError(absl::StrCat(e.source, ": id: \"", e.id, "\" is defined twice"));
    uint32_t& used = layer_used[e.layer];
    if (used + e.traffic_bp > kAssignmentBuckets) {
      return absl::InvalidArgumentError(absl::StrCat(e.source, ": traffic: layer \"", e.layer, "\" would exceed 100% (",
                                                     used / 100.0, "% already taken by earlier experiments)"));
    }
    e.bucket_from = used;
    e.bucket_to = used + e.traffic_bp;
    used = e.bucket_to;
  }
  return absl::OkStatus();
}

absl::StatusOr<ExperimentConfig> LoadExperimentsDir(const std::string& dir) {
  ExperimentConfig merged;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return merged;
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().string();
    if (entry.is_regular_file() && (absl::EndsWith(name, ".yaml") || absl::EndsWith(name, ".yml"))) files.push_back(name);
  }
  std::sort(files.begin(), files.end());
  std::string holdout_source;
  for (const auto& file : files) {
    std::ifstream in(file);
    if (!in) return absl::InvalidArgumentError(absl::StrCat(file, ": cannot read"));
    std::stringstream ss;
    ss << in.rdbuf();
    auto one = ParseExperimentsYaml(ss.str(), file);
    if (!one.ok()) return one.status();
    if (one->holdout.enabled() || one->holdout.assignment.salt != "holdout") {
      if (!holdout_source.empty()) {
        return absl::InvalidArgumentError(absl::StrCat(file, ": holdout: already defined in ", holdout_source));
      }
      holdout_source = file;
      merged.holdout = one->holdout;
    }
    for (auto& e : one->experiments) merged.experiments.push_back(std::move(e));
  }
  if (auto st = ValidateExperiments(&merged); !st.ok()) return st;
  return merged;
}

v1::ListExperimentsResponse DescribeExperiments(const ExperimentConfig& config, absl::Time now) {
  v1::ListExperimentsResponse out;
  out.set_holdout_share_bp(config.holdout.assignment.share_bp);
  out.set_holdout_salt(config.holdout.assignment.salt);
  auto stamp = [](absl::Time t, google::protobuf::Timestamp* ts) {
    if (t == absl::InfinitePast() || t == absl::InfiniteFuture()) return;
    ts->set_seconds(absl::ToUnixSeconds(t));
  };
  for (const Experiment& e : config.experiments) {
    v1::ExperimentDefinition* d = out.add_experiments();
    d->set_id(e.id);
    d->set_layer(e.layer);
    d->set_traffic_bp(e.traffic_bp);
    d->set_bucket_from(e.bucket_from);
    d->set_bucket_to(e.bucket_to);
    for (const auto& s : e.stages) d->add_stages(s);
    for (const auto& s : e.segments) d->add_segments(s);
    for (int p = 1; p < 7; ++p) {
      if (e.placement_mask & (1u << p)) d->add_placements(static_cast<v1::Placement>(p));
    }
    stamp(e.start, d->mutable_start());
    stamp(e.end, d->mutable_end());
    d->set_primary_metric(PrimaryMetricName(e.primary_metric));
    d->set_attribution_window_s(absl::ToInt64Seconds(e.attribution_window));
    d->set_source(e.source);
    d->set_running(now >= e.start && now < e.end);
    for (const auto& v : e.variants) {
      v1::ExperimentVariantDefinition* vd = d->add_variants();
      vd->set_id(v.id);
      vd->set_weight(v.weight);
      vd->set_control(v.control);
      vd->set_ranking(v.treatment.ranking == ProductRanking::kPopularity ? "popularity" : "co_occurrence");
      vd->set_exploration(v.treatment.exploration);
      for (const auto& o : v.treatment.offer_ids) vd->add_offer_ids(o);
    }
  }
  return out;
}

}  // namespace journey::recommend
