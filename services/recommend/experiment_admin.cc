#include "services/recommend/experiment_admin.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/storage/keys.h"
#include "common/time/proto_time.h"
#include "services/recommend/experiment_config.h"

namespace journey::recommend {
namespace {

constexpr size_t kMaxYamlBytes = 1 << 20;

// KEYS[1] = the definitions hash. ARGV: 1 the version the change was made on, 2 the new
// document (version ARGV[1] + 1). Returns the new version, or -(stored version) when another
// apply got there first.
constexpr const char* kStoreScript = R"lua(
local stored = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if stored ~= tonumber(ARGV[1]) then return -stored end
redis.call('HSET', KEYS[1], 'version', stored + 1, 'doc', ARGV[2])
return stored + 1
)lua";

absl::StatusOr<ExperimentConfig> Parse(const std::string& yaml, const std::string& source) {
  auto parsed = ParseExperimentsYaml(yaml, source);
  if (!parsed.ok()) return parsed.status();
  if (absl::Status valid = ValidateExperiments(&*parsed); !valid.ok()) return valid;
  return parsed;
}

}  // namespace

ExperimentAdmin::ExperimentAdmin(std::string workspace, storage::RedisClient* redis, ExperimentStore* store,
                                 const Clock* clock)
    : workspace_(std::move(workspace)), redis_(redis), store_(store), clock_(clock), store_script_(kStoreScript) {}

absl::StatusOr<v1::ApplyExperimentsResponse> ExperimentAdmin::Apply(const v1::ApplyExperimentsRequest& request) {
  if (request.yaml().empty()) return absl::InvalidArgumentError("yaml: required (the experiments document)");
  if (request.yaml().size() > kMaxYamlBytes) return absl::InvalidArgumentError("yaml: larger than 1 MiB");
  if (request.expected_version() < 0) {
    return absl::InvalidArgumentError(absl::StrCat("expected_version: ", request.expected_version(), " is negative"));
  }
  const std::string source = request.source().empty() ? "request" : request.source();
  auto config = Parse(request.yaml(), source);
  if (!config.ok()) return absl::InvalidArgumentError(absl::StrCat("yaml: ", config.status().message()));

  std::lock_guard<std::mutex> lock(mu_);
  for (int attempt = 0; attempt < 8; ++attempt) {
    auto stored = redis_->Command({"HGET", keys::ExperimentDefinitions(workspace_), "version"});
    if (!stored.ok()) return absl::UnavailableError(absl::StrCat("reading the stored version: ", stored.status().message()));
    int64_t base = 0;
    if (stored->is_string() && !absl::SimpleAtoi(stored->str, &base)) {
      return absl::InternalError(absl::StrCat("stored experiments version is not a number: ", stored->str));
    }
    if (request.expected_version() > 0 && base != request.expected_version()) {
      return absl::FailedPreconditionError(absl::StrCat("expected_version: ", request.expected_version(),
                                                        ", but the stored version is ", base));
    }
    v1::StoredExperiments doc;
    doc.set_version(base + 1);
    doc.set_yaml(request.yaml());
    doc.set_source(source);
    prototime::ToProto(clock_->Now(), doc.mutable_applied_at());
    std::vector<storage::RedisCommand> calls;
    storage::RedisCommand call = storage::RedisScript::Call(1);
    call.push_back(keys::ExperimentDefinitions(workspace_));
    call.push_back(std::to_string(base));
    call.push_back(doc.SerializeAsString());
    calls.push_back(std::move(call));
    auto replies = store_script_.Pipeline(redis_, std::move(calls));
    if (!replies.ok()) return absl::UnavailableError(absl::StrCat("storing experiments: ", replies.status().message()));
    const storage::RedisReply& r = replies->front();
    if (r.is_error()) return absl::InternalError(absl::StrCat("storing experiments: ", r.str));
    if (r.integer <= 0) continue;  // another replica applied in between: decide again on its version
    store_->Set(std::make_shared<const ExperimentSet>(workspace_, *config));
    version_ = r.integer;
    log::Info("experiments applied", {{"version", std::to_string(r.integer)}, {"source", source},
                                      {"experiments", std::to_string(config->experiments.size())}});
    v1::ApplyExperimentsResponse out;
    out.set_version(r.integer);
    out.set_experiments(static_cast<int32_t>(config->experiments.size()));
    out.set_holdout_share_bp(config->holdout.assignment.share_bp);
    return out;
  }
  return absl::AbortedError("experiments: other applies kept winning; try again");
}

absl::Status ExperimentAdmin::Install(const v1::StoredExperiments& stored) {
  auto config = Parse(stored.yaml(), stored.source());
  // Validated before it was stored; a newer build may disagree. Keep what runs.
  if (!config.ok()) return config.status();
  store_->Set(std::make_shared<const ExperimentSet>(workspace_, *config));
  version_ = stored.version();
  log::Info("experiments installed", {{"version", std::to_string(stored.version())}, {"source", stored.source()}});
  return absl::OkStatus();
}

absl::Status ExperimentAdmin::SyncFromRedis() {
  auto version = redis_->Command({"HGET", keys::ExperimentDefinitions(workspace_), "version"});
  if (!version.ok()) return version.status();
  int64_t stored = 0;
  if (!version->is_string() || !absl::SimpleAtoi(version->str, &stored) || stored <= version_.load()) {
    return absl::OkStatus();
  }
  auto doc = redis_->Command({"HGET", keys::ExperimentDefinitions(workspace_), "doc"});
  if (!doc.ok()) return doc.status();
  v1::StoredExperiments parsed;
  if (!doc->is_string() || !parsed.ParseFromString(doc->str)) {
    return absl::InternalError("stored experiments document does not parse");
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (parsed.version() <= version_.load()) return absl::OkStatus();
  return Install(parsed);
}

}  // namespace journey::recommend
