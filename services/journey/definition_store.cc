#include "services/journey/definition_store.h"

#include <algorithm>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/log/log.h"
#include "common/storage/keys.h"
#include "common/time/proto_time.h"

namespace journey::journey_state {
namespace {

namespace sv1 = journey::state::v1;

// Stores a definition only when its version is higher than the stored one: the active
// "version"/"proto" pair and the history entry "v:<version>" together, then drops the
// oldest history entries beyond ARGV[4]. Returns 0, or the stored version that is not older.
constexpr char kStoreScript[] =
    "local cur = redis.call('HGET', KEYS[1], 'version') "
    "if cur and tonumber(cur) >= tonumber(ARGV[1]) then return tonumber(cur) end "
    "redis.call('HSET', KEYS[1], 'version', ARGV[1], 'proto', ARGV[2], 'v:' .. ARGV[1], ARGV[3]) "
    "local kept = {} "
    "for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do "
    "  if string.sub(f, 1, 2) == 'v:' then kept[#kept + 1] = {tonumber(string.sub(f, 3)), f} end "
    "end "
    "table.sort(kept, function(a, b) return a[1] < b[1] end) "
    "for i = 1, #kept - tonumber(ARGV[4]) do redis.call('HDEL', KEYS[1], kept[i][2]) end "
    "return 0";

// Deletes history entry ARGV[1] of a journey, or with '0' the whole journey. Refuses the
// active version in the same step that checks it, so an apply on another replica cannot
// slip in between. Replies {'deleted', versions...}, {'active', version}, {'missing'} (no
// such journey) or {'no_version'}.
constexpr char kDeleteScript[] =
    "if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing'} end "
    "local active = redis.call('HGET', KEYS[1], 'version') "
    "if ARGV[1] == '0' then "
    "  local out = {'deleted'} "
    "  for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do "
    "    if string.sub(f, 1, 2) == 'v:' then out[#out + 1] = string.sub(f, 3) end "
    "  end "
    "  if active and redis.call('HEXISTS', KEYS[1], 'v:' .. active) == 0 then out[#out + 1] = active end "
    "  redis.call('DEL', KEYS[1]) "
    "  return out "
    "end "
    "if active == ARGV[1] then return {'active', active} end "
    "if redis.call('HDEL', KEYS[1], 'v:' .. ARGV[1]) == 0 then return {'no_version'} end "
    "return {'deleted', ARGV[1]}";

sv1::DefinitionVersion Describe(const DefinitionProto& d) {
  sv1::DefinitionVersion out;
  out.set_id(d.id());
  out.set_version(d.version());
  out.set_source(d.source());
  out.set_stages(d.stages_size());
  out.set_rules(d.rules_size());
  out.set_timers(d.timers_size());
  return out;
}

absl::Status ActiveRefused(const std::string& id, int64_t version) {
  return absl::FailedPreconditionError(absl::StrCat("version: journey '", id, "' version ", version,
                                                    " is active; apply a newer version before deleting this one"));
}

}  // namespace

DefinitionStore::DefinitionStore(storage::RedisClient* redis, const Clock* clock, std::string workspace,
                                 std::shared_ptr<const CompiledDefinition> initial)
    : redis_(redis), clock_(clock), workspace_(std::move(workspace)) {
  Install(std::move(initial));
}

void DefinitionStore::Install(std::shared_ptr<const CompiledDefinition> compiled) {
  auto machine = std::make_shared<const JourneyStateMachine>(std::move(compiled), clock_);
  std::lock_guard<std::mutex> lock(mu_);
  machine_ = std::move(machine);
}

std::shared_ptr<const JourneyStateMachine> DefinitionStore::Machine() const {
  std::lock_guard<std::mutex> lock(mu_);
  return machine_;
}

std::shared_ptr<const CompiledDefinition> DefinitionStore::Current() const {
  auto m = Machine();
  // The machine keeps its definition alive; alias it.
  return std::shared_ptr<const CompiledDefinition>(m, &m->definition());
}

absl::StatusOr<int64_t> DefinitionStore::Apply(DefinitionProto definition, bool dry_run) {
  auto current = Current();
  if (definition.id().empty()) definition.set_id(current->id());
  if (definition.id() != current->id()) {
    return absl::InvalidArgumentError(absl::StrCat("definition.id: '", definition.id(),
                                                   "' is not the journey this service runs ('", current->id(), "')"));
  }
  if (definition.version() == 0) definition.set_version(current->version() + 1);
  if (definition.version() <= current->version()) {
    return absl::FailedPreconditionError(absl::StrCat("definition.version: ", definition.version(),
                                                      " is not newer than the version in force (",
                                                      current->version(), ")"));
  }
  auto compiled = CompiledDefinition::Compile(definition);
  if (!compiled.ok()) return compiled.status();
  if (dry_run) return definition.version();
  if (definition.source().empty()) definition.set_source("admin");
  sv1::StoredDefinition record;
  *record.mutable_definition() = definition;
  prototime::ToProto(clock_->Now(), record.mutable_applied_at());
  // The index first: an id in the index may lack its hash, a stored hash is always indexed.
  auto indexed = redis_->Command({"SADD", keys::JourneyDefinitionIds(workspace_), definition.id()});
  if (!indexed.ok()) return indexed.status();
  auto stored = redis_->Command({"EVAL", kStoreScript, "1", keys::JourneyDefinition(workspace_, definition.id()),
                                 std::to_string(definition.version()), definition.SerializeAsString(),
                                 record.SerializeAsString(), std::to_string(kMaxStoredVersions)});
  if (!stored.ok()) return stored.status();
  if (stored->integer != 0) {
    return absl::FailedPreconditionError(absl::StrCat("definition.version: ", definition.version(),
                                                      " is not newer than the stored version (", stored->integer, ")"));
  }
  Install(*std::move(compiled));
  log::Info("journey definition applied", {{"id", definition.id()}, {"version", std::to_string(definition.version())}});
  return definition.version();
}

absl::Status DefinitionStore::Refresh() {
  auto current = Current();
  auto reply = redis_->Command({"HGET", keys::JourneyDefinition(workspace_, current->id()), "version"});
  if (!reply.ok()) return reply.status();
  int64_t version = 0;
  if (reply->is_nil() || !absl::SimpleAtoi(reply->str, &version) || version <= current->version()) {
    return absl::OkStatus();
  }
  auto proto_reply = redis_->Command({"HGET", keys::JourneyDefinition(workspace_, current->id()), "proto"});
  if (!proto_reply.ok()) return proto_reply.status();
  DefinitionProto def;
  if (!def.ParseFromString(proto_reply->str)) return absl::InternalError("stored journey definition does not parse");
  auto compiled = CompiledDefinition::Compile(def);
  if (!compiled.ok()) return compiled.status();
  Install(*std::move(compiled));
  log::Info("journey definition refreshed", {{"id", def.id()}, {"version", std::to_string(def.version())}});
  return absl::OkStatus();
}

absl::StatusOr<std::vector<sv1::DefinitionVersion>> DefinitionStore::List(const std::string& id) {
  if (auto refreshed = Refresh(); !refreshed.ok()) return refreshed;
  auto current = Current();
  std::vector<std::string> ids;
  if (!id.empty()) {
    ids.push_back(id);
  } else {
    auto members = redis_->Command({"SMEMBERS", keys::JourneyDefinitionIds(workspace_)});
    if (!members.ok()) return members.status();
    for (const auto& m : members->elements) ids.push_back(m.str);
    ids.push_back(current->id());
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  }
  std::vector<storage::RedisCommand> reads;
  for (const auto& i : ids) reads.push_back({"HGETALL", keys::JourneyDefinition(workspace_, i)});
  auto replies = redis_->Pipeline(reads);
  if (!replies.ok()) return replies.status();
  std::vector<sv1::DefinitionVersion> out;
  for (size_t n = 0; n < ids.size(); ++n) {
    const auto& reply = (*replies)[n];
    if (reply.is_error()) return absl::InternalError(absl::StrCat("reading journey definition '", ids[n], "': ", reply.str));
    std::map<int64_t, sv1::DefinitionVersion, std::greater<>> versions;
    int64_t stored_active = 0;
    std::string active_proto;
    for (size_t f = 0; f + 1 < reply.elements.size(); f += 2) {
      const std::string& field = reply.elements[f].str;
      const std::string& value = reply.elements[f + 1].str;
      if (field == "version") {
        if (!absl::SimpleAtoi(value, &stored_active)) stored_active = 0;
      } else if (field == "proto") {
        active_proto = value;
      } else if (absl::StartsWith(field, "v:")) {
        sv1::StoredDefinition record;
        if (!record.ParseFromString(value)) {
          return absl::DataLossError(absl::StrCat("stored journey definition '", ids[n], "' ", field, " does not parse"));
        }
        sv1::DefinitionVersion v = Describe(record.definition());
        *v.mutable_applied_at() = record.applied_at();
        v.set_stored(true);
        versions[v.version()] = std::move(v);
      }
    }
    // Stored before the history was kept: only the active pair, without a time.
    if (stored_active > 0 && !versions.count(stored_active)) {
      DefinitionProto d;
      if (d.ParseFromString(active_proto)) {
        sv1::DefinitionVersion v = Describe(d);
        v.set_stored(true);
        versions[stored_active] = std::move(v);
      }
    }
    const bool running = ids[n] == current->id();
    if (running && !versions.count(current->version())) {
      versions[current->version()] = Describe(current->proto());  // from the file, stored = false
    }
    const int64_t active = running ? current->version() : stored_active;
    for (auto& [version, v] : versions) {
      v.set_active(version == active);
      out.push_back(std::move(v));
    }
  }
  if (!id.empty() && out.empty()) {
    return absl::NotFoundError(absl::StrCat("id: no journey definition '", id, "' is stored"));
  }
  return out;
}

absl::StatusOr<std::vector<int64_t>> DefinitionStore::Delete(const std::string& id, int64_t version) {
  if (id.empty()) return absl::InvalidArgumentError("id: required");
  if (version < 0) {
    return absl::InvalidArgumentError(absl::StrCat("version: ", version, " is negative (0 = every stored version)"));
  }
  if (auto refreshed = Refresh(); !refreshed.ok()) return refreshed;
  auto current = Current();
  const bool running = id == current->id();
  if (running && version == 0) {
    return absl::FailedPreconditionError(absl::StrCat("id: journey '", id, "' is the one this service runs (version ",
                                                      current->version(),
                                                      " is active); delete its older versions one at a time"));
  }
  if (running && version == current->version()) return ActiveRefused(id, version);
  auto reply = redis_->Command({"EVAL", kDeleteScript, "1", keys::JourneyDefinition(workspace_, id),
                                std::to_string(version)});
  if (!reply.ok()) return reply.status();
  const std::string outcome = reply->elements.empty() ? "" : reply->elements[0].str;
  if (outcome == "active") return ActiveRefused(id, version);
  if (outcome == "missing" && !running) {
    return absl::NotFoundError(absl::StrCat("id: no journey definition '", id, "' is stored"));
  }
  if (outcome == "missing" || outcome == "no_version") {
    return absl::NotFoundError(absl::StrCat("version: journey '", id, "' has no stored version ", version));
  }
  if (outcome != "deleted") return absl::InternalError(absl::StrCat("unexpected reply deleting journey '", id, "'"));
  std::vector<int64_t> deleted;
  for (size_t i = 1; i < reply->elements.size(); ++i) {
    int64_t v = 0;
    if (absl::SimpleAtoi(reply->elements[i].str, &v)) deleted.push_back(v);
  }
  std::sort(deleted.begin(), deleted.end());
  if (version == 0) {
    // The hash is gone; unindex the id unless an apply has stored it again meanwhile.
    auto exists = redis_->Command({"EXISTS", keys::JourneyDefinition(workspace_, id)});
    if (exists.ok() && exists->integer == 0) {
      auto unindexed = redis_->Command({"SREM", keys::JourneyDefinitionIds(workspace_), id});
      if (!unindexed.ok()) log::Warn("journey definition id not unindexed", {{"id", id}});
    }
  }
  log::Info("journey definition deleted",
            {{"id", id}, {"versions", absl::StrJoin(deleted, ",")}});
  return deleted;
}

}  // namespace journey::journey_state
