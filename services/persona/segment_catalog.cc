#include "services/persona/segment_catalog.h"

#include <algorithm>

#include <google/protobuf/util/message_differencer.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/storage/keys.h"
#include "services/persona/condition_evaluator.h"

namespace journey::persona {
namespace {

int CountNodes(const pb::Condition& c) {
  switch (c.node_case()) {
    case pb::Condition::kAll:
    case pb::Condition::kAny: {
      int n = 1;
      for (const auto& x : (c.node_case() == pb::Condition::kAll ? c.all() : c.any()).conditions()) n += CountNodes(x);
      return n;
    }
    case pb::Condition::kNot:
      return 1 + CountNodes(c.not_());
    default:
      return 1;
  }
}

bool ValidId(const std::string& id) {
  if (id.empty() || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
           ch == '-' || ch == '.';
  });
}

}  // namespace

void WorkspaceSegments::Add(pb::SegmentDefinition definition) {
  conditions.emplace_back(definition.condition());
  any_time_dependent |= DependsOnTime(definition.condition());
  definitions.push_back(std::move(definition));
}

std::vector<std::string> SegmentCatalog::Validate(const pb::SegmentDefinition& d) const {
  std::vector<std::string> errors;
  if (!ValidId(d.id())) {
    errors.push_back(absl::StrCat("id: '", d.id(), "' must be 1-128 characters of [A-Za-z0-9_.-]"));
  }
  if (d.condition().node_case() == pb::Condition::NODE_NOT_SET) {
    errors.push_back("condition: required");
  } else {
    ValidateCondition(d.condition(), "condition", &errors);
    if (CountNodes(d.condition()) > options_.max_condition_nodes) {
      errors.push_back(absl::StrCat("condition: more than ", options_.max_condition_nodes, " nodes"));
    }
  }
  return errors;
}

absl::StatusOr<std::shared_ptr<WorkspaceSegments>> SegmentCatalog::Load(const std::string& workspace) {
  auto replies = redis_->Pipeline({{"GET", keys::SegmentsVersion(workspace)},
                                   {"HGETALL", keys::Segments(workspace)},
                                   {"GET", keys::RfmModel(workspace)}});
  if (!replies.ok()) return replies.status();
  auto out = std::make_shared<WorkspaceSegments>();
  long long version = 0;
  if ((*replies)[0].is_string()) (void)absl::SimpleAtoi((*replies)[0].str, &version);
  out->version = version;
  const auto& all = (*replies)[1];
  std::vector<pb::SegmentDefinition> definitions;
  for (size_t i = 0; i + 1 < all.elements.size(); i += 2) {
    pb::SegmentDefinition d;
    if (d.ParseFromString(all.elements[i + 1].str)) definitions.push_back(std::move(d));
  }
  std::sort(definitions.begin(), definitions.end(), [](const auto& a, const auto& b) { return a.id() < b.id(); });
  for (auto& d : definitions) out->Add(std::move(d));
  if ((*replies)[2].is_string()) (void)out->rfm.ParseFromString((*replies)[2].str);
  return out;
}

std::shared_ptr<const WorkspaceSegments> SegmentCatalog::Get(const std::string& workspace) {
  const absl::Time now = clock_->Now();
  std::shared_ptr<const WorkspaceSegments> current;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(workspace);
    if (it != cache_.end()) {
      current = it->second.segments;
      if (now - it->second.checked_at < options_.refresh) return current;
    }
  }
  // Cheap check first: only the version and the RFM model change often enough to matter.
  auto replies = redis_->Pipeline({{"GET", keys::SegmentsVersion(workspace)}, {"GET", keys::RfmModel(workspace)}});
  std::shared_ptr<const WorkspaceSegments> fresh = current;
  if (replies.ok()) {
    long long version = 0;
    if ((*replies)[0].is_string()) (void)absl::SimpleAtoi((*replies)[0].str, &version);
    pb::RfmModel rfm;
    if ((*replies)[1].is_string()) (void)rfm.ParseFromString((*replies)[1].str);
    if (current == nullptr || current->version != version) {
      auto loaded = Load(workspace);
      if (loaded.ok()) fresh = *loaded;
    } else if (!google::protobuf::util::MessageDifferencer::Equals(rfm, current->rfm)) {
      auto copy = std::make_shared<WorkspaceSegments>(*current);
      copy->rfm = rfm;
      fresh = copy;
    }
  }
  if (fresh == nullptr) fresh = std::make_shared<WorkspaceSegments>();
  std::lock_guard<std::mutex> lock(mu_);
  cache_[workspace] = {fresh, now};
  return fresh;
}

absl::StatusOr<int64_t> SegmentCatalog::Apply(const std::string& workspace, pb::SegmentDefinition definition) {
  std::vector<std::string> errors = Validate(definition);
  if (!errors.empty()) return absl::InvalidArgumentError(absl::StrJoin(errors, "; "));
  auto existing = redis_->Pipeline({{"HGET", keys::Segments(workspace), definition.id()},
                                    {"HLEN", keys::Segments(workspace)}});
  if (!existing.ok()) return existing.status();
  pb::SegmentDefinition old;
  const bool exists = (*existing)[0].is_string() && old.ParseFromString((*existing)[0].str);
  if (!exists && (*existing)[1].integer >= options_.max_segments) {
    return absl::ResourceExhaustedError(absl::StrCat("workspace ", workspace, " already has ",
                                                     options_.max_segments, " segments"));
  }
  if (exists) {
    pb::SegmentDefinition a = old, b = definition;
    a.clear_version();
    b.clear_version();
    if (google::protobuf::util::MessageDifferencer::Equals(a, b)) return old.version();
  }
  definition.set_version(exists ? old.version() + 1 : 1);
  auto wrote = redis_->Pipeline({{"HSET", keys::Segments(workspace), definition.id(), definition.SerializeAsString()},
                                 {"INCR", keys::SegmentsVersion(workspace)}});
  if (!wrote.ok()) return wrote.status();
  std::lock_guard<std::mutex> lock(mu_);
  cache_.erase(workspace);
  return definition.version();
}

absl::Status SegmentCatalog::Delete(const std::string& workspace, const std::string& id) {
  auto r = redis_->Pipeline({{"HDEL", keys::Segments(workspace), id}, {"INCR", keys::SegmentsVersion(workspace)}});
  if (!r.ok()) return r.status();
  if ((*r)[0].integer == 0) return absl::NotFoundError(absl::StrCat("id: no segment '", id, "'"));
  std::lock_guard<std::mutex> lock(mu_);
  cache_.erase(workspace);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<pb::SegmentDefinition>> SegmentCatalog::List(const std::string& workspace) {
  auto loaded = Load(workspace);
  if (!loaded.ok()) return loaded.status();
  return (*loaded)->definitions;
}

absl::Status SegmentCatalog::StoreRfmModel(const std::string& workspace, const pb::RfmModel& model) {
  auto r = redis_->Command({"SET", keys::RfmModel(workspace), model.SerializeAsString()});
  if (!r.ok()) return r.status();
  std::lock_guard<std::mutex> lock(mu_);
  cache_.erase(workspace);
  return absl::OkStatus();
}

}  // namespace journey::persona
