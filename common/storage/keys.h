// The one place that defines the Redis key schema. Every per-user key carries the hash tag
// {uid} so a user's keys share a Redis Cluster slot and a per-user pipeline is single-slot;
// every key carries the workspace id. Services never build key strings anywhere else.
//
// Exception, on purpose: the event stream partitions and their consumer leases are shared by
// all workspaces (the workspace rides in each EventEnvelope), so consumers need not discover
// workspaces to know which streams to read.
#pragma once

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include <string_view>

namespace journey::keys {

inline constexpr absl::string_view kPrefix = "jy";

// Ids are user input: '{', '}' and '%' are percent-encoded so an id can never break out of
// its hash tag or collide with another id.
std::string EscapeId(absl::string_view id);

// "{<escaped uid>}"
std::string UserTag(absl::string_view user_id);

// Partition of a user's events: a stable hash of the canonical user id (FNV-1a 64).
uint32_t PartitionOf(absl::string_view canonical_user_id, int partitions);

// --- Event stream (shared by all workspaces) ---
// Stream partition p: "jy:events:{p<p>}".
std::string EventStream(uint32_t partition);
// Lease on a partition for a consumer group: "jy:lease:{p<p>}:<group>".
std::string PartitionLease(absl::string_view group, uint32_t partition);
// Live replicas of a consumer group (sorted set: member = replica, score = expiry ms).
std::string GroupMembers(absl::string_view group);

// --- Ingest ---
// Dedup markers: a set of the message ids appended to a stream partition during one dedup
// window (`bucket` = unix seconds / window seconds), in the partition's slot so that the
// check and the append run in one script: "jy:<ws>:dedup-w:{p<p>}:<bucket>".
std::string DedupBucket(absl::string_view workspace, uint32_t partition, int64_t bucket);
// Identity: an anonymous id (or a previous user id) -> canonical user id.
std::string Alias(absl::string_view workspace, absl::string_view id);

// --- Shared per-user cache: a hash whose fields are snapshots written by their owners ---
std::string View(absl::string_view workspace, absl::string_view user_id);
inline constexpr absl::string_view kViewJourneyField = "journey";  // JourneySnapshot
inline constexpr absl::string_view kViewPersonaField = "persona";  // PersonaSnapshot

// --- Journey (private) ---
// Inactivity timers of the users of stream partition p (sorted set: member "<ws>|<uid>",
// score = due time in ms). Like the streams, shared by all workspaces so the scheduler of a
// partition's lease owner finds every timer without discovering workspaces.
std::string JourneyTimers(uint32_t partition);
// Last stream entry id of partition p whose effects the journey consumer wrote: the fence
// that keeps two replicas from both applying a batch during a lease handover.
std::string JourneyAppliedWatermark(uint32_t partition);
// Bumped by every write to partition p's users that does not come from p's own batch (an
// identity merge applied from another partition, a fired timer): a batch of p that read its
// users before the bump is refused and applied again, so it cannot overwrite that write.
std::string JourneyPartitionGeneration(uint32_t partition);
// Stage transitions, resumable by entry id (stream, field "t" = Transition).
std::string JourneyTransitions(absl::string_view workspace);
// Per-day aggregates of a journey definition (hashes; day = "YYYYMMDD" UTC): the funnel part
// (reach, entries, transitions, abandonment, time to next stage, stage sentiment) and the
// touchpoint part (stage x channel x event counts, sentiment, losses).
std::string JourneyFunnelDay(absl::string_view workspace, absl::string_view journey_id, absl::string_view day);
std::string JourneyTouchpointsDay(absl::string_view workspace, absl::string_view journey_id, absl::string_view day);
// Both parts again, for the customers who were in persona segment `segment` when the event
// was applied (or the timer fired): the funnel part and the touchpoint part of the map.
std::string JourneySegmentFunnelDay(absl::string_view workspace, absl::string_view journey_id,
                                    absl::string_view segment, absl::string_view day);
std::string JourneySegmentTouchpointsDay(absl::string_view workspace, absl::string_view journey_id,
                                         absl::string_view segment, absl::string_view day);
// The applied journey definition, shared by the replicas. Hash: "version" and "proto" = the
// active version and its JourneyDefinition (what replicas follow), "v:<version>" = each
// applied version kept as a StoredDefinition (the history ListDefinitions shows).
std::string JourneyDefinition(absl::string_view workspace, absl::string_view journey_id);
// Set of the journey ids that have a JourneyDefinition hash, for ListDefinitions. Written
// before the hash and cleaned after it, so it may name an id whose hash is gone, never the
// reverse.
std::string JourneyDefinitionIds(absl::string_view workspace);

// --- Persona (private) ---
// Hash: field "p" = serialized persona.v1.ProfileRecord, field "rev" = write revision (CAS).
std::string Profile(absl::string_view workspace, absl::string_view user_id);
// SCAN pattern matching every profile key of a workspace.
std::string ProfilePattern(absl::string_view workspace);
// An id merged into another (anonymous id -> canonical user id), as persona saw the MERGE.
std::string PersonaAlias(absl::string_view workspace, absl::string_view id);
// CRM external id -> user id.
std::string ExternalId(absl::string_view workspace, absl::string_view external_id);
// Hash: segment id -> serialized persona.v1.SegmentDefinition.
std::string Segments(absl::string_view workspace);
// Counter bumped on every definition change, so consumers reload cheaply.
std::string SegmentsVersion(absl::string_view workspace);
// Stream of membership changes (fields "seq", "c" = serialized SegmentChange) and its sequence;
// both under the workspace's change tag so one script appends with the sequence.
std::string SegmentChanges(absl::string_view workspace);
std::string SegmentChangeSeq(absl::string_view workspace);
// One replica at a time runs the scheduled re-evaluation.
std::string PersonaSchedulerLease(absl::string_view workspace);
// Serialized RFM quintile boundaries of the population, recomputed on a schedule.
std::string RfmModel(absl::string_view workspace);

// --- Recommend (private) ---
// Frequency caps of one customer: hash offer_id -> impressions on `day` ("YYYYMMDD", UTC),
// expiring after two days, and the lifetime counts. Same slot as View(), so the request's
// one pipeline reads snapshots and caps together.
std::string RecommendCapsDay(absl::string_view workspace, absl::string_view user_id, absl::string_view day);
std::string RecommendCapsLifetime(absl::string_view workspace, absl::string_view user_id);
// The customer's last served recommendation (RecommendationRecord), for attributing orders.
std::string RecommendLast(absl::string_view workspace, absl::string_view user_id);
// A served recommendation by id (RecommendationRecord), for ReportOutcome on any replica.
std::string Recommendation(absl::string_view workspace, absl::string_view recommendation_id);
// Outcome counters per offer and stage, all segments together: hash
// "<offer>|<stage>|*|<outcome>" -> count (small: every replica reloads it every few seconds).
std::string RecommendOfferStats(absl::string_view workspace);
// The same broken out by segment: "<offer>|<stage>|<segment>|<outcome>" -> count (read only
// by GetOfferStats).
std::string RecommendOfferSegmentStats(absl::string_view workspace);
// The admin-applied offer catalog (OfferCatalogDocument) and its version counter.
std::string RecommendOfferCatalog(absl::string_view workspace);
// Products upserted through the admin RPC: hash product_id -> ProductInfo.
std::string RecommendProducts(absl::string_view workspace);
// Counter bumped after every upsert of that hash: replicas reload the products when it moves.
std::string RecommendProductsVersion(absl::string_view workspace);

// --- Orchestration and triggered actions (common/orchestration) ---
// Promotional offers shown or sent to one customer on `day` ("YYYYMMDD", UTC), across all
// offers and all services (recommend's promotional offers and triggered actions): the global
// frequency cap. A counter, expiring after two days.
std::string OrchestrationCapDay(absl::string_view workspace, absl::string_view user_id, absl::string_view day);
// Cool-downs of one customer: hash kind ("conversion", "dismissal") -> until, in ms.
std::string OrchestrationCooldown(absl::string_view workspace, absl::string_view user_id);
// Re-entry rule of triggered flows: hash trigger_id -> when it last fired for the customer, ms.
std::string TriggerEntries(absl::string_view workspace, absl::string_view user_id);
// Marker of a decided action (the idempotency key), so a redelivered cause decides once.
std::string ActionDecided(absl::string_view workspace, absl::string_view user_id, absl::string_view key);
// Actions fired for the users of stream partition p (stream, field "a" = Action); shared by
// all workspaces like the event streams, consumed by downstream senders (groups).
std::string ActionStream(uint32_t partition);
// Actions deferred by quiet hours (sorted set: member = Action, score = release time, ms).
std::string ActionsDeferred(uint32_t partition);
// Actions the webhook gave up on after its retry limit (list of Action, newest last).
std::string ActionDeadLetters(uint32_t partition);
// How triggered actions ended, per workspace: hash "<outcome>|<reason>|<trigger>" -> count
// (outcome: sent, deferred, released, suppressed, duplicate; delivered, dead_letter).
std::string ActionCounts(absl::string_view workspace);

// Experiments (and the holdout, experiment id "holdout"): two hashes per experiment, both
// under the experiment's own hash tag {xp:<id>} (not the customer's: one script updates a
// customer's record and the experiment's totals atomically, single-slot on a Cluster; the
// price is that one experiment's writes go to one node).
// Members: "e:<customer>" -> "<variant>|<first exposure ms>", "l:<customer>" -> last
// exposure ms, "c:<customer>" / "k:<customer>" -> 1 once converted / clicked,
// "r:<customer>" -> revenue so far, "o:<dedupe id>" -> 1 per order (or reported
// conversion) already counted.
std::string ExperimentMembers(absl::string_view workspace, absl::string_view experiment_id);
// Totals: "<variant>|exposed", "|conversions", "|clicks", "|revenue", "|revenue_sq" -> number.
std::string ExperimentTotals(absl::string_view workspace, absl::string_view experiment_id);
// The applied holdout and experiment definitions: hash "version" -> n, "doc" ->
// StoredExperiments (both set together by one script, compare-and-set on the version).
std::string ExperimentDefinitions(absl::string_view workspace);

// --- Auth ---
// API keys of every workspace, in one place on purpose: a replica must recognise a key of
// another workspace to refuse it with PERMISSION_DENIED. Both keys share the {auth} tag, so
// a change and its version bump run in one MULTI on Redis Cluster too.
// Hash: key_id -> serialized auth.v1.ApiKeyRecord (the SHA-256 of the key, never the key).
std::string ApiKeys();
// Counter bumped on every key change, so replicas reload their key cache cheaply.
std::string ApiKeysVersion();
// Calls of one API key and scope in one fixed window of its rate limit, summed over the
// replicas (INCRBY of leased slices, TTL two windows; common/auth/shared_rate_limiter.h).
std::string RateLimitWindow(absl::string_view workspace, absl::string_view key_id, absl::string_view scope,
                            int64_t window_ms, int64_t window_index);

}  // namespace journey::keys
