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
// Dedup marker for a message id, in the slot of the stream partition it was appended to,
// so the check and the append run in one script: "jy:<ws>:dedup:{p<p>}:<message_id>".
std::string Dedup(absl::string_view workspace, uint32_t partition, absl::string_view message_id);
// Identity: an anonymous id (or a previous user id) -> canonical user id.
std::string Alias(absl::string_view workspace, absl::string_view id);

// --- Shared per-user cache: a hash whose fields are snapshots written by their owners ---
std::string View(absl::string_view workspace, absl::string_view user_id);
inline constexpr absl::string_view kViewJourneyField = "journey";  // JourneySnapshot
inline constexpr absl::string_view kViewPersonaField = "persona";  // PersonaSnapshot

// --- Journey (private) ---

// --- Persona (private) ---
std::string Profile(absl::string_view workspace, absl::string_view user_id);

// --- Recommend (private) ---

// --- Auth ---

}  // namespace journey::keys
