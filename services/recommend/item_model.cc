#include "services/recommend/item_model.h"

#include <algorithm>
#include <cmath>

namespace journey::recommend {
namespace {

// Counters are rescaled once the growth factor passes this, far below float's range.
constexpr double kMaxScale = 1e12;
constexpr size_t kRankingSize = 500;

}  // namespace

ItemModel::ItemModel(ItemModelOptions options) : options_(options) {
  repeat_at_rank_.assign(std::max(1, options_.window), 0.0);
}

uint32_t ItemModel::Intern(const std::string& item_id) {
  auto [it, inserted] = ids_.try_emplace(item_id, static_cast<uint32_t>(names_.size()));
  if (inserted) {
    names_.push_back(item_id);
    co_.emplace_back();
    row_sum_.push_back(0);
    popularity_.push_back(0);
    trending_.push_back(0);
  }
  return it->second;
}

double ItemModel::Scale(absl::Time t) {
  if (origin_ == absl::InfinitePast()) origin_ = t;
  double s = std::exp2(absl::FDivDuration(t - origin_, options_.half_life));
  if (s > kMaxScale) {
    Rescale(1.0 / s);
    origin_ = t;
    s = 1.0;
  }
  return s;
}

void ItemModel::Rescale(double factor) {
  for (Row& row : co_) {
    for (auto& [to, w] : row) w = static_cast<float>(w * factor);
  }
  for (double& v : row_sum_) v *= factor;
  for (double& v : popularity_) v *= factor;
}

void ItemModel::AddPair(uint32_t from, uint32_t to, double w) {
  Row& row = co_[from];
  row[to] += static_cast<float>(w);
  row_sum_[from] += w;
  if (row.size() > 2 * options_.max_neighbours) {
    // Keep the strongest neighbours; the dropped mass stays in row_sum_ so the remaining
    // weights still read as conditional probabilities.
    std::vector<float> weights;
    weights.reserve(row.size());
    for (const auto& [j, v] : row) weights.push_back(v);
    std::nth_element(weights.begin(), weights.begin() + options_.max_neighbours, weights.end(), std::greater<float>());
    const float threshold = weights[options_.max_neighbours];
    for (auto it = row.begin(); it != row.end();) {
      auto cur = it++;
      if (cur->second <= threshold) row.erase(cur);
    }
  }
}

void ItemModel::Observe(const std::string& session_key, const std::string& item_id, absl::Time t, double weight) {
  if (item_id.empty() || weight <= 0) return;
  absl::MutexLock lock(&mu_);
  latest_ = std::max(latest_, t);
  const uint32_t id = Intern(item_id);
  const double s = Scale(t) * weight;
  popularity_[id] += s;
  if (trending_origin_ == absl::InfinitePast()) trending_origin_ = t;
  double ts = std::exp2(absl::FDivDuration(t - trending_origin_, options_.trending_half_life));
  if (ts > kMaxScale) {
    for (double& v : trending_) v /= ts;
    trending_origin_ = t;
    ts = 1.0;
  }
  trending_[id] += ts * weight;

  Session& session = sessions_[session_key];
  if (!session.recent.empty() && t - session.last_seen > options_.session_gap) session.recent.clear();
  session.last_seen = std::max(session.last_seen, t);
  auto pos = std::find(session.recent.begin(), session.recent.end(), id);
  if (!session.recent.empty()) {
    transitions_ += 1;
    if (pos != session.recent.end()) repeat_at_rank_[pos - session.recent.begin()] += 1;
  }
  if (pos != session.recent.begin()) {  // a repeated click on the current item adds no pair
    for (size_t k = 0; k < session.recent.size(); ++k) {
      const uint32_t prev = session.recent[k];
      if (prev == id) continue;
      const double w = s / std::pow(static_cast<double>(k + 1), options_.distance_power);
      AddPair(prev, id, w);
      AddPair(id, prev, w * options_.backward_weight);
    }
  }
  if (pos != session.recent.end()) session.recent.erase(pos);
  session.recent.insert(session.recent.begin(), id);
  if (session.recent.size() > static_cast<size_t>(options_.window)) session.recent.resize(options_.window);
  if (sessions_.size() > options_.max_sessions) EvictIdleSessions();
}

std::vector<std::string> ItemModel::SessionItems(const std::string& session_key) const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<std::string> out;
  auto it = sessions_.find(session_key);
  if (it == sessions_.end() || latest_ - it->second.last_seen > options_.session_gap) return out;
  for (auto r = it->second.recent.rbegin(); r != it->second.recent.rend(); ++r) out.push_back(names_[*r]);
  return out;
}

void ItemModel::ForgetSession(const std::string& session_key) {
  absl::MutexLock lock(&mu_);
  sessions_.erase(session_key);
}

void ItemModel::EvictIdleSessions() {
  // Drop every session idle for longer than the gap; if that is not enough, the older half.
  std::vector<absl::Time> seen;
  seen.reserve(sessions_.size());
  for (const auto& [k, s] : sessions_) seen.push_back(s.last_seen);
  std::nth_element(seen.begin(), seen.begin() + seen.size() / 2, seen.end());
  const absl::Time cutoff = std::max(latest_ - options_.session_gap, seen[seen.size() / 2]);
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    auto cur = it++;
    if (cur->second.last_seen < cutoff) sessions_.erase(cur);
  }
}

double ItemModel::RepeatProbability(size_t rank) const {
  // Smoothed toward a small prior that falls with rank, so a fresh model still shows the
  // item on screen and the previous one without dominating.
  const double prior = 0.1 * std::pow(0.5, static_cast<double>(rank));
  constexpr double kPriorStrength = 20;
  const double seen = rank < repeat_at_rank_.size() ? repeat_at_rank_[rank] : 0.0;
  return (seen + kPriorStrength * prior) / (transitions_ + kPriorStrength);
}

void ItemModel::FillPopular(size_t k, const std::function<bool(const std::string&)>& allowed,
                            absl::flat_hash_set<uint32_t>* taken, std::vector<ScoredItem>* out) const {
  // Below every session-derived score: these only fill the remaining slots.
  double score = out->empty() ? 1.0 : std::min(1e-6, out->back().score * 0.5);
  for (uint32_t id : popular_) {
    if (out->size() >= k) break;
    if (taken->contains(id) || (allowed && !allowed(names_[id]))) continue;
    taken->insert(id);
    out->push_back({names_[id], score, "popular"});
    score *= 0.99;
  }
}

std::vector<ScoredItem> ItemModel::Recommend(const std::vector<std::string>& session, size_t k,
                                             const std::function<bool(const std::string&)>& allowed) const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<uint32_t> recent;
  for (auto it = session.rbegin(); it != session.rend() && recent.size() < static_cast<size_t>(options_.window); ++it) {
    auto found = ids_.find(*it);
    if (found == ids_.end()) continue;
    if (std::find(recent.begin(), recent.end(), found->second) == recent.end()) recent.push_back(found->second);
  }
  std::vector<ScoredItem> out;
  out.reserve(k);
  // What is already in the answer, for the popular fill; reused per thread (its table
  // stays allocated), cleared on the way out.
  thread_local absl::flat_hash_set<uint32_t> taken;
  taken.clear();
  if (!recent.empty()) {
    double p_repeat = 0;
    for (size_t r = 0; r < recent.size(); ++r) p_repeat += RepeatProbability(r);
    const double p_new = std::max(0.05, 1.0 - p_repeat);
    double alpha_sum = 0;
    for (size_t r = 0; r < recent.size(); ++r) alpha_sum += std::pow(options_.recency_decay, static_cast<double>(r));

    struct Candidate {
      double score = 0;
      double best = 0;
      int because = -1;  // rank of the session item that contributed most; -1 = seen itself
      bool touched = false;
    };
    // Scores by item index in an array kept per thread, reset after use: the session's
    // rows reach hundreds of items, and a hash map built per request was the larger part
    // of the cost (its allocation included).
    struct Scratch {
      std::vector<Candidate> slots;
      std::vector<uint32_t> touched;
      std::vector<std::pair<double, uint32_t>> ranked;
    };
    thread_local Scratch scratch;
    if (scratch.slots.size() < names_.size()) scratch.slots.resize(names_.size());
    scratch.touched.clear();
    auto slot = [&](uint32_t j) -> Candidate& {
      Candidate& c = scratch.slots[j];
      if (!c.touched) {
        c.touched = true;
        scratch.touched.push_back(j);
      }
      return c;
    };
    for (size_t r = 0; r < recent.size(); ++r) {
      const uint32_t i = recent[r];
      if (row_sum_[i] <= 0) continue;
      const double a = p_new * std::pow(options_.recency_decay, static_cast<double>(r)) / alpha_sum / row_sum_[i];
      for (const auto& [j, w] : co_[i]) {
        Candidate& c = slot(j);
        const double contrib = a * w;
        c.score += contrib;
        if (contrib > c.best) {
          c.best = contrib;
          c.because = static_cast<int>(r);
        }
      }
    }
    for (size_t r = 0; r < recent.size(); ++r) {
      Candidate& c = slot(recent[r]);
      if (!options_.recommend_seen) {
        c.score = -1;
        continue;
      }
      const double p = RepeatProbability(r);
      c.score += p;
      if (p > c.best) {
        c.best = p;
        c.because = -1;
      }
    }
    std::vector<std::pair<double, uint32_t>>& ranked = scratch.ranked;
    ranked.clear();
    for (uint32_t j : scratch.touched) {
      if (scratch.slots[j].score > 0) ranked.emplace_back(scratch.slots[j].score, j);
    }
    // Ties broken by id so results are deterministic.
    auto better = [](const auto& a, const auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; };
    // Only the head is ordered (rows hold hundreds of neighbours, the answer is tens); the
    // rest is sorted only if filters reject so many that the head runs out.
    const size_t head = std::min(ranked.size(), 2 * k + 16);
    if (head < ranked.size()) std::nth_element(ranked.begin(), ranked.begin() + head, ranked.end(), better);
    std::sort(ranked.begin(), ranked.begin() + head, better);
    for (size_t n = 0; n < ranked.size(); ++n) {
      if (out.size() >= k) break;
      if (n == head) std::sort(ranked.begin() + head, ranked.end(), better);
      const auto [score, j] = ranked[n];
      if (allowed && !allowed(names_[j])) continue;
      const Candidate& c = scratch.slots[j];
      taken.insert(j);
      ScoredItem& item = out.emplace_back();
      item.item_id = names_[j];
      item.score = score;
      if (c.because < 0) {
        item.reason = "recently viewed";
      } else {
        const std::string& because = names_[recent[c.because]];
        item.reason.reserve(21 + because.size());
        item.reason.append("viewed together with ").append(because);
      }
    }
    for (uint32_t j : scratch.touched) scratch.slots[j] = Candidate{};
  }
  FillPopular(k, allowed, &taken, &out);
  taken.clear();
  return out;
}

std::vector<ScoredItem> ItemModel::RecommendLastItem(const std::string& item_id, size_t k) const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<ScoredItem> out;
  auto found = ids_.find(item_id);
  if (found == ids_.end()) return out;
  std::vector<std::pair<float, uint32_t>> ranked;
  for (const auto& [j, w] : co_[found->second]) ranked.emplace_back(w, j);
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  for (size_t n = 0; n < ranked.size() && n < k; ++n) out.push_back({names_[ranked[n].second], ranked[n].first, ""});
  return out;
}

std::vector<ScoredItem> ItemModel::Popular(size_t k) const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<ScoredItem> out;
  absl::flat_hash_set<uint32_t> taken;
  // Trending items first (rising now), then the steady best sellers.
  for (uint32_t id : trending_top_) {
    if (out.size() >= k / 3) break;
    taken.insert(id);
    out.push_back({names_[id], 2.0 - 0.01 * static_cast<double>(out.size()), "trending"});
  }
  FillPopular(k, nullptr, &taken, &out);
  return out;
}

void ItemModel::RefreshRankings() {
  absl::MutexLock lock(&mu_);
  auto top = [](const std::vector<double>& score, size_t n) {
    std::vector<uint32_t> ids;
    for (uint32_t i = 0; i < score.size(); ++i) {
      if (score[i] > 0) ids.push_back(i);
    }
    n = std::min(n, ids.size());
    std::partial_sort(ids.begin(), ids.begin() + n, ids.end(), [&](uint32_t a, uint32_t b) {
      return score[a] != score[b] ? score[a] > score[b] : a < b;
    });
    ids.resize(n);
    return ids;
  };
  popular_ = top(popularity_, kRankingSize);
  // Trending = share of recent activity well above the long-run share.
  double pop_total = 0, trend_total = 0;
  for (double v : popularity_) pop_total += v;
  for (double v : trending_) trend_total += v;
  std::vector<double> rising(trending_.size(), 0);
  if (pop_total > 0 && trend_total > 0) {
    for (size_t i = 0; i < trending_.size(); ++i) {
      const double share = trending_[i] / trend_total;
      const double base = popularity_[i] / pop_total;
      if (share > 1.5 * base) rising[i] = share - base;
    }
  }
  trending_top_ = top(rising, 50);
}

size_t ItemModel::item_count() const {
  absl::ReaderMutexLock lock(&mu_);
  return names_.size();
}

absl::Time ItemModel::latest_event_time() const {
  absl::ReaderMutexLock lock(&mu_);
  return latest_;
}

}  // namespace journey::recommend
