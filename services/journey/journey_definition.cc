#include "services/journey/journey_definition.h"

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/config/yaml_reader.h"
#include "common/number/whole_number.h"

namespace journey::journey_state {
namespace {

using config::YamlReader;

absl::Status JoinErrors(const std::vector<std::string>& errors) {
  return absl::InvalidArgumentError(absl::StrJoin(errors, "\n"));
}

}  // namespace

absl::StatusOr<DefinitionProto> ParseDefinitionYaml(const std::string& text, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ":", e.mark.line + 1, ": not valid YAML: ", e.msg));
  }
  YamlReader r(source);
  DefinitionProto def;
  if (!root.IsMap()) {
    return absl::InvalidArgumentError(absl::StrCat(source, ":1: the file must be a mapping with stages and rules"));
  }
  r.UnknownKeys(root, "",
                {"id", "version", "stages", "entry_stage", "touchpoint_cap", "repeat_purchase", "rules", "timers"});
  std::string s;
  if (root["id"] && r.String(root["id"], "id", &s)) def.set_id(s);
  int64_t whole = 0;
  int32_t whole32 = 0;
  def.set_version(1);  // a file without a version is version 1
  if (root["version"] && r.Whole(root["version"], "version", 1, &whole)) def.set_version(whole);
  if (root["entry_stage"] && r.String(root["entry_stage"], "entry_stage", &s)) def.set_entry_stage(s);
  if (root["touchpoint_cap"] && r.Whole(root["touchpoint_cap"], "touchpoint_cap", 1, &whole32)) {
    def.set_touchpoint_cap(whole32);
  }
  const YAML::Node stages = root["stages"];
  if (!stages) {
    r.Error(root, "stages", "missing: list the ordered stage names");
  } else if (!stages.IsSequence()) {
    r.Error(stages, "stages", "must be a list of stage names");
  } else {
    for (size_t i = 0; i < stages.size(); ++i) {
      if (r.String(stages[i], absl::StrCat("stages[", i, "]"), &s)) def.add_stages(s);
    }
  }
  std::set<std::string> stage_set(def.stages().begin(), def.stages().end());
  auto check_stage = [&](const YAML::Node& node, const std::string& field, const std::string& stage) {
    if (!stage_set.empty() && !stage_set.count(stage)) {
      r.Error(node, field, absl::StrCat("unknown stage '", stage, "' (stages: ", absl::StrJoin(def.stages(), ", "), ")"));
    }
  };
  if (root["entry_stage"]) check_stage(root["entry_stage"], "entry_stage", def.entry_stage());

  if (const YAML::Node rp = root["repeat_purchase"]) {
    if (!rp.IsMap()) {
      r.Error(rp, "repeat_purchase", "must be a mapping with event, within_days and stage");
    } else {
      r.UnknownKeys(rp, "repeat_purchase.", {"event", "within_days", "within_s", "stage"});
      if (rp["event"] && r.String(rp["event"], "repeat_purchase.event", &s)) def.set_repeat_purchase_event(s);
      if (rp["within_days"] && r.Whole(rp["within_days"], "repeat_purchase.within_days", 86400, &whole)) {
        def.set_repeat_purchase_window_s(whole);
      }
      if (rp["within_s"] && r.Whole(rp["within_s"], "repeat_purchase.within_s", 1, &whole)) {
        def.set_repeat_purchase_window_s(whole);
      }
      if (rp["stage"] && r.String(rp["stage"], "repeat_purchase.stage", &s)) {
        def.set_repeat_purchase_stage(s);
        check_stage(rp["stage"], "repeat_purchase.stage", s);
      }
    }
  }

  const YAML::Node rules = root["rules"];
  if (rules && !rules.IsSequence()) {
    r.Error(rules, "rules", "must be a list of rules");
  } else if (rules) {
    for (size_t i = 0; i < rules.size(); ++i) {
      const YAML::Node rule = rules[i];
      const std::string where = absl::StrCat("rules[", i, "]");
      if (!rule.IsMap()) {
        r.Error(rule, where, "must be a mapping with event(s) and to");
        continue;
      }
      r.UnknownKeys(rule, where + ".", {"event", "events", "when", "to", "backward"});
      std::vector<std::string> names;
      if (rule["event"] && r.String(rule["event"], where + ".event", &s)) names.push_back(s);
      if (const YAML::Node evs = rule["events"]) {
        if (!evs.IsSequence()) {
          r.Error(evs, where + ".events", "must be a list of event names");
        } else {
          for (size_t k = 0; k < evs.size(); ++k) {
            if (r.String(evs[k], absl::StrCat(where, ".events[", k, "]"), &s)) names.push_back(s);
          }
        }
      }
      if (names.empty()) r.Error(rule, where, "needs `event` or `events`");
      std::string to, when;
      if (!rule["to"]) {
        r.Error(rule, where + ".to", "missing: the stage this rule moves to");
      } else if (r.String(rule["to"], where + ".to", &to)) {
        check_stage(rule["to"], where + ".to", to);
      }
      if (rule["when"] && r.String(rule["when"], where + ".when", &when)) {
        if (auto p = RulePredicate::Parse(when); !p.ok()) r.Error(rule["when"], where + ".when", std::string(p.status().message()));
      }
      bool backward = false;
      if (rule["backward"]) {
        if (!rule["backward"].IsScalar() || (rule["backward"].Scalar() != "true" && rule["backward"].Scalar() != "false")) {
          r.Error(rule["backward"], where + ".backward", "must be true or false");
        } else {
          backward = rule["backward"].Scalar() == "true";
        }
      }
      for (const std::string& name : names) {
        auto* out = def.add_rules();
        out->set_event(name);
        out->set_when(when);
        out->set_to_stage(to);
        out->set_allow_backward(backward);
      }
    }
  }

  if (const YAML::Node timers = root["timers"]) {
    if (!timers.IsSequence()) {
      r.Error(timers, "timers", "must be a list of {stage, after_hours|after_s, reason}");
    } else {
      for (size_t i = 0; i < timers.size(); ++i) {
        const YAML::Node t = timers[i];
        const std::string where = absl::StrCat("timers[", i, "]");
        if (!t.IsMap()) {
          r.Error(t, where, "must be a mapping with stage and after_hours");
          continue;
        }
        r.UnknownKeys(t, where + ".", {"stage", "after_hours", "after_s", "reason"});
        auto* out = def.add_timers();
        if (t["stage"] && r.String(t["stage"], where + ".stage", &s)) {
          out->set_stage(s);
          check_stage(t["stage"], where + ".stage", s);
        } else if (!t["stage"]) {
          r.Error(t, where + ".stage", "missing");
        }
        if (t["after_hours"] && r.Whole(t["after_hours"], where + ".after_hours", 3600, &whole)) {
          out->set_after_s(whole);
        }
        if (t["after_s"] && r.Whole(t["after_s"], where + ".after_s", 1, &whole)) out->set_after_s(whole);
        if (!t["after_hours"] && !t["after_s"]) r.Error(t, where + ".after_hours", "missing");
        else if (out->after_s() <= 0) r.Error(t, where + ".after_hours", "must be positive");
        if (t["reason"] && r.String(t["reason"], where + ".reason", &s)) out->set_reason(s);
      }
    }
  }
  if (!r.errors().empty()) return JoinErrors(r.errors());
  // Whole-definition checks that the walk above cannot see (duplicates, missing id...).
  std::vector<std::string> semantic = ValidateDefinition(def);
  for (auto& e : semantic) e = absl::StrCat(source, ": ", e);
  if (!semantic.empty()) return JoinErrors(semantic);
  def.set_source(source);
  return def;
}

absl::StatusOr<DefinitionProto> LoadDefinitionFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::InvalidArgumentError(absl::StrCat(path, ": cannot read the journey definition file"));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return ParseDefinitionYaml(buffer.str(), path);
}

std::vector<std::string> ValidateDefinition(const DefinitionProto& def) {
  std::vector<std::string> errors;
  if (def.id().empty()) errors.push_back("id: missing (e.g. id: default)");
  for (char c : def.id()) {
    if (c == ':' || c == '{' || c == '}' || c == ' ') {
      errors.push_back(absl::StrCat("id: '", def.id(), "' may not contain ':', '{', '}' or spaces"));
      break;
    }
  }
  if (def.version() < 1) errors.push_back(absl::StrCat("version: must be >= 1, got ", def.version()));
  if (def.stages_size() < 2) errors.push_back("stages: at least two stages are needed");
  std::set<std::string> stages;
  for (int i = 0; i < def.stages_size(); ++i) {
    const std::string& st = def.stages(i);
    if (st.empty()) errors.push_back(absl::StrCat("stages[", i, "]: empty name"));
    if (st.find('|') != std::string::npos) errors.push_back(absl::StrCat("stages[", i, "]: '", st, "' may not contain '|'"));
    if (!stages.insert(st).second) errors.push_back(absl::StrCat("stages[", i, "]: '", st, "' listed twice"));
  }
  auto known = [&](const std::string& st) { return stages.count(st) > 0; };
  if (!def.entry_stage().empty() && !known(def.entry_stage())) {
    errors.push_back(absl::StrCat("entry_stage: unknown stage '", def.entry_stage(), "'"));
  }
  if (def.touchpoint_cap() < 0 || def.touchpoint_cap() > 1000) {
    errors.push_back(absl::StrCat("touchpoint_cap: must be in 0..1000, got ", def.touchpoint_cap()));
  }
  for (int i = 0; i < def.rules_size(); ++i) {
    const auto& rule = def.rules(i);
    if (rule.event().empty()) errors.push_back(absl::StrCat("rules[", i, "].event: missing"));
    if (!known(rule.to_stage())) errors.push_back(absl::StrCat("rules[", i, "].to: unknown stage '", rule.to_stage(), "'"));
    if (!rule.when().empty()) {
      if (auto p = RulePredicate::Parse(rule.when()); !p.ok()) {
        errors.push_back(absl::StrCat("rules[", i, "].when: ", p.status().message()));
      }
    }
  }
  if (!def.repeat_purchase_event().empty()) {
    if (!known(def.repeat_purchase_stage())) {
      errors.push_back(absl::StrCat("repeat_purchase.stage: unknown stage '", def.repeat_purchase_stage(), "'"));
    }
    if (def.repeat_purchase_window_s() <= 0) errors.push_back("repeat_purchase.within_days: must be positive");
  }
  std::set<std::string> timer_stages;
  for (int i = 0; i < def.timers_size(); ++i) {
    const auto& t = def.timers(i);
    if (!known(t.stage())) errors.push_back(absl::StrCat("timers[", i, "].stage: unknown stage '", t.stage(), "'"));
    if (!timer_stages.insert(t.stage()).second) {
      errors.push_back(absl::StrCat("timers[", i, "].stage: a second timer for '", t.stage(), "'"));
    }
    if (t.after_s() <= 0) errors.push_back(absl::StrCat("timers[", i, "].after_s: must be positive"));
  }
  return errors;
}

absl::StatusOr<std::shared_ptr<const CompiledDefinition>> CompiledDefinition::Compile(const DefinitionProto& definition) {
  std::vector<std::string> errors = ValidateDefinition(definition);
  if (!errors.empty()) return JoinErrors(errors);
  auto out = std::shared_ptr<CompiledDefinition>(new CompiledDefinition());
  out->proto_ = definition;
  for (int i = 0; i < definition.stages_size(); ++i) out->stage_index_[definition.stages(i)] = i;
  out->entry_stage_ = definition.entry_stage().empty() ? 0 : out->StageIndex(definition.entry_stage());
  out->touchpoint_cap_ = definition.touchpoint_cap() > 0 ? definition.touchpoint_cap() : kDefaultTouchpointCap;
  out->repeat_stage_ = definition.repeat_purchase_event().empty() ? -1 : out->StageIndex(definition.repeat_purchase_stage());
  for (const auto& rule : definition.rules()) {
    CompiledRule c;
    c.to_stage = out->StageIndex(rule.to_stage());
    c.allow_backward = rule.allow_backward();
    if (!rule.when().empty()) {
      auto p = RulePredicate::Parse(rule.when());
      if (!p.ok()) return p.status();
      c.when = std::move(*p);
    }
    out->rules_[rule.event()].push_back(std::move(c));
  }
  for (const auto& t : definition.timers()) {
    out->timers_[out->StageIndex(t.stage())] = CompiledTimer{absl::Seconds(t.after_s()), t.reason()};
  }
  return std::shared_ptr<const CompiledDefinition>(std::move(out));
}

int CompiledDefinition::StageIndex(absl::string_view stage) const {
  auto it = stage_index_.find(stage);
  return it == stage_index_.end() ? -1 : it->second;
}

const std::vector<CompiledRule>* CompiledDefinition::RulesFor(const std::string& event_name) const {
  auto it = rules_.find(event_name);
  return it == rules_.end() ? nullptr : &it->second;
}

const CompiledTimer* CompiledDefinition::TimerFor(int stage) const {
  auto it = timers_.find(stage);
  return it == timers_.end() ? nullptr : &it->second;
}

}  // namespace journey::journey_state
