// Item-to-item knowledge learned incrementally from interactions: sequence-aware
// co-occurrence within sessions, popularity and trending, all with exponential time decay,
// plus how often customers go back to an item they already saw in the session. Thread-safe:
// one writer (the stream learner) and many readers (requests).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace journey::recommend {

struct ItemModelOptions {
  // A gap longer than this starts a new session for the same customer.
  absl::Duration session_gap = absl::Minutes(30);
  // How many of a session's previous (distinct) items a new item is paired with.
  int window = 10;
  // Co-occurrence and popularity halve in weight every half_life of event time.
  absl::Duration half_life = absl::Hours(24 * 14);
  absl::Duration trending_half_life = absl::Hours(6);
  // An item seen after another counts this much toward the reverse direction too.
  double backward_weight = 0.5;
  // Weight of the k-th most recent session item is recency_decay^(k-1) when scoring.
  double recency_decay = 0.6;
  // A pair's weight falls with the distance d between the two items as 1/d^distance_power.
  double distance_power = 1.0;
  // Rows keep at most this many neighbours (the strongest) so memory stays bounded.
  size_t max_neighbours = 300;
  // Live sessions kept in memory; idle ones are dropped first.
  size_t max_sessions = 500000;
  // When false, items the customer already saw in the session are not recommended again.
  bool recommend_seen = true;
};

struct ScoredItem {
  std::string item_id;
  double score = 0;
  std::string reason;  // human-readable: "viewed together with 123", "recently viewed", "popular"
};

class ItemModel {
 public:
  explicit ItemModel(ItemModelOptions options = {});

  // One interaction of a customer with an item at event time `t`. `session_key` groups a
  // customer's interactions (the customer id, or customer + session id); `weight` is how
  // strong a signal the event is (view < add to cart < purchase).
  void Observe(const std::string& session_key, const std::string& item_id, absl::Time t, double weight = 1.0);
  // The live session of `session_key` as the model saw it in the stream, oldest first
  // (distinct items); empty when there is none or it went idle.
  std::vector<std::string> SessionItems(const std::string& session_key) const;
  // Forgets a customer's live session (erasure, identity merge).
  void ForgetSession(const std::string& session_key);

  // Top `k` items for a session (oldest first, the last one is the item on screen), best
  // first. `allowed` filters candidates (stock, already bought). Fills with trending and
  // popular items when the session gives too few candidates.
  std::vector<ScoredItem> Recommend(const std::vector<std::string>& session, size_t k,
                                    const std::function<bool(const std::string&)>& allowed = nullptr) const;
  // Last-item co-occurrence only (the baseline the evaluation compares with).
  std::vector<ScoredItem> RecommendLastItem(const std::string& item_id, size_t k) const;
  // Most popular items (decayed), best first.
  std::vector<ScoredItem> Popular(size_t k) const;

  // Recomputes the popular and trending lists; the learner calls it after each batch.
  void RefreshRankings();

  size_t item_count() const;
  absl::Time latest_event_time() const;

 private:
  struct Session {
    std::vector<uint32_t> recent;  // distinct items, most recent first, at most window
    absl::Time last_seen;
  };
  using Row = absl::flat_hash_map<uint32_t, float>;

  uint32_t Intern(const std::string& item_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  double Scale(absl::Time t) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Rescale(double factor) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AddPair(uint32_t from, uint32_t to, double w) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EvictIdleSessions() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  double RepeatProbability(size_t rank) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  void FillPopular(size_t k, const std::function<bool(const std::string&)>& allowed,
                   absl::flat_hash_set<uint32_t>* taken, std::vector<ScoredItem>* out) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  const ItemModelOptions options_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, uint32_t> ids_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> names_ ABSL_GUARDED_BY(mu_);
  std::vector<Row> co_ ABSL_GUARDED_BY(mu_);
  std::vector<double> row_sum_ ABSL_GUARDED_BY(mu_);
  std::vector<double> popularity_ ABSL_GUARDED_BY(mu_);
  std::vector<double> trending_ ABSL_GUARDED_BY(mu_);  // short half-life popularity
  absl::flat_hash_map<std::string, Session> sessions_ ABSL_GUARDED_BY(mu_);
  // Decay by a growing scale instead of touching every counter: an increment at time t
  // weighs 2^((t - origin) / half_life); counters are rescaled when the scale grows large.
  absl::Time origin_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time trending_origin_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time latest_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  // Follow-up statistics: of the transitions out of a session, how many went back to the
  // item at recency rank r (1 = the current item), and how many in total.
  std::vector<double> repeat_at_rank_ ABSL_GUARDED_BY(mu_);
  double transitions_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<uint32_t> popular_ ABSL_GUARDED_BY(mu_);   // best first
  std::vector<uint32_t> trending_top_ ABSL_GUARDED_BY(mu_);
};

}  // namespace journey::recommend
