#include "services/journey/definition_store.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/log/log.h"
#include "common/storage/keys.h"

namespace journey::journey_state {
namespace {

// Stores a definition only when its version is higher than the stored one.
constexpr char kStoreScript[] =
    "local cur = redis.call('HGET', KEYS[1], 'version') "
    "if cur and tonumber(cur) >= tonumber(ARGV[1]) then return tonumber(cur) end "
    "redis.call('HSET', KEYS[1], 'version', ARGV[1], 'proto', ARGV[2]) return 0";

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
  auto stored = redis_->Command({"EVAL", kStoreScript, "1", keys::JourneyDefinition(workspace_, definition.id()),
                                 std::to_string(definition.version()), definition.SerializeAsString()});
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

}  // namespace journey::journey_state
