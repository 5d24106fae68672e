// Segment and persona definitions per workspace: validated, versioned, stored in Redis
// (keys::Segments), cached in process and reloaded when the workspace's version counter
// moves; plus the workspace's RFM model. Loading from YAML/JSON files is segment_files.h.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/storage/redis_client.h"
#include "common/time/clock.h"
#include "journey/persona/v1/persona.pb.h"
#include "services/persona/condition_evaluator.h"

namespace journey::persona {

namespace pb = ::journey::persona::v1;

struct WorkspaceSegments {
  int64_t version = -1;
  std::vector<pb::SegmentDefinition> definitions;  // sorted by id
  std::vector<CompiledCondition> conditions;       // definitions[i].condition(), prepared
  pb::RfmModel rfm;
  bool any_time_dependent = false;

  // Appends a definition with its prepared condition (callers add them in id order).
  void Add(pb::SegmentDefinition definition);
};

struct CatalogOptions {
  absl::Duration refresh = absl::Seconds(1);  // how stale a cached workspace may be
  int max_segments = 500;
  int max_condition_nodes = 200;
};

class SegmentCatalog {
 public:
  SegmentCatalog(storage::RedisClient* redis, const Clock* clock, CatalogOptions options = {})
      : redis_(redis), clock_(clock), options_(options) {}

  // The workspace's definitions; at most `refresh` old. On a Redis error the last good copy.
  std::shared_ptr<const WorkspaceSegments> Get(const std::string& workspace);

  // Problems with a definition, each naming its field; empty = valid.
  std::vector<std::string> Validate(const pb::SegmentDefinition& definition) const;

  // Creates or updates (by id); returns the definition's new version. An unchanged
  // definition keeps its version. InvalidArgument lists the problems.
  absl::StatusOr<int64_t> Apply(const std::string& workspace, pb::SegmentDefinition definition);
  absl::Status Delete(const std::string& workspace, const std::string& id);
  absl::StatusOr<std::vector<pb::SegmentDefinition>> List(const std::string& workspace);
  absl::Status StoreRfmModel(const std::string& workspace, const pb::RfmModel& model);

 private:
  absl::StatusOr<std::shared_ptr<WorkspaceSegments>> Load(const std::string& workspace);

  struct Cached {
    std::shared_ptr<const WorkspaceSegments> segments;
    absl::Time checked_at;
  };

  storage::RedisClient* redis_;
  const Clock* clock_;
  CatalogOptions options_;
  std::mutex mu_;
  std::map<std::string, Cached> cache_;
};

}  // namespace journey::persona
