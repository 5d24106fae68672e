// Incremental per-day aggregates for funnels and the journey map. The write side turns what
// the state machine reported (StepOutcome) into counter increments, combined per batch so a
// batch costs one HINCRBY per distinct counter; the read side sums a range of day hashes.
// Never a scan over customers.
#pragma once

#include <array>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "common/storage/redis_client.h"
#include "services/journey/journey_state_machine.h"

namespace journey::journey_state {

// Upper bounds (seconds) of the time-to-next-stage histogram; the last bucket is open.
inline constexpr std::array<double, 16> kTimeBucketsS = {
    60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 3 * 86400, 7 * 86400,
    14 * 86400, 30 * 86400, 90 * 86400, 1e18};

// "YYYYMMDD" (UTC) of a time.
std::string DayOf(absl::Time t);
std::string KindName(TransitionKind kind);  // "entry", "forward", ...

class AggregateDelta {
 public:
  // Adds what one application changed (`ws`, `journey_id` pick the hashes). Every counter is
  // also counted for each of `segments`, the persona segments the customer was in (the
  // funnel and the map per segment, membership at event time).
  void Add(const std::string& ws, const std::string& journey_id, const StepOutcome& outcome,
           const std::vector<std::string>& segments = {});
  // Takes back the funnel count of a stage reach (and its segments' counts): an identity
  // merge found the same person had reached the stage under two ids.
  void Uncount(const std::string& ws, const std::string& journey_id, const StageReach& reach);
  // HINCRBY / HINCRBYFLOAT commands for the whole delta.
  std::vector<storage::RedisCommand> Commands() const;

 private:
  // One hash's increments, field -> amount; looked up by a string_view of a reused buffer,
  // so a counter met before costs no allocation.
  struct Counters {
    absl::flat_hash_map<std::string, long long> ints;
    absl::flat_hash_map<std::string, double> floats;
  };
  // The hashes of one day (overall, then one pair per segment met), built once per batch
  // rather than per event, each with its increments (so a counter does not hash its key).
  struct SegmentKeys {
    std::string segment, funnel, touchpoints;
    Counters funnel_counts, touchpoint_counts;
  };
  struct DayKeys {
    std::string ws, journey_id;
    int64_t unix_day = 0;
    std::string day;
    SegmentKeys overall;
    std::deque<SegmentKeys> segments;  // few: searched in order; deque keeps references valid
  };
  DayKeys& KeysOf(const std::string& ws, const std::string& journey_id, absl::Time t);
  // The hashes one counter goes to: the day's overall ones and those of each segment.
  const std::vector<SegmentKeys*>& TargetsOf(DayKeys& day, const std::vector<std::string>& segments);

  static void Inc(Counters& c, absl::string_view field, long long by = 1) {
    auto it = c.ints.find(field);
    if (it == c.ints.end()) {
      c.ints.emplace(std::string(field), by);
    } else {
      it->second += by;
    }
  }
  static void IncFloat(Counters& c, absl::string_view field, double by) {
    auto it = c.floats.find(field);
    if (it == c.floats.end()) {
      c.floats.emplace(std::string(field), by);
    } else {
      it->second += by;
    }
  }
  std::deque<DayKeys> days_;  // few per batch: searched in order
  std::vector<SegmentKeys*> targets_;  // scratch of TargetsOf
  std::string field_, cell_;  // scratch of Add
};

// Sentiment moments: enough for a mean and a confidence interval.
struct SentimentStats {
  long long n = 0;
  double sum = 0;
  double sum_sq = 0;
  double mean() const { return n > 0 ? sum / n : 0; }
  // Half width of the 95% interval of the mean (0 with fewer than two samples).
  double half_width_95() const;
};

struct TouchpointTotals {
  long long count = 0;
  long long lost = 0;  // abandonments and back-steps blamed on this touchpoint
  SentimentStats sentiment;
};

struct StageTotals {
  long long reached = 0;   // customers reaching the stage (or beyond) for the first time
  long long entered = 0;   // entries into the stage, re-entries included
  long long abandoned = 0;
  long long back = 0;      // back-steps out of the stage
  std::array<long long, kTimeBucketsS.size()> time_to_next{};  // forward moves out of it
  SentimentStats sentiment;
};

// Sum of the day hashes of a range.
struct AggregateTotals {
  std::map<std::string, StageTotals> stages;
  // (from, to, kind) -> customers; from is "" for entry.
  std::map<std::tuple<std::string, std::string, std::string>, long long> flows;
  // (stage, channel, event) -> totals
  std::map<std::tuple<std::string, std::string, std::string>, TouchpointTotals> touchpoints;
  int days = 0;
};

// Day names covering [from, to] (inclusive of the day containing `to`).
std::vector<std::string> DaysOf(absl::Time from, absl::Time to);

// Reads the range with one pipelined round trip (funnel hashes; touchpoint hashes too when
// `with_touchpoints`). A non-empty `segment` reads that segment's hashes instead.
absl::StatusOr<AggregateTotals> ReadAggregates(storage::RedisClient* redis, const std::string& ws,
                                               const std::string& journey_id, absl::Time from, absl::Time to,
                                               bool with_touchpoints, const std::string& segment = "");

}  // namespace journey::journey_state
