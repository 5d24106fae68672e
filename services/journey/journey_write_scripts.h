// The Lua scripts that make the journey's writes exactly-once: the fence of a batch's
// transaction (the partition's applied watermark and generation, plus compare-and-set on the
// users of other partitions it touches), and a timer's effects fenced by the timer still
// being armed.
#pragma once

namespace journey::journey_state {

// A batch's write is one transaction sent in one pipeline on one connection:
//   WATCH <watermark> <generation> <views of the users of other partitions>
//   EVAL kBatchFenceScript ...      (the fence: are they still as the batch read them?)
//   MULTI, the batch's writes, SET <watermark> <new>, EXEC
// The fence runs after WATCH, so a change before it is seen by the compare and a change
// after it aborts EXEC (nil reply). When the compare fails, the script itself rewrites the
// generation with its own value, which counts as a modification of a watched key, so EXEC
// is aborted too and nothing of the batch is written. Until 2026-12-02 the writes ran inside
// a Lua script; Redis then copied every argument, snapshots included, into a Lua string and
// hashed all its bytes (about 2 ns a byte: most of the script's time), which MULTI does not.
// EVAL rather than EVALSHA: a NOSCRIPT reply would not have run the fence, and the EXEC
// after it would then write unfenced. (MULTI, WATCH and EXEC are accepted while Redis loads
// or runs a busy script; a queued command refused for that aborts the whole EXEC.)
//   KEYS[1] watermark of the partition, KEYS[2] its generation, KEYS[3..] views of users of
//   other partitions (the canonical side of a merge)
//   ARGV[1] watermark read ("" = none), ARGV[2] generation read ("" = none), ARGV[3] the
//   journey field of a view, ARGV[4..] each view's journey snapshot as read ("" = none)
// Returns 1 when the batch may be written; 0 when the partition moved on (another replica
// applied it: a lease handover, or an outside write bumped its generation); 2 when a user of
// another partition changed since read (its own partition applied an event meanwhile).
inline constexpr char kBatchFenceScript[] = R"lua(
local function refuse(code)
  local g = redis.call('GET', KEYS[2])
  if g then redis.call('SET', KEYS[2], g) else redis.call('INCR', KEYS[2]) end
  return code
end
if (redis.call('GET', KEYS[1]) or '') ~= ARGV[1] then return refuse(0) end
if (redis.call('GET', KEYS[2]) or '') ~= ARGV[2] then return refuse(0) end
for k = 3, #KEYS do
  if (redis.call('HGET', KEYS[k], ARGV[3]) or '') ~= ARGV[k + 1] then return refuse(2) end
end
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
