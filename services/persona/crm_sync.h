// What a CRM does with persona: bulk upserts idempotent by external id, consent, segment
// export, a resumable feed of membership changes, and the right to erasure and access.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/persona/persona_logic.h"
#include "services/persona/profile_store.h"

namespace journey::persona {

struct CrmOptions {
  int partitions = 16;           // event stream partitions (ERASE envelopes go to the user's)
  int max_traits_per_record = 200;
  size_t max_trait_key_bytes = 256;
  size_t max_id_bytes = 512;
};

class CrmSync {
 public:
  CrmSync(ProfileStore* store, PersonaLogic* logic, ProfileEvaluator* evaluator, CrmOptions options)
      : store_(store), logic_(logic), evaluator_(evaluator), options_(options) {}

  // Validates and applies one batch of upserts (records `first_index`.. of the stream);
  // rejected records are counted and explained in `summary`, the others applied.
  absl::Status UpsertBatch(const std::vector<pb::UpsertProfileRequest>& batch, int64_t first_index,
                           pb::UpsertProfilesSummary* summary);

  absl::Status SetConsent(const pb::SetConsentRequest& request);

  // Erasure: the profile, its aliases and external id, the view's persona field; "left"
  // changes for its segments; and an ERASE envelope on the user's stream partition so the
  // journey and recommend services drop what they hold. Returns the keys deleted.
  absl::StatusOr<int64_t> DeleteProfile(const std::string& user_id);

  // Everything persona holds about a person, the journey snapshot, and the key names.
  absl::StatusOr<pb::ProfileExport> ExportProfile(const std::string& id);

  // Calls `emit` once per member (a profile is emitted at most once even when SCAN returns it
  // twice); stops early when `emit` returns false. NotFound for an unknown segment.
  absl::Status ExportSegment(const std::string& segment, const std::vector<std::string>& known_segments,
                             const std::function<bool(const pb::Profile&)>& emit);

  // The stream id a watcher starts after: "" = now, "0" = the oldest retained; a cursor older
  // than what the stream still holds is OutOfRange (changes were trimmed: re-export).
  absl::StatusOr<std::string> StartCursor(const std::string& cursor);

  // Up to `count` changes after `cursor`, waiting up to `block` for the first one.
  absl::StatusOr<std::vector<pb::SegmentChange>> ReadChanges(const std::string& cursor, int count,
                                                             absl::Duration block);

 private:
  ProfileStore* store_;
  PersonaLogic* logic_;
  ProfileEvaluator* evaluator_;
  CrmOptions options_;
};

}  // namespace journey::persona
