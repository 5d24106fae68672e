// Where profiles live in Redis: batched loads (profile, write revision and the journey
// service's snapshot in one round trip) and batched compare-and-set commits that also write
// the PersonaSnapshot into the shared view and append membership changes, atomically per user.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/storage/redis_client.h"
#include "common/storage/redis_script.h"
#include "journey/common/v1/common.pb.h"
#include "journey/persona/v1/persona.pb.h"
#include "services/persona/parsed_profile_cache.h"

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
  int64_t published = 0;  // the last user_sequence known to be in the change stream
  pb::ProfileRecord record;
  // From the journey service's field of the shared view: its current stage ("" = none), read
  // without parsing the rest of the snapshot (history, touchpoints), and the snapshot's bytes
  // for whoever needs all of it (the access export).
  std::string journey_stage;
  std::string journey_snapshot;
  // The record's bytes as stored, kept only when loading through a ParsedProfileCache (to put
  // an unchanged record back under the same bytes).
  std::string stored_record;
};

// Sets the record's computed.journey_stage to journey's stage, when journey has one.
void TakeJourneyStage(LoadedProfile* loaded);

struct ProfileWrite {
  UserRef user;
  int64_t expected_revision = 0;
  bool erase = false;  // delete the profile and the view's persona field instead of writing
  pb::ProfileRecord record;
  // `record` serialized, when the caller needs the bytes afterwards (ParsedProfileCache);
  // empty = Commit serializes it.
  std::string record_bytes;
  cpb::PersonaSnapshot snapshot;
  // Changes to publish (the record's outbox after StageChanges), appended to the workspace's
  // change stream after the profile is stored.
  std::vector<pb::SegmentChange> changes;
};

// Gives new membership changes their per-user sequence and puts them, with whatever the
// record's outbox still holds unpublished, into the record's outbox and `write->changes`.
void StageChanges(LoadedProfile& loaded, std::vector<pb::SegmentChange> changes, ProfileWrite* write);

// True when the record holds changes not yet known to be published (a crash after the write).
bool HasUnpublished(const LoadedProfile& loaded);

struct RecordPage {
  std::string cursor;  // "0" = the scan is complete
  std::vector<pb::ProfileRecord> records;
};

struct StoreOptions {
  int64_t change_stream_maxlen = 1'000'000;  // approximate trim of the change stream
};

class ProfileStore {
 public:
  explicit ProfileStore(storage::RedisClient* redis, StoreOptions options = {});

  // One round trip for any number of users. With a cache, a record whose stored bytes are
  // the ones the cache parsed last is taken from it instead of being parsed again.
  absl::StatusOr<std::vector<LoadedProfile>> Load(const std::vector<UserRef>& users,
                                                  ParsedProfileCache* cache = nullptr);

  // One round trip for any number of writes (plus `extra` commands, e.g. alias records, sent in
  // the same pipeline), then, when there are membership changes, one to append them to the
  // change stream and one to mark them published. Returns per write whether it committed;
  // false = the revision moved (another writer got there first): reload and apply again.
  // A crash between the write and the publication leaves the changes in the record's outbox:
  // they are published with the user's next write, with the same user_sequence.
  absl::StatusOr<std::vector<bool>> Commit(const std::vector<ProfileWrite>& writes,
                                           const std::vector<storage::RedisCommand>& extra = {});

  // One page of a SCAN over the workspace's profiles (`cursor` "0" starts).
  absl::StatusOr<RecordPage> ScanRecords(const std::string& workspace, const std::string& cursor, int count);

  // Sets each record's computed.journey_stage from the journey service's snapshot in the
  // shared view (one round trip): the stage can change with no event reaching persona (a
  // timeout), or after persona applied the event (the services consume the stream side by side).
  absl::Status RefreshJourneyStages(const std::string& workspace, std::vector<pb::ProfileRecord>* records);

  // The user an id was merged into, or "" when it was not.
  absl::StatusOr<std::string> ResolveAlias(const std::string& workspace, const std::string& id);

  storage::RedisClient* redis() { return redis_; }

  // Called with the writes whose changes were just appended to the change stream, before
  // they are marked published; an error leaves them unmarked (republished with the user's
  // next write, same user_sequence). Segment triggers hang here.
  using PublishedListener = std::function<absl::Status(const std::vector<const ProfileWrite*>&)>;
  void SetPublishedListener(PublishedListener listener) { published_listener_ = std::move(listener); }

 private:
  storage::RedisClient* redis_;
  PublishedListener published_listener_;
  StoreOptions options_;
  storage::RedisScript commit_script_;
  storage::RedisScript publish_script_;
};

// Parses a SegmentChange stream entry's fields ("seq", "c") into a change with its cursor.
bool ParseChangeEntry(const storage::RedisReply& entry, pb::SegmentChange* out);

}  // namespace journey::persona
