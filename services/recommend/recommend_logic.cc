#include "services/recommend/recommend_logic.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/storage/keys.h"
#include "common/time/utc_day.h"

namespace journey::recommend {
namespace {

using storage::RedisReply;

// A cap hash (offer id -> impressions) keyed as the ranker looks it up: by OfferIdHash.
void ParseCounts(const RedisReply& reply, absl::flat_hash_map<uint64_t, int64_t>* out) {
  if (!reply.is_array()) return;
  out->reserve(reply.elements.size() / 2);
  for (size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
    int64_t n = 0;
    if (absl::SimpleAtoi(reply.elements[i + 1].str, &n)) (*out)[OfferIdHash(reply.elements[i].str)] = n;
  }
}

}  // namespace

RecommendLogic::RecommendLogic(RecommendOptions options, storage::RedisClient* redis, OfferCatalogStore* offers,
                               ProductCatalog* products, ItemModel* model, const OfferStatsView* stats,
                               const Clock* clock)
    : options_(std::move(options)),
      redis_(redis),
      offers_(offers),
      products_(products),
      model_(model),
      stats_(stats),
      clock_(clock),
      ranker_(options_.ranker) {}

std::mt19937_64& RecommendLogic::Rng() {
  // One generator per thread and logic instance: no lock on the hot path, and a fixed seed
  // gives a reproducible sequence in single-threaded tests.
  struct PerThread {
    const RecommendLogic* owner = nullptr;
    std::mt19937_64 rng;
  };
  thread_local PerThread local;
  if (local.owner != this) {
    local.owner = this;
    const uint64_t stream = rng_streams_.fetch_add(1);
    local.rng.seed(options_.seed != 0 ? options_.seed + stream : absl::Uniform<uint64_t>(absl::BitGen()));
  }
  return local.rng;
}

std::string RecommendLogic::NewRecommendationId() {
  thread_local absl::BitGen gen;  // ids must be unique even when ranking is seeded
  return absl::StrFormat("r%016x%016x", absl::Uniform<uint64_t>(gen), absl::Uniform<uint64_t>(gen));
}

RecommendLogic::Snapshots RecommendLogic::Read(std::string* uid, bool check_alias, absl::Time now,
                                               absl::Duration timeout, CustomerContext* customer) {
  Snapshots snap;
  const absl::Time give_up = absl::Now() + timeout;
  const std::string& day = UtcDay(now);
  // All keys of one customer share the {uid} hash tag: one slot, one node on a Cluster.
  std::vector<storage::RedisCommand> cmds = {
      {"HMGET", keys::View(options_.workspace, *uid), std::string(keys::kViewJourneyField),
       std::string(keys::kViewPersonaField)},
      {"HGETALL", keys::RecommendCapsDay(options_.workspace, *uid, day)},
      {"HGETALL", keys::RecommendCapsLifetime(options_.workspace, *uid)},
  };
  if (check_alias) cmds.push_back({"GET", keys::Alias(options_.workspace, *uid)});
  auto replies = redis_->Pipeline(cmds, timeout);
  if (!replies.ok() || replies->size() != cmds.size() || (*replies)[0].is_error()) return snap;
  if (check_alias) {
    const RedisReply& alias = (*replies)[3];
    if (alias.is_string() && !alias.str.empty() && alias.str != *uid) {
      aliases_.Learn(*uid, alias.str);
      *uid = alias.str;
      return Read(uid, /*check_alias=*/false, now, std::max(absl::Milliseconds(1), give_up - absl::Now()), customer);
    }
  }
  snap.ok = true;
  const RedisReply& view = (*replies)[0];
  if (view.is_array() && view.elements.size() == 2) {
    if (view.elements[0].is_string()) snap.has_journey = snap.journey.ParseFromString(view.elements[0].str);
    if (view.elements[1].is_string()) snap.persona.ParseFromString(view.elements[1].str);
  }
  ParseCounts((*replies)[1], &customer->shown_today);
  ParseCounts((*replies)[2], &customer->shown_lifetime);
  return snap;
}

absl::StatusOr<v1::GetRecommendationsResponse> RecommendLogic::Recommend(const v1::GetRecommendationsRequest& request,
                                                                        absl::Duration budget) {
  v1::GetRecommendationsResponse out;
  if (absl::Status st = RecommendInto(request, budget, &out); !st.ok()) return st;
  return out;
}

absl::Status RecommendLogic::RecommendInto(const v1::GetRecommendationsRequest& request, absl::Duration budget,
                                           v1::GetRecommendationsResponse* reply) {
  std::string uid = !request.user_id().empty() ? request.user_id() : request.anonymous_id();
  if (uid.empty()) return absl::InvalidArgumentError("user_id or anonymous_id: one is required");
  if (uid.size() > 256) return absl::InvalidArgumentError("user_id: longer than 256 characters");
  if (request.limit() < 0 || request.limit() > options_.max_limit) {
    return absl::InvalidArgumentError(
        absl::StrCat("limit: ", request.limit(), " is outside 0..", options_.max_limit, " (0 = default)"));
  }
  if (!v1::Placement_IsValid(request.placement())) {
    return absl::InvalidArgumentError(absl::StrCat("placement: unknown value ", request.placement()));
  }
  if (request.cart_product_ids_size() > 200) return absl::InvalidArgumentError("cart_product_ids: more than 200");
  const size_t limit = request.limit() == 0 ? options_.default_limit : request.limit();
  const absl::Time now = clock_->Now();

  CustomerContext customer;
  customer.placement = request.placement();
  customer.now = now;
  const absl::Duration timeout = std::max(absl::Milliseconds(1), std::min(options_.redis_timeout, budget / 2));
  // A visitor who logged in (or a merged id) is answered as the customer they became.
  std::string canonical = aliases_.Resolve(uid);
  const bool resolved = !canonical.empty();
  if (resolved) uid = std::move(canonical);
  Snapshots snap = Read(&uid, /*check_alias=*/!resolved, now, timeout, &customer);

  v1::GetRecommendationsResponse& out = *reply;
  out.Clear();
  out.set_recommendation_id(NewRecommendationId());
  if (!snap.ok) {
    customer.degraded = true;
    out.set_degraded(true);
    degraded_.fetch_add(1);
  } else {
    customer.stage = snap.has_journey && !snap.journey.stage().empty() ? absl::AsciiStrToUpper(snap.journey.stage())
                                                                       : options_.default_stage;
    customer.segments.assign(snap.persona.segments().begin(), snap.persona.segments().end());
    customer.persona = snap.persona.persona();
    for (const auto& [purpose, granted] : snap.persona.consent()) customer.consent[purpose] = granted;
    customer.purchased_product_ids.assign(snap.journey.purchased_product_ids().begin(),
                                          snap.journey.purchased_product_ids().end());
    out.set_stage(customer.stage);
  }

  // Experiments and the holdout: decided by the canonical id `uid` resolved above, so a
  // visitor who logged in is assigned as the customer they became.
  Assignment assignment;
  const std::shared_ptr<const ExperimentSet> experiments = experiments_ != nullptr ? experiments_->Get() : nullptr;
  if (experiments != nullptr) {
    assignment = experiments->Assign(uid, {customer.stage, &customer.segments, request.placement(), now, snap.ok});
  }
  RankVariant variant;
  variant.explore = assignment.treatment.exploration;
  if (!assignment.treatment.offer_ids.empty()) variant.only_offer_ids = &assignment.treatment.offer_ids;
  // The holdout's baseline is ranked without the customer: what a customer we know nothing
  // about would get (offers that need no state, any stage, by priority and weight).
  CustomerContext nobody;
  nobody.placement = customer.placement;
  nobody.now = now;
  nobody.degraded = true;
  variant.baseline = assignment.holdout;

  std::shared_ptr<const OfferCatalog> catalog = offers_->Get();
  std::vector<RankedOffer> ranked =
      ranker_.Rank(*catalog, assignment.holdout ? nobody : customer, stats_, limit, Rng(), variant);
  out.mutable_offers()->Reserve(static_cast<int>(ranked.size()));
  for (RankedOffer& r : ranked) {
    v1::OfferRecommendation* o = out.add_offers();
    o->set_offer_id(r.offer->offer.id());
    o->set_kind(r.offer->offer.kind());
    o->set_title(r.offer->offer.title());
    o->set_score(r.score);
    o->mutable_reasons()->Reserve(static_cast<int>(r.reasons.size()));
    for (auto& reason : r.reasons) o->add_reasons(std::move(reason));
    if (!r.offer->offer.attributes().empty()) *o->mutable_attributes() = r.offer->offer.attributes();
  }
  if (promotion_gate_ != nullptr && snap.ok) {
    promotion_gate_->Apply(uid, request.placement(), snap.journey.time_zone(), &out);
  }
  const ProductMode products = assignment.holdout                                         ? ProductMode::kBaseline
                               : assignment.treatment.ranking == ProductRanking::kPopularity ? ProductMode::kPopularity
                                                                                             : ProductMode::kSession;
  RankProducts(request, uid, snap, limit, products, &out);
  out.set_holdout(assignment.holdout);
  for (const ExperimentArm& arm : assignment.arms) {
    v1::ExperimentAssignment* a = out.add_experiments();
    a->set_experiment_id(arm.experiment->id);
    a->set_variant(arm.variant->id);
    a->set_layer(arm.experiment->layer);
  }
  if (!assignment.arms.empty()) {
    out.set_experiment(assignment.arms[0].experiment->id);
    out.set_variant(assignment.arms[0].variant->id);
  }

  if (!out.degraded() && listener_) {
    ServedRecommendation served;
    served.recommendation_id = out.recommendation_id();
    served.user_id = uid;
    served.stage = customer.stage;
    served.segments = customer.segments;
    // The answer's offers as ranked, minus what the promotion gate withheld (it only removes).
    served.offer_ids.reserve(out.offers_size());
    size_t next = 0;
    for (const auto& o : out.offers()) {
      served.offer_ids.push_back(o.offer_id());
      while (next < ranked.size() && ranked[next].offer->offer.id() != o.offer_id()) ++next;
      const CompiledOffer* c = next < ranked.size() ? ranked[next].offer : catalog->Find(o.offer_id());
      if (c != nullptr && c->offer.cap_per_day() > 0) served.daily_capped_offer_ids.push_back(o.offer_id());
      if (c != nullptr && c->offer.cap_lifetime() > 0) served.lifetime_capped_offer_ids.push_back(o.offer_id());
    }
    served.product_ids.reserve(out.products_size());
    for (const auto& p : out.products()) served.product_ids.push_back(p.product_id());
    served.served_at = now;
    for (const ExperimentArm& arm : assignment.arms) served.exposures.push_back({arm.experiment->id, arm.variant->id});
    if (assignment.holdout_arm.experiment != nullptr) {
      served.exposures.push_back({assignment.holdout_arm.experiment->id, assignment.holdout_arm.variant->id});
    }
    listener_(served);
  }
  return absl::OkStatus();
}

void RecommendLogic::RankProducts(const v1::GetRecommendationsRequest& request, const std::string& uid,
                                  const Snapshots& snap, size_t limit, ProductMode mode,
                                  v1::GetRecommendationsResponse* out) const {
  // The session as the model reads it, oldest first, the item on screen last: the
  // journey's view of the current session (else the session this replica saw in the
  // stream, else a few recent products), then the request's cart and current product,
  // which are fresher than any snapshot.
  // Popularity modes have no session: the list is the trending/popular ranking.
  std::vector<std::string> session;
  if (mode == ProductMode::kSession) {
    session.assign(snap.journey.session_product_ids().begin(), snap.journey.session_product_ids().end());
    if (session.empty()) session = model_->SessionItems(uid);
    if (session.empty()) {
      const auto& recent = snap.journey.recent_product_ids();  // newest first
      for (int i = std::min(recent.size(), options_.recent_as_session) - 1; i >= 0; --i) session.push_back(recent[i]);
    }
    for (const auto& id : request.cart_product_ids()) session.push_back(id);
    if (!request.current_product_id().empty()) session.push_back(request.current_product_id());
  }

  const std::shared_ptr<const ProductCatalog::Table> catalog = products_->Snapshot();
  static const google::protobuf::RepeatedPtrField<std::string> kNothingBought;
  // The baseline does not know what the customer bought.
  const auto& bought = mode == ProductMode::kBaseline ? kNothingBought : snap.journey.purchased_product_ids();
  auto was_bought = [&](const std::string& id) { return std::find(bought.begin(), bought.end(), id) != bought.end(); };
  auto allowed = [&](const std::string& id) {
    const v1::ProductInfo* p = catalog->Find(id);
    if (p == nullptr) return !was_bought(id);
    if (!p->in_stock()) return false;
    return p->repurchasable() || !was_bought(id);
  };
  // Ask for extra candidates so the diversity rule can skip some and still fill the list.
  std::vector<ScoredItem> items = session.empty() ? model_->Popular(limit * 2) : model_->Recommend(session, limit * 2, allowed);
  // Categories of the answer so far: tens at most, so a short list beats a hash map.
  absl::InlinedVector<std::pair<absl::string_view, int>, 16> per_category;
  auto category_count = [&](absl::string_view category) -> int& {
    for (auto& [name, n] : per_category) {
      if (name == category) return n;
    }
    return per_category.emplace_back(category, 0).second;
  };
  out->mutable_products()->Reserve(static_cast<int>(limit));
  auto emit = [&](const std::string& id, double score, const std::string& reason) {
    const v1::ProductInfo* p = catalog->Find(id);
    if (p != nullptr && !p->category().empty() && ++category_count(p->category()) > options_.max_per_category) return;
    v1::ProductRecommendation* r = out->add_products();
    r->set_product_id(id);
    r->set_score(score);
    if (!reason.empty()) r->add_reasons(reason);
    if (p != nullptr) {
      r->set_category(p->category());
      r->set_brand(p->brand());
      r->set_price(p->price());
    }
  };
  for (const ScoredItem& item : items) {
    if (static_cast<size_t>(out->products_size()) >= limit) break;
    if (session.empty() && !allowed(item.item_id)) continue;
    emit(item.item_id, item.score, item.reason);
  }
  if (static_cast<size_t>(out->products_size()) < limit) {
    // Nothing learned yet (a fresh deployment): products from the catalog.
    absl::flat_hash_set<absl::string_view> have;
    for (const auto& p : out->products()) have.insert(p.product_id());
    for (const v1::ProductInfo* p : catalog->Some(limit * 2)) {
      if (static_cast<size_t>(out->products_size()) >= limit) break;
      if (have.contains(p->product_id()) || !allowed(p->product_id())) continue;
      emit(p->product_id(), 0, "from the catalog");
    }
  }
}

}  // namespace journey::recommend
