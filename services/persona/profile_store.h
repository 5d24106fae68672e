// Where profiles live in Redis: batched loads (profile, write revision and the journey
// service's snapshot in one round trip) and batched compare-and-set commits that also write
// the PersonaSnapshot into the shared view and append membership changes, atomically per user.
#pragma once

#include <cstdint>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/storage/redis_client.h"
#include "journey/common/v1/common.pb.h"
#include "journey/persona/v1/persona.pb.h"

namespace journey::persona {

namespace pb = ::journey::persona::v1;
namespace cpb = ::journey::common::v1;

struct UserRef {
  std::string workspace;
  std::string user_id;
  bool operator<(const UserRef& o) const {
    return std::tie(workspace, user_id) < std::tie(o.workspace, o.user_id);
  }
  bool operator==(const UserRef& o) const { return workspace == o.workspace && user_id == o.user_id; }
};

struct LoadedProfile {
  UserRef user;
  bool exists = false;
  int64_t revision = 0;  // 0 = no profile stored yet
  pb::ProfileRecord record;
  bool has_journey = false;
  cpb::JourneySnapshot journey;  // the journey service's view field, when present
};

struct ProfileWrite {
  UserRef user;
  int64_t expected_revision = 0;
  bool erase = false;  // delete the profile and the view's persona field instead of writing
  pb::ProfileRecord record;
  cpb::PersonaSnapshot snapshot;
  std::vector<pb::SegmentChange> changes;  // appended to the workspace's change stream
};

struct StoreOptions {
  int64_t change_stream_maxlen = 1'000'000;  // approximate trim of the change stream
};

class ProfileStore {
 public:
  explicit ProfileStore(storage::RedisClient* redis, StoreOptions options = {}) : redis_(redis), options_(options) {}

  // One round trip for any number of users.
  absl::StatusOr<std::vector<LoadedProfile>> Load(const std::vector<UserRef>& users);

  // One round trip for any number of writes (plus `extra` commands, e.g. alias records, sent in
  // the same pipeline). Returns per write whether it committed; false = the revision moved
  // (another writer got there first): reload and apply again.
  absl::StatusOr<std::vector<bool>> Commit(const std::vector<ProfileWrite>& writes,
                                           const std::vector<storage::RedisCommand>& extra = {});

  // The user an id was merged into, or "" when it was not.
  absl::StatusOr<std::string> ResolveAlias(const std::string& workspace, const std::string& id);

  storage::RedisClient* redis() { return redis_; }

 private:
  storage::RedisClient* redis_;
  StoreOptions options_;
};

// Parses a SegmentChange stream entry's fields ("seq", "c") into a change with its cursor.
bool ParseChangeEntry(const storage::RedisReply& entry, pb::SegmentChange* out);

}  // namespace journey::persona
