#include "services/journey/journey_logic.h"

#include <map>
#include <tuple>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/orchestration/action_outbox.h"
#include "common/storage/keys.h"
#include "services/journey/event_fields.h"
#include "services/journey/journey_aggregates.h"
#include "services/journey/journey_report.h"

namespace journey::journey_state {
namespace {

namespace sv1 = journey::state::v1;

// Persona's segment ids are short names; anything longer is not one.
constexpr size_t kMaxSegmentIdBytes = 256;

bool IsStreamId(const std::string& s) {
  std::vector<absl::string_view> parts = absl::StrSplit(s, '-');
  if (parts.empty() || parts.size() > 2) return false;
  for (absl::string_view p : parts) {
    if (p.empty() || p.size() > 20) return false;
    for (char c : p) {
      if (c < '0' || c > '9') return false;
    }
  }
  return true;
}

}  // namespace

JourneyLogic::JourneyLogic(storage::RedisClient* redis, DefinitionStore* definitions, const Clock* clock,
                           LogicOptions options)
    : redis_(redis), definitions_(definitions), clock_(clock), options_(std::move(options)) {}

absl::StatusOr<std::optional<JourneySnapshot>> JourneyLogic::GetJourney(const std::string& user_id,
                                                                       const std::string& anonymous_id) const {
  if (user_id.empty() && anonymous_id.empty()) {
    return absl::InvalidArgumentError("user_id: set user_id or anonymous_id");
  }
  std::string uid = user_id;
  if (uid.empty()) {
    auto alias = redis_->Pipeline({{"GET", keys::Alias(options_.workspace, anonymous_id)}});
    if (!alias.ok()) return alias.status();
    const auto& r = (*alias)[0];
    uid = r.is_string() && !r.str.empty() ? r.str : anonymous_id;
  }
  auto reply = redis_->Pipeline({{"HGET", keys::View(options_.workspace, uid), std::string(keys::kViewJourneyField)}});
  if (!reply.ok()) return reply.status();
  const auto& r = (*reply)[0];
  if (r.is_error()) return absl::InternalError(absl::StrCat("reading journey: ", r.str));
  if (!r.is_string()) return std::optional<JourneySnapshot>();
  JourneySnapshot snap;
  if (!snap.ParseFromString(r.str)) return absl::InternalError(absl::StrCat("journey of '", uid, "' does not parse"));
  if (snap.stage().empty()) return std::optional<JourneySnapshot>();  // erased or merged away
  return std::optional<JourneySnapshot>(std::move(snap));
}

absl::StatusOr<std::pair<absl::Time, absl::Time>> JourneyLogic::Range(const sv1::TimeRange& range) const {
  const absl::Time to = range.has_to() ? ToTime(range.to()) : clock_->Now();
  const absl::Time from = range.has_from() ? ToTime(range.from()) : to - options_.default_range;
  if (from > to) return absl::InvalidArgumentError("range.from: after range.to");
  if (to - from > options_.max_range) {
    return absl::InvalidArgumentError(absl::StrCat("range: longer than ", absl::FormatDuration(options_.max_range)));
  }
  return std::make_pair(from, to);
}

absl::StatusOr<sv1::Funnel> JourneyLogic::GetFunnel(const sv1::GetFunnelRequest& request) const {
  if (request.segment().size() > kMaxSegmentIdBytes) {
    return absl::InvalidArgumentError(absl::StrCat("segment: longer than ", kMaxSegmentIdBytes, " bytes"));
  }
  auto def = definitions_->Current();
  if (!request.journey_id().empty() && request.journey_id() != def->id()) {
    return absl::NotFoundError(absl::StrCat("journey_id: unknown journey '", request.journey_id(), "'"));
  }
  auto range = Range(request.range());
  if (!range.ok()) return range.status();
  // A segment's funnel counts customers who were in it when the event was applied (see
  // README); a segment nobody was in reads as all zeros.
  auto totals =
      ReadAggregates(redis_, options_.workspace, def->id(), range->first, range->second, false, request.segment());
  if (!totals.ok()) return totals.status();
  sv1::Funnel funnel = BuildFunnel(*totals, *def);
  SetTimestamp(range->first, funnel.mutable_range()->mutable_from());
  SetTimestamp(range->second, funnel.mutable_range()->mutable_to());
  return funnel;
}

absl::StatusOr<sv1::JourneyMap> JourneyLogic::GetJourneyMap(const sv1::GetJourneyMapRequest& request) const {
  if (request.segment().size() > kMaxSegmentIdBytes) {
    return absl::InvalidArgumentError(absl::StrCat("segment: longer than ", kMaxSegmentIdBytes, " bytes"));
  }
  auto def = definitions_->Current();
  if (!request.journey_id().empty() && request.journey_id() != def->id()) {
    return absl::NotFoundError(absl::StrCat("journey_id: unknown journey '", request.journey_id(), "'"));
  }
  auto range = Range(request.range());
  if (!range.ok()) return range.status();
  auto build = [&](absl::Time from, absl::Time to) -> absl::StatusOr<sv1::JourneyMap> {
    // As for the funnel: a segment's map counts the customers who were in it at event time.
    auto totals = ReadAggregates(redis_, options_.workspace, def->id(), from, to, true, request.segment());
    if (!totals.ok()) return totals.status();
    sv1::JourneyMap map = BuildJourneyMap(*totals, *def);
    SetTimestamp(from, map.mutable_range()->mutable_from());
    SetTimestamp(to, map.mutable_range()->mutable_to());
    *map.mutable_funnel()->mutable_range() = map.range();
    return map;
  };
  auto map = build(range->first, range->second);
  if (!map.ok()) return map.status();
  if (request.compare_previous()) {
    const absl::Duration len = range->second - range->first;
    auto previous = build(range->first - len - absl::Seconds(1), range->first - absl::Seconds(1));
    if (!previous.ok()) return previous.status();
    *map->mutable_previous() = *std::move(previous);
  }
  return map;
}

absl::StatusOr<std::string> JourneyLogic::ResolveCursor(const std::string& cursor) const {
  if (cursor == "0") return std::string("0-0");
  if (!cursor.empty()) {
    if (!IsStreamId(cursor)) return absl::InvalidArgumentError(absl::StrCat("cursor: '", cursor, "' is not a cursor"));
    return cursor;
  }
  auto last = redis_->Command({"XREVRANGE", keys::JourneyTransitions(options_.workspace), "+", "-", "COUNT", "1"});
  if (!last.ok()) return last.status();
  if (!last->is_array() || last->elements.empty()) return std::string("0-0");
  return last->elements[0].elements[0].str;
}

absl::StatusOr<std::vector<sv1::Transition>> JourneyLogic::ReadTransitions(const std::string& cursor, int count,
                                                                           absl::Duration block) const {
  std::vector<sv1::Transition> out;
  auto reply = redis_->Pipeline({{"XREAD", "COUNT", std::to_string(count), "BLOCK",
                                  std::to_string(absl::ToInt64Milliseconds(block)), "STREAMS",
                                  keys::JourneyTransitions(options_.workspace), cursor}},
                                block + absl::Seconds(2));
  if (!reply.ok()) return reply.status();
  const auto& r = (*reply)[0];
  if (r.is_error()) return absl::InternalError(absl::StrCat("reading transitions: ", r.str));
  if (!r.is_array() || r.elements.empty()) return out;
  for (const auto& e : r.elements[0].elements[1].elements) {
    if (e.elements.size() < 2) continue;
    sv1::Transition t;
    const auto& fields = e.elements[1].elements;
    for (size_t i = 0; i + 1 < fields.size(); i += 2) {
      if (fields[i].str == "t") t.ParseFromString(fields[i + 1].str);
    }
    t.set_cursor(e.elements[0].str);
    out.push_back(std::move(t));
  }
  return out;
}

sv1::JourneyDefinition JourneyLogic::GetDefinition() const { return definitions_->Current()->proto(); }

sv1::ApplyDefinitionResponse JourneyLogic::ApplyDefinition(const sv1::ApplyDefinitionRequest& request,
                                                           bool dry_run) const {
  sv1::ApplyDefinitionResponse response;
  DefinitionProto def = request.definition();
  if (!request.yaml().empty()) {
    auto parsed = ParseDefinitionYaml(request.yaml(), "yaml");
    if (!parsed.ok()) {
      for (absl::string_view line : absl::StrSplit(parsed.status().message(), '\n')) {
        response.add_errors(std::string(line));
      }
      return response;
    }
    def = *std::move(parsed);
    // A YAML file without an explicit version gets the next one.
    if (!absl::StrContains(request.yaml(), "version:")) def.set_version(0);
  }
  auto applied = definitions_->Apply(def, dry_run);
  if (!applied.ok()) {
    for (absl::string_view line : absl::StrSplit(applied.status().message(), '\n')) {
      response.add_errors(std::string(line));
    }
    return response;
  }
  response.set_valid(true);
  response.set_version(*applied);
  return response;
}

absl::StatusOr<sv1::ListDefinitionsResponse> JourneyLogic::ListDefinitions(
    const sv1::ListDefinitionsRequest& request) const {
  auto versions = definitions_->List(request.id());
  if (!versions.ok()) return versions.status();
  sv1::ListDefinitionsResponse response;
  for (auto& v : *versions) *response.add_definitions() = std::move(v);
  response.set_running_id(definitions_->Current()->id());
  return response;
}

absl::StatusOr<sv1::DeleteDefinitionResponse> JourneyLogic::DeleteDefinition(
    const sv1::DeleteDefinitionRequest& request) const {
  auto deleted = definitions_->Delete(request.id(), request.version());
  if (!deleted.ok()) return deleted.status();
  sv1::DeleteDefinitionResponse response;
  for (int64_t v : *deleted) response.add_deleted_versions(v);
  return response;
}

absl::StatusOr<sv1::GetActionStatsResponse> JourneyLogic::GetActionStats(
    const sv1::GetActionStatsRequest& request) const {
  const std::string& trigger = request.trigger_id();
  if (trigger.size() > 128 || trigger.find('|') != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("trigger_id: \"", trigger.substr(0, 128), "\" is not a trigger id (at most 128 characters, no '|')"));
  }
  auto counts = orchestration::ReadActionCounts(redis_, options_.workspace);
  if (!counts.ok()) return absl::UnavailableError(absl::StrCat("reading action counts: ", counts.status().message()));
  // Fields are "<outcome>|<reason>|<trigger>"; the map's order is not the one readers want.
  std::map<std::tuple<std::string, std::string, std::string>, int64_t> rows;
  for (const auto& [field, n] : *counts) {
    std::vector<std::string> parts = absl::StrSplit(field, absl::MaxSplits('|', 2));
    if (parts.size() != 3) continue;
    if (!trigger.empty() && parts[2] != trigger) continue;
    rows[{parts[2], parts[0], parts[1]}] += n;
  }
  sv1::GetActionStatsResponse response;
  for (const auto& [key, n] : rows) {
    sv1::ActionStat* s = response.add_stats();
    s->set_trigger_id(std::get<0>(key));
    s->set_outcome(std::get<1>(key));
    s->set_reason(std::get<2>(key));
    s->set_count(n);
  }
  return response;
}

}  // namespace journey::journey_state
