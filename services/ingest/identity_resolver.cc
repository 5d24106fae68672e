#include "services/ingest/identity_resolver.h"

#include "absl/strings/str_cat.h"
#include "common/storage/keys.h"

namespace journey::ingest {

absl::StatusOr<std::vector<std::string>> IdentityResolver::Lookup(const std::vector<std::string>& ids) const {
  if (multi_key_reads_) return LookupWithMget(ids);
  std::vector<std::string> out(ids.size());
  if (ids.empty()) return out;
  std::vector<storage::RedisCommand> cmds;
  cmds.reserve(ids.size());
  for (const auto& id : ids) cmds.push_back({"GET", keys::Alias(workspace_, id)});
  auto replies = redis_->Pipeline(cmds);
  if (!replies.ok()) return replies.status();
  for (size_t i = 0; i < ids.size(); ++i) {
    const auto& r = (*replies)[i];
    if (r.is_error()) return absl::InternalError(absl::StrCat("alias lookup: ", r.str));
    if (r.is_string()) out[i] = r.str;
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> IdentityResolver::LookupWithMget(const std::vector<std::string>& ids) const {
  std::vector<std::string> out(ids.size());
  if (ids.empty()) return out;
  // One command instead of one per id: Redis parses, dispatches and answers once.
  storage::RedisCommand mget;
  mget.reserve(ids.size() + 1);
  mget.push_back("MGET");
  for (const auto& id : ids) mget.push_back(keys::Alias(workspace_, id));
  auto reply = redis_->Command(std::move(mget));
  if (!reply.ok()) return reply.status();
  if (!reply->is_array() || reply->elements.size() != ids.size()) {
    return absl::InternalError("alias lookup: unexpected MGET reply");
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    if (reply->elements[i].is_string()) out[i] = std::move(reply->elements[i].str);
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> IdentityResolver::Link(const std::vector<IdentityLink>& links) const {
  std::vector<std::string> out(links.size());
  if (links.empty()) return out;
  std::vector<storage::RedisCommand> cmds;
  cmds.reserve(links.size());
  // SET NX GET (Redis >= 7.0): sets only when absent and returns the earlier value, so the
  // caller learns in the same step whether its link or an earlier one won.
  for (const auto& l : links) cmds.push_back({"SET", keys::Alias(workspace_, l.from), l.to, "NX", "GET"});
  auto replies = redis_->Pipeline(cmds);
  if (!replies.ok()) return replies.status();
  for (size_t i = 0; i < links.size(); ++i) {
    const auto& r = (*replies)[i];
    if (r.is_error()) return absl::InternalError(absl::StrCat("alias link: ", r.str));
    out[i] = r.is_string() ? r.str : links[i].to;
  }
  return out;
}

}  // namespace journey::ingest
