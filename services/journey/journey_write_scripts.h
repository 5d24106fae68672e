// The Lua scripts that make the journey's writes exactly-once: a batch's writes fenced by the
// partition's applied watermark and generation (plus compare-and-set on the users of other
// partitions it touches), and a timer's effects fenced by the timer still being armed.
#pragma once

namespace journey::journey_state {

// Runs a batch's writes only if the partition is still as this batch read it, then advances
// the watermark.
//   KEYS[1] watermark of the partition, KEYS[2] its generation
//   ARGV[1] watermark read ("" = none), ARGV[2] generation read ("" = none), ARGV[3] new
//   watermark, ARGV[4] number c of users of other partitions, then c times (view key, field,
//   snapshot read ("" = none), generation key of the user's partition), then the number of
//   commands, then per command its argc and args.
// Returns 1 when written; 0 when the partition moved on (another replica applied it: a lease
// handover, or an outside write bumped its generation); 2 when a user of another partition
// changed since read (its own partition applied an event meanwhile). Nothing is written
// unless it returns 1.
inline constexpr char kFencedBatchScript[] = R"lua(
if (redis.call('GET', KEYS[1]) or '') ~= ARGV[1] then return 0 end
if (redis.call('GET', KEYS[2]) or '') ~= ARGV[2] then return 0 end
local c = tonumber(ARGV[4])
local i = 5
for u = 1, c do
  if (redis.call('HGET', ARGV[i], ARGV[i + 1]) or '') ~= ARGV[i + 2] then return 2 end
  i = i + 4
end
i = 5
for u = 1, c do
  redis.call('INCR', ARGV[i + 3])
  i = i + 4
end
local n = tonumber(ARGV[i])
i = i + 1
for k = 1, n do
  local argc = tonumber(ARGV[i])
  redis.call(unpack(ARGV, i + 1, i + argc))
  i = i + argc + 1
end
redis.call('SET', KEYS[1], ARGV[3])
return 1
)lua";

// Runs a timer's effects only while the timer is still armed with the score read, and bumps
// the partition's generation so a batch of that partition that read the user before cannot
// overwrite the fired state.
//   KEYS[1] timers of the partition, KEYS[2] its generation
//   ARGV[1] member, ARGV[2] score, ARGV[3] number of commands, then per command its argc and args.
// Returns the partition's new generation (at least 1) when run, 0 when the timer moved (fired
// elsewhere, or re-armed by an event).
inline constexpr char kFireTimerScript[] = R"lua(
local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not s or tonumber(s) ~= tonumber(ARGV[2]) then return 0 end
local i = 4
for k = 1, tonumber(ARGV[3]) do
  local argc = tonumber(ARGV[i])
  redis.call(unpack(ARGV, i + 1, i + argc))
  i = i + argc + 1
end
return redis.call('INCR', KEYS[2])
)lua";

}  // namespace journey::journey_state
