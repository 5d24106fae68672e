#include "common/orchestration/trigger_config.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/config/yaml_reader.h"

namespace journey::orchestration {
namespace {

namespace pb = journey::common::v1;
using config::YamlReader;

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::InvalidArgumentError(absl::StrCat(path, ": cannot read the file"));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::vector<std::string> YamlFiles(const std::string& dir) {
  std::vector<std::string> files;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return files;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string path = entry.path().string();
    if (entry.is_regular_file() && (absl::EndsWith(path, ".yaml") || absl::EndsWith(path, ".yml"))) {
      files.push_back(path);
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

// "HH:MM" -> minutes after midnight.
bool ParseClock(const std::string& text, int* minutes) {
  std::vector<std::string> parts = absl::StrSplit(text, ':');
  int h = 0, m = 0;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &h) || !absl::SimpleAtoi(parts[1], &m)) return false;
  if (h < 0 || h > 23 || m < 0 || m > 59) return false;
  *minutes = h * 60 + m;
  return true;
}

YAML::Node LoadYaml(const std::string& text, const std::string& source, absl::Status* error) {
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    *error = absl::InvalidArgumentError(absl::StrCat(source, ":", e.mark.line + 1, ": not valid YAML: ", e.msg));
    return YAML::Node();
  }
}

bool ReadDuration(YamlReader& r, const YAML::Node& map, const std::string& where, const std::string& base,
                  absl::Duration* out) {
  const std::string hours = base + "_h", seconds = base + "_s";
  int64_t whole = 0;
  if (map[hours] && r.Whole(map[hours], where + hours, 3600, &whole)) *out = absl::Seconds(whole);
  else if (map[seconds] && r.Whole(map[seconds], where + seconds, 1, &whole)) *out = absl::Seconds(whole);
  else return false;
  if (*out < absl::ZeroDuration()) r.Error(map[hours] ? map[hours] : map[seconds], where + base, "must not be negative");
  return true;
}

void ReadStringList(YamlReader& r, const YAML::Node& node, const std::string& field, std::vector<std::string>* out) {
  if (!node.IsSequence()) {
    r.Error(node, field, "must be a list of names");
    return;
  }
  out->clear();
  std::string s;
  for (size_t i = 0; i < node.size(); ++i) {
    if (r.String(node[i], absl::StrCat(field, "[", i, "]"), &s)) out->push_back(s);
  }
}

void ReadRules(YamlReader& r, const YAML::Node& o, OrchestrationRules* rules) {
  if (!o.IsMap()) {
    r.Error(o, "orchestration", "must be a mapping");
    return;
  }
  r.UnknownKeys(o, "orchestration.",
                {"global_cap_per_day", "default_time_zone", "quiet_hours", "cooldown_after_conversion_h",
                 "cooldown_after_conversion_s", "cooldown_after_dismissal_h", "cooldown_after_dismissal_s",
                 "conversion_events", "dismissal_events"});
  if (o["global_cap_per_day"]) {
    r.Whole(o["global_cap_per_day"], "orchestration.global_cap_per_day", 1, &rules->global_cap_per_day);
    if (rules->global_cap_per_day < 0) r.Error(o["global_cap_per_day"], "orchestration.global_cap_per_day", "must not be negative");
  }
  if (o["default_time_zone"] && r.String(o["default_time_zone"], "orchestration.default_time_zone", &rules->default_time_zone)) {
    absl::TimeZone tz;
    if (!absl::LoadTimeZone(rules->default_time_zone, &tz)) {
      r.Error(o["default_time_zone"], "orchestration.default_time_zone",
              absl::StrCat("unknown time zone '", rules->default_time_zone, "'"));
    }
  }
  ReadDuration(r, o, "orchestration.", "cooldown_after_conversion", &rules->cooldown_after_conversion);
  ReadDuration(r, o, "orchestration.", "cooldown_after_dismissal", &rules->cooldown_after_dismissal);
  if (o["conversion_events"]) ReadStringList(r, o["conversion_events"], "orchestration.conversion_events", &rules->conversion_events);
  if (o["dismissal_events"]) ReadStringList(r, o["dismissal_events"], "orchestration.dismissal_events", &rules->dismissal_events);
  if (const YAML::Node q = o["quiet_hours"]) {
    if (!q.IsMap()) {
      r.Error(q, "orchestration.quiet_hours", "must map a channel to {from: \"HH:MM\", to: \"HH:MM\"}");
      return;
    }
    for (const auto& kv : q) {
      const std::string name = kv.first.IsScalar() ? kv.first.Scalar() : "?";
      const std::string where = absl::StrCat("orchestration.quiet_hours.", name);
      const std::optional<Channel> channel = ParseChannel(name);
      if (!channel || !IsOutbound(*channel)) {
        r.Error(kv.first, where, "must be an outbound channel (email, push, sms)");
        continue;
      }
      const YAML::Node& v = kv.second;
      if (!v.IsMap()) {
        r.Error(v, where, "must be {from: \"HH:MM\", to: \"HH:MM\"}");
        continue;
      }
      r.UnknownKeys(v, where + ".", {"from", "to"});
      QuietHours hours;
      std::string s;
      for (const char* edge : {"from", "to"}) {
        int* out = std::string(edge) == "from" ? &hours.from_minute : &hours.to_minute;
        if (!v[edge]) r.Error(v, absl::StrCat(where, ".", edge), "missing");
        else if (r.String(v[edge], absl::StrCat(where, ".", edge), &s) && !ParseClock(s, out)) {
          r.Error(v[edge], absl::StrCat(where, ".", edge), absl::StrCat("must be HH:MM, got '", s, "'"));
        }
      }
      if (hours.from_minute == hours.to_minute) r.Error(v, where, "from and to must differ");
      rules->quiet_hours[*channel] = hours;
    }
  }
}

void ReadTrigger(YamlReader& r, const YAML::Node& t, const std::string& where, const std::string& source,
                 TriggerSpec* out) {
  r.UnknownKeys(t, where + ".", {"id", "on", "stage", "from", "segment", "scale", "at_most", "after_channel", "offer",
                                 "message", "channel", "consent", "promotional", "reentry_after_h", "reentry_after_s"});
  out->source = absl::StrCat(source, ":", t.Mark().line + 1);
  std::string s;
  if (!t["id"]) r.Error(t, where + ".id", "missing");
  else if (r.String(t["id"], where + ".id", &out->id) && out->id.empty()) r.Error(t["id"], where + ".id", "must not be empty");
  static const std::map<std::string, TriggerOn> kOn = {{"transition", TriggerOn::kTransition},
                                                       {"abandoned", TriggerOn::kAbandoned},
                                                       {"segment_entered", TriggerOn::kSegmentEntered},
                                                       {"segment_exited", TriggerOn::kSegmentExited},
                                                       {"sentiment", TriggerOn::kSentiment}};
  if (!t["on"]) {
    r.Error(t, where + ".on", "missing (transition, abandoned, segment_entered, segment_exited, sentiment)");
  } else if (r.String(t["on"], where + ".on", &s)) {
    auto it = kOn.find(s);
    if (it == kOn.end()) {
      r.Error(t["on"], where + ".on",
              absl::StrCat("unknown '", s, "' (transition, abandoned, segment_entered, segment_exited, sentiment)"));
    } else {
      out->on = it->second;
    }
  }
  if (t["stage"]) r.String(t["stage"], where + ".stage", &out->stage);
  if (t["from"]) r.String(t["from"], where + ".from", &out->from_stage);
  if (t["segment"]) r.String(t["segment"], where + ".segment", &out->segment);
  const bool on_segment = out->on == TriggerOn::kSegmentEntered || out->on == TriggerOn::kSegmentExited;
  if (on_segment && out->segment.empty()) r.Error(t, where + ".segment", "missing (a segment trigger names its segment)");
  if (!on_segment && t["segment"]) r.Error(t["segment"], where + ".segment", "only for segment_entered/segment_exited");
  if (out->on == TriggerOn::kSentiment) {
    if (t["scale"] && r.String(t["scale"], where + ".scale", &s)) {
      if (s == "csat") out->scale = pb::SENTIMENT_SCALE_CSAT_5;
      else if (s == "nps") out->scale = pb::SENTIMENT_SCALE_NPS_10;
      else if (s == "rating") out->scale = pb::SENTIMENT_SCALE_RATING_5;
      else r.Error(t["scale"], where + ".scale", absl::StrCat("unknown '", s, "' (csat, nps, rating)"));
    }
    if (t["at_most"]) r.Number(t["at_most"], where + ".at_most", &out->at_most);
    if (t["after_channel"] && r.String(t["after_channel"], where + ".after_channel", &s)) {
      if (auto c = ParseChannel(s)) out->after_channel = *c;
      else r.Error(t["after_channel"], where + ".after_channel", absl::StrCat("unknown channel '", s, "'"));
    }
  } else {
    for (const char* k : {"scale", "at_most", "after_channel"}) {
      if (t[k]) r.Error(t[k], absl::StrCat(where, ".", k), "only for on: sentiment");
    }
  }
  if (t["offer"]) r.String(t["offer"], where + ".offer", &out->offer_id);
  if (t["message"]) r.String(t["message"], where + ".message", &out->message);
  if (out->offer_id.empty() && out->message.empty()) r.Error(t, where + ".offer", "missing (an offer, a message or both)");
  if (t["channel"] && r.String(t["channel"], where + ".channel", &s)) {
    if (auto c = ParseChannel(s)) out->channel = *c;
    else r.Error(t["channel"], where + ".channel", absl::StrCat("unknown channel '", s, "'"));
  }
  if (t["consent"]) r.String(t["consent"], where + ".consent", &out->consent_purpose);
  if (t["promotional"]) {
    if (!t["promotional"].IsScalar() || (t["promotional"].Scalar() != "true" && t["promotional"].Scalar() != "false")) {
      r.Error(t["promotional"], where + ".promotional", "must be true or false");
    } else {
      out->promotional = t["promotional"].Scalar() == "true";
    }
  }
  ReadDuration(r, t, where + ".", "reentry_after", &out->reentry_after);
}

absl::Status JoinErrors(const std::vector<std::string>& errors) {
  return absl::InvalidArgumentError(absl::StrJoin(errors, "\n"));
}

// Parses one file; `has_rules` says whether it had an orchestration section.
absl::StatusOr<TriggerConfig> ParseFile(const std::string& text, const std::string& source, bool* has_rules) {
  absl::Status error;
  YAML::Node root = LoadYaml(text, source, &error);
  if (!error.ok()) return error;
  TriggerConfig config;
  if (!root || root.IsNull()) return config;
  YamlReader r(source);
  if (!root.IsMap()) return absl::InvalidArgumentError(absl::StrCat(source, ":1: must be a mapping with triggers"));
  r.UnknownKeys(root, "", {"version", "orchestration", "triggers"});
  *has_rules = static_cast<bool>(root["orchestration"]);
  if (*has_rules) ReadRules(r, root["orchestration"], &config.rules);
  if (const YAML::Node ts = root["triggers"]) {
    if (!ts.IsSequence()) {
      r.Error(ts, "triggers", "must be a list");
    } else {
      std::set<std::string> ids;
      for (size_t i = 0; i < ts.size(); ++i) {
        const std::string where = absl::StrCat("triggers[", i, "]");
        if (!ts[i].IsMap()) {
          r.Error(ts[i], where, "must be a mapping with id and on");
          continue;
        }
        TriggerSpec spec;
        ReadTrigger(r, ts[i], where, source, &spec);
        if (!spec.id.empty() && !ids.insert(spec.id).second) {
          r.Error(ts[i]["id"], where + ".id", absl::StrCat("duplicate trigger id '", spec.id, "'"));
        }
        config.triggers.push_back(std::move(spec));
      }
    }
  }
  if (!r.errors().empty()) return JoinErrors(r.errors());
  return config;
}

}  // namespace

bool IsOutbound(Channel channel) {
  return channel == pb::CHANNEL_EMAIL || channel == pb::CHANNEL_PUSH || channel == pb::CHANNEL_SMS;
}

std::optional<Channel> ParseChannel(const std::string& name) {
  Channel c;
  if (name.empty() || !pb::Channel_Parse(absl::StrCat("CHANNEL_", absl::AsciiStrToUpper(name)), &c)) return std::nullopt;
  if (c == pb::CHANNEL_UNSPECIFIED) return std::nullopt;
  return c;
}

absl::StatusOr<TriggerConfig> ParseTriggerYaml(const std::string& text, const std::string& source) {
  bool has_rules = false;
  return ParseFile(text, source, &has_rules);
}

absl::StatusOr<TriggerConfig> LoadTriggerDir(const std::string& dir) {
  TriggerConfig all;
  std::string rules_from;
  std::vector<std::string> errors;
  std::map<std::string, std::string> ids;  // id -> where defined
  for (const std::string& path : YamlFiles(dir)) {
    auto text = ReadFile(path);
    if (!text.ok()) return text.status();
    bool has_rules = false;
    auto one = ParseFile(*text, path, &has_rules);
    if (!one.ok()) {
      errors.push_back(std::string(one.status().message()));
      continue;
    }
    if (has_rules) {
      if (!rules_from.empty()) {
        errors.push_back(absl::StrCat(path, ": orchestration: already set in ", rules_from, " (one file sets the rules)"));
      }
      rules_from = path;
      all.rules = one->rules;
    }
    for (TriggerSpec& t : one->triggers) {
      auto [it, fresh] = ids.emplace(t.id, t.source);
      if (!fresh) errors.push_back(absl::StrCat(t.source, ": id: trigger '", t.id, "' also defined at ", it->second));
      all.triggers.push_back(std::move(t));
    }
  }
  if (!errors.empty()) return JoinErrors(errors);
  return all;
}

absl::StatusOr<experiment::HoldoutConfig> LoadHoldout(const std::string& experiments_dir) {
  experiment::HoldoutConfig holdout;
  for (const std::string& path : YamlFiles(experiments_dir)) {
    auto text = ReadFile(path);
    if (!text.ok()) return text.status();
    absl::Status error;
    YAML::Node root = LoadYaml(*text, path, &error);
    if (!error.ok()) return error;
    if (!root.IsMap() || !root["holdout"]) continue;
    const YAML::Node h = root["holdout"];
    YamlReader r(path);
    if (!h.IsMap()) {
      r.Error(h, "holdout", "must be {share: 0.05, salt: holdout}");
    } else {
      // The same share syntax as recommend's experiments ("5%" or 0.05).
      if (const YAML::Node share = h["share"]) {
        if (!share.IsScalar() || !experiment::ParseShare(share.Scalar(), &holdout.share_bp)) {
          r.Error(share, "holdout.share", "must be a share in [0, 1], e.g. 5% or 0.05");
        }
      }
      if (h["salt"]) r.String(h["salt"], "holdout.salt", &holdout.salt);
    }
    if (!r.errors().empty()) return JoinErrors(r.errors());
  }
  return holdout;
}

absl::StatusOr<TriggerConfig> LoadTriggers(const std::string& triggers_dir, const std::string& experiments_dir) {
  auto config = LoadTriggerDir(triggers_dir);
  if (!config.ok()) return config.status();
  auto holdout = LoadHoldout(experiments_dir);
  if (!holdout.ok()) return holdout.status();
  config->holdout = *holdout;
  return config;
}

std::vector<std::string> CheckStages(const TriggerConfig& config, const std::vector<std::string>& stages) {
  std::vector<std::string> errors;
  auto known = [&](const std::string& s) { return s.empty() || std::find(stages.begin(), stages.end(), s) != stages.end(); };
  for (const TriggerSpec& t : config.triggers) {
    for (const std::string* s : {&t.stage, &t.from_stage}) {
      if (!known(*s)) {
        errors.push_back(absl::StrCat(t.source, ": trigger '", t.id, "': stage '", *s, "' is not in the journey definition (",
                                      absl::StrJoin(stages, ", "), ")"));
      }
    }
  }
  return errors;
}

}  // namespace journey::orchestration
