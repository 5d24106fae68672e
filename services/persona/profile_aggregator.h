// The computed attributes of a profile: how one event, a trait update or an identity merge
// changes a ProfileRecord, and how the record reads at a given time (rolling windows, days
// since the last order). Plain C++ over protobuf, no I/O, no clock of its own.
#pragma once

#include <string>

#include "absl/time/time.h"
#include "journey/common/v1/common.pb.h"
#include "journey/persona/v1/persona.pb.h"

namespace journey::persona {

namespace pb = ::journey::persona::v1;
namespace cpb = ::journey::common::v1;

// The event that counts as an order.
inline constexpr char kOrderCompleted[] = "Order Completed";

struct AggregatorOptions {
  int counter_days = 90;        // per-day counters kept this long (the widest window)
  int max_event_names = 200;    // distinct event names counted per profile; more are folded into totals only
  int max_recent_orders = 200;  // order ids remembered for deduplication
  int favourites = 3;           // favourite categories / brands kept
  absl::Duration session_gap = absl::Minutes(30);  // a new session when no session id is sent
};

class ProfileAggregator {
 public:
  explicit ProfileAggregator(AggregatorOptions options = {}) : options_(options) {}

  // Applies one behavioural or identify event that happened at `event_time`. `now` bounds
  // the per-day counters' retention. A repeated order id is not counted again.
  void ApplyEvent(const cpb::Event& event, absl::Time event_time, absl::Time now, pb::ProfileRecord* record) const;

  // Sets typed traits; a trait already updated later than `updated_at` keeps its value.
  void ApplyTraits(const google::protobuf::Map<std::string, cpb::TraitValue>& traits, absl::string_view source,
                   absl::Time updated_at, pb::ProfileRecord* record) const;

  // Identity stitching: `from` joins `into`. Counters add up, an order both saw counts once,
  // the newer trait and consent win, `from`'s ids become anonymous ids of `into`.
  void Merge(const pb::ProfileRecord& from, absl::Time now, pb::ProfileRecord* into) const;

  // Recomputes what depends on the time of reading: window counts, days since the last
  // order, favourites, averages. Call before evaluating segments and before serving.
  void Refresh(absl::Time now, pb::ProfileRecord* record) const;

  // Refresh for a record about to be stored: the same, except that the window counts
  // (computed.event_counts) are left out. They are derived from the per-day counters, which
  // conditions read directly, and every read rebuilds them with Refresh; storing them would
  // only make each write and load bigger.
  void RefreshForStorage(absl::Time now, pb::ProfileRecord* record) const;

  // What recommend reads from the shared view.
  static cpb::PersonaSnapshot Snapshot(const pb::ProfileRecord& record, absl::Time now);

  // When an event happened: its timestamp, else when ingest received it, else `now`.
  static absl::Time EventTime(const cpb::EventEnvelope& envelope, absl::Time now);

  // Sentiment normalised to [0, 1] by its scale.
  static double NormalisedSentiment(double score, cpb::SentimentScale scale);

  // The name an event is counted under ("Page Viewed" for page calls); empty = not counted.
  static std::string CountedName(const cpb::Event& event);

 private:
  void RefreshImpl(absl::Time now, bool window_counts, pb::ProfileRecord* record) const;
  void CountEvent(const std::string& name, int64_t day, int64_t today, pb::ProfileRecord* record) const;

  AggregatorOptions options_;
};

}  // namespace journey::persona
