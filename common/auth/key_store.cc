#include "common/auth/key_store.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/auth/api_key.h"
#include "common/auth/method_scopes.h"
#include "common/storage/keys.h"
#include "common/time/proto_time.h"

namespace journey::auth {

absl::Status KeyStore::Write(const v1::ApiKeyRecord& record, bool only_if_new, bool* written) {
  auto set = redis_->Command({only_if_new ? "HSETNX" : "HSET", keys::ApiKeys(), record.info().key_id(),
                              record.SerializeAsString()});
  if (!set.ok()) return set.status();
  const bool changed = !only_if_new || set->integer == 1;
  if (written != nullptr) *written = changed;
  // The version moves only on a change, so replicas reload only then. A replica that reads
  // the record before the bump merely reloads a moment later.
  if (!changed) return absl::OkStatus();
  auto bump = redis_->Command({"INCR", keys::ApiKeysVersion()});
  return bump.ok() ? absl::OkStatus() : bump.status();
}

absl::StatusOr<std::pair<v1::ApiKeyInfo, std::string>> KeyStore::Create(const std::string& workspace,
                                                                       const NewKey& key) {
  if (key.scopes.empty()) return absl::InvalidArgumentError("scopes: at least one scope is required");
  for (const std::string& s : key.scopes) {
    if (!IsScope(s)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "scopes: '", s, "' is not one of ingest:write, recommend:read, journey:read, persona:read, persona:sync, admin"));
    }
  }
  if (key.rate_per_s < 0) return absl::InvalidArgumentError("rate_per_s: must be >= 0");
  if (key.burst < 0) return absl::InvalidArgumentError("burst: must be >= 0");
  if (key.name.size() > 200) return absl::InvalidArgumentError("name: at most 200 bytes");
  auto api_key = GenerateApiKey();
  if (!api_key.ok()) return api_key.status();
  v1::ApiKeyRecord record;
  v1::ApiKeyInfo* info = record.mutable_info();
  info->set_key_id(KeyIdOf(*api_key));
  info->set_workspace_id(workspace);
  for (const std::string& s : key.scopes) info->add_scopes(s);
  info->set_name(key.name);
  prototime::ToProto(clock_->Now(), info->mutable_created_at());
  info->set_rate_per_s(key.rate_per_s);
  info->set_burst(key.burst);
  record.set_secret_sha256(Sha256(*api_key));
  bool written = false;
  if (auto st = Write(record, /*only_if_new=*/true, &written); !st.ok()) return st;
  // 48 random bits of id colliding is not going to happen; refuse rather than overwrite.
  if (!written) return absl::AbortedError("key id collision, try again");
  return std::make_pair(record.info(), *api_key);
}

absl::Status KeyStore::InsertBootstrapKey(const std::string& workspace, const std::string& api_key, bool* inserted) {
  if (api_key.size() < kMinApiKeyLength) {
    return absl::InvalidArgumentError(absl::StrCat("bootstrap admin key: at least ", kMinApiKeyLength, " characters"));
  }
  v1::ApiKeyRecord record;
  v1::ApiKeyInfo* info = record.mutable_info();
  info->set_key_id(KeyIdOf(api_key));
  info->set_workspace_id(workspace);
  info->add_scopes(std::string(kScopeAdmin));
  info->set_name("bootstrap admin key");
  prototime::ToProto(clock_->Now(), info->mutable_created_at());
  record.set_secret_sha256(Sha256(api_key));
  return Write(record, /*only_if_new=*/true, inserted);
}

absl::StatusOr<std::vector<v1::ApiKeyInfo>> KeyStore::List(const std::string& workspace, bool include_revoked) {
  auto all = LoadAll();
  if (!all.ok()) return all.status();
  std::vector<v1::ApiKeyInfo> out;
  for (const auto& r : *all) {
    if (r.info().workspace_id() != workspace) continue;
    if (r.info().has_revoked_at() && !include_revoked) continue;
    out.push_back(r.info());
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.key_id() < b.key_id(); });
  return out;
}

absl::StatusOr<v1::ApiKeyInfo> KeyStore::Revoke(const std::string& workspace, const std::string& key_id) {
  if (key_id.empty()) return absl::InvalidArgumentError("key_id: required");
  auto reply = redis_->Command({"HGET", keys::ApiKeys(), key_id});
  if (!reply.ok()) return reply.status();
  v1::ApiKeyRecord record;
  if (reply->is_nil() || !record.ParseFromString(reply->str) || record.info().workspace_id() != workspace) {
    return absl::NotFoundError(absl::StrCat("key_id: no key '", key_id, "' in workspace '", workspace, "'"));
  }
  if (!record.info().has_revoked_at()) {
    prototime::ToProto(clock_->Now(), record.mutable_info()->mutable_revoked_at());
    if (auto st = Write(record, /*only_if_new=*/false, nullptr); !st.ok()) return st;
  }
  return record.info();
}

absl::StatusOr<long long> KeyStore::Version() {
  auto reply = redis_->Command({"GET", keys::ApiKeysVersion()});
  if (!reply.ok()) return reply.status();
  if (reply->is_nil()) return 0;
  long long v = 0;
  if (!absl::SimpleAtoi(reply->str, &v)) return absl::InternalError("api key version is not a number");
  return v;
}

absl::StatusOr<std::vector<v1::ApiKeyRecord>> KeyStore::LoadAll() {
  auto reply = redis_->Command({"HGETALL", keys::ApiKeys()});
  if (!reply.ok()) return reply.status();
  std::vector<v1::ApiKeyRecord> out;
  for (size_t i = 0; i + 1 < reply->elements.size(); i += 2) {
    v1::ApiKeyRecord record;
    if (record.ParseFromString(reply->elements[i + 1].str)) out.push_back(std::move(record));
  }
  return out;
}

}  // namespace journey::auth
