#include "common/storage/keys.h"

#include "absl/strings/str_cat.h"

namespace journey::keys {

std::string EscapeId(absl::string_view id) {
  std::string out;
  out.reserve(id.size());
  for (char c : id) {
    switch (c) {
      case '{': out += "%7B"; break;
      case '}': out += "%7D"; break;
      case '%': out += "%25"; break;
      default: out += c;
    }
  }
  return out;
}

std::string UserTag(absl::string_view user_id) { return absl::StrCat("{", EscapeId(user_id), "}"); }

uint32_t PartitionOf(absl::string_view canonical_user_id, int partitions) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : canonical_user_id) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return partitions <= 1 ? 0 : static_cast<uint32_t>(h % static_cast<uint64_t>(partitions));
}

std::string EventStream(uint32_t partition) { return absl::StrCat(kPrefix, ":events:{p", partition, "}"); }

std::string PartitionLease(absl::string_view group, uint32_t partition) {
  return absl::StrCat(kPrefix, ":lease:{p", partition, "}:", group);
}

std::string GroupMembers(absl::string_view group) { return absl::StrCat(kPrefix, ":members:", group); }

std::string DedupBucket(absl::string_view workspace, uint32_t partition, int64_t bucket) {
  return absl::StrCat(kPrefix, ":", workspace, ":dedup-w:{p", partition, "}:", bucket);
}

std::string Alias(absl::string_view workspace, absl::string_view id) {
  return absl::StrCat(kPrefix, ":", workspace, ":alias:", UserTag(id));
}

std::string View(absl::string_view workspace, absl::string_view user_id) {
  return absl::StrCat(kPrefix, ":", workspace, ":view:", UserTag(user_id));
}

std::string JourneyTimers(uint32_t partition) { return absl::StrCat(kPrefix, ":journey:timers:{p", partition, "}"); }

std::string JourneyAppliedWatermark(uint32_t partition) {
  return absl::StrCat(kPrefix, ":journey:applied:{p", partition, "}");
}

std::string JourneyPartitionGeneration(uint32_t partition) {
  return absl::StrCat(kPrefix, ":journey:generation:{p", partition, "}");
}

std::string JourneyTransitions(absl::string_view workspace) {
  return absl::StrCat(kPrefix, ":", workspace, ":journey:transitions");
}

std::string JourneyFunnelDay(absl::string_view workspace, absl::string_view journey_id, absl::string_view day) {
  return absl::StrCat(kPrefix, ":", workspace, ":journey:agg:", journey_id, ":", day, ":funnel");
}

std::string JourneyTouchpointsDay(absl::string_view workspace, absl::string_view journey_id, absl::string_view day) {
  return absl::StrCat(kPrefix, ":", workspace, ":journey:agg:", journey_id, ":", day, ":touch");
}

std::string JourneySegmentFunnelDay(absl::string_view workspace, absl::string_view journey_id,
                                    absl::string_view segment, absl::string_view day) {
  return absl::StrCat(kPrefix, ":", workspace, ":journey:agg:", journey_id, ":", day, ":segment:", segment, ":funnel");
}

std::string JourneySegmentTouchpointsDay(absl::string_view workspace, absl::string_view journey_id,
                                         absl::string_view segment, absl::string_view day) {
  return absl::StrCat(kPrefix, ":", workspace, ":journey:agg:", journey_id, ":", day, ":segment:", segment, ":touch");
}

std::string JourneyDefinition(absl::string_view workspace, absl::string_view journey_id) {
  return absl::StrCat(kPrefix, ":", workspace, ":journey:def:", journey_id);
}

std::string JourneyDefinitionIds(absl::string_view workspace) {
  return absl::StrCat(kPrefix, ":", workspace, ":journey:defs");
}

std::string Profile(absl::string_view workspace, absl::string_view user_id) {
  return absl::StrCat(kPrefix, ":", workspace, ":profile:", UserTag(user_id));
}

std::string ProfilePattern(absl::string_view workspace) {
  return absl::StrCat(kPrefix, ":", workspace, ":profile:*");
}

std::string PersonaAlias(absl::string_view workspace, absl::string_view id) {
  return absl::StrCat(kPrefix, ":", workspace, ":persona:alias:", UserTag(id));
}

std::string ExternalId(absl::string_view workspace, absl::string_view external_id) {
  return absl::StrCat(kPrefix, ":", workspace, ":persona:extid:", UserTag(external_id));
}

std::string Segments(absl::string_view workspace) { return absl::StrCat(kPrefix, ":", workspace, ":segments"); }

std::string SegmentsVersion(absl::string_view workspace) {
  return absl::StrCat(kPrefix, ":", workspace, ":segments:version");
}

std::string SegmentChanges(absl::string_view workspace) {
  return absl::StrCat(kPrefix, ":", workspace, ":segment-changes:{sc:", EscapeId(workspace), "}");
}

std::string SegmentChangeSeq(absl::string_view workspace) {
  return absl::StrCat(kPrefix, ":", workspace, ":segment-changes-seq:{sc:", EscapeId(workspace), "}");
}

std::string PersonaSchedulerLease(absl::string_view workspace) {
  return absl::StrCat(kPrefix, ":", workspace, ":persona:scheduler-lease");
}

std::string RfmModel(absl::string_view workspace) { return absl::StrCat(kPrefix, ":", workspace, ":rfm-model"); }

std::string RecommendCapsDay(absl::string_view workspace, absl::string_view user_id, absl::string_view day) {
  return absl::StrCat(kPrefix, ":", workspace, ":rec:capd:", UserTag(user_id), ":", day);
}

std::string RecommendCapsLifetime(absl::string_view workspace, absl::string_view user_id) {
  return absl::StrCat(kPrefix, ":", workspace, ":rec:capl:", UserTag(user_id));
}

std::string RecommendLast(absl::string_view workspace, absl::string_view user_id) {
  return absl::StrCat(kPrefix, ":", workspace, ":rec:last:", UserTag(user_id));
}

std::string Recommendation(absl::string_view workspace, absl::string_view recommendation_id) {
  return absl::StrCat(kPrefix, ":", workspace, ":rec:id:", EscapeId(recommendation_id));
}

std::string RecommendOfferStats(absl::string_view workspace) {
  return absl::StrCat(kPrefix, ":", workspace, ":rec:stats");
}

std::string RecommendOfferSegmentStats(absl::string_view workspace) {
  return absl::StrCat(kPrefix, ":", workspace, ":rec:stats:segments");
}

std::string RecommendOfferCatalog(absl::string_view workspace) {
  return absl::StrCat(kPrefix, ":", workspace, ":rec:offers");
}

std::string RecommendProducts(absl::string_view workspace) {
  return absl::StrCat(kPrefix, ":", workspace, ":rec:products");
}

std::string RecommendProductsVersion(absl::string_view workspace) {
  return absl::StrCat(kPrefix, ":", workspace, ":rec:products:version");
}

std::string OrchestrationCapDay(absl::string_view workspace, absl::string_view user_id, absl::string_view day) {
  return absl::StrCat(kPrefix, ":", workspace, ":orch:cap:", UserTag(user_id), ":", day);
}

std::string OrchestrationCooldown(absl::string_view workspace, absl::string_view user_id) {
  return absl::StrCat(kPrefix, ":", workspace, ":orch:cool:", UserTag(user_id));
}

std::string TriggerEntries(absl::string_view workspace, absl::string_view user_id) {
  return absl::StrCat(kPrefix, ":", workspace, ":orch:entries:", UserTag(user_id));
}

std::string ActionDecided(absl::string_view workspace, absl::string_view user_id, absl::string_view key) {
  return absl::StrCat(kPrefix, ":", workspace, ":orch:decided:", UserTag(user_id), ":", key);
}

std::string ActionStream(uint32_t partition) { return absl::StrCat(kPrefix, ":actions:{p", partition, "}"); }

std::string ActionsDeferred(uint32_t partition) {
  return absl::StrCat(kPrefix, ":actions:deferred:{p", partition, "}");
}

std::string ActionDeadLetters(uint32_t partition) {
  return absl::StrCat(kPrefix, ":actions:dead:{p", partition, "}");
}

std::string ActionCounts(absl::string_view workspace) {
  return absl::StrCat(kPrefix, ":", workspace, ":orch:counts");
}

std::string ExperimentMembers(absl::string_view workspace, absl::string_view experiment_id) {
  return absl::StrCat(kPrefix, ":", workspace, ":xp:{xp:", EscapeId(experiment_id), "}:members");
}

std::string ExperimentTotals(absl::string_view workspace, absl::string_view experiment_id) {
  return absl::StrCat(kPrefix, ":", workspace, ":xp:{xp:", EscapeId(experiment_id), "}:totals");
}

std::string ExperimentDefinitions(absl::string_view workspace) {
  return absl::StrCat(kPrefix, ":", workspace, ":rec:experiments");
}

std::string ApiKeys() { return absl::StrCat(kPrefix, ":{auth}:apikeys"); }

std::string ApiKeysVersion() { return absl::StrCat(kPrefix, ":{auth}:apikeys:version"); }

std::string RateLimitWindow(absl::string_view workspace, absl::string_view key_id, absl::string_view scope,
                            int64_t window_ms, int64_t window_index) {
  return absl::StrCat(kPrefix, ":", workspace, ":ratelimit:{", EscapeId(key_id), "}:", scope, ":", window_ms, ":",
                      window_index);
}

}  // namespace journey::keys
