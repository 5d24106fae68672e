#include "services/recommend/catalog_admin.h"

#include <algorithm>
#include <map>
#include <set>

#include <google/protobuf/util/message_differencer.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/storage/keys.h"
#include "services/recommend/offer_catalog.h"

namespace journey::recommend {
namespace {

// Stores a new catalog only if the stored version is still ARGV[1] ('' = none stored), as
// version max(stored + 1, ARGV[2]) with document ARGV[3]. Returns the new version, or -1
// when another change came first.
constexpr const char* kStoreCatalogIfUnchanged =
    "local cur = redis.call('HGET', KEYS[1], 'version') "
    "if (cur or '') ~= ARGV[1] then return -1 end "
    "local v = math.max((tonumber(cur) or 0) + 1, tonumber(ARGV[2])) "
    "redis.call('HSET', KEYS[1], 'version', v, 'doc', ARGV[3]) return v";

// Changes that lost the race to another change are computed again on the newer catalog.
constexpr int kCommitAttempts = 8;
// The most offers one apply may carry (a catalog is held in every replica's memory).
constexpr int kMaxOffersPerCall = 10000;

// The offers as the catalog holds them (defaults filled in, stages upper case), so that a
// file's offer and the same offer applied as YAML compare equal.
std::vector<v1::Offer> Normalized(const std::vector<v1::Offer>& offers) {
  auto built = OfferCatalog::Build(offers, 0);
  if (!built.ok()) return offers;
  std::vector<v1::Offer> out;
  out.reserve((*built)->offers().size());
  for (const auto& c : (*built)->offers()) out.push_back(c.offer);
  return out;
}

void Describe(const std::vector<v1::Offer>& base, const std::vector<v1::Offer>& next, v1::ApplyOffersResponse* out) {
  std::map<std::string, const v1::Offer*> before;
  for (const auto& o : base) before[o.id()] = &o;
  std::set<std::string> kept;
  int32_t unchanged = 0;
  for (const auto& o : next) {
    kept.insert(o.id());
    auto it = before.find(o.id());
    if (it == before.end()) {
      out->add_added(o.id());
    } else if (!google::protobuf::util::MessageDifferencer::Equals(*it->second, o)) {
      out->add_changed(o.id());
    } else {
      ++unchanged;
    }
  }
  for (const auto& o : base) {
    if (!kept.count(o.id())) out->add_removed(o.id());
  }
  out->set_unchanged(unchanged);
  out->set_offers(static_cast<int32_t>(next.size()));
}

}  // namespace

v1::ListOffersResponse CatalogAdmin::ListOffers() const {
  auto catalog = offers_->Get();
  v1::ListOffersResponse out;
  out.set_version(catalog->version());
  for (const auto& c : catalog->offers()) *out.add_offers() = c.offer;
  return out;
}

absl::StatusOr<v1::ApplyOffersResponse> CatalogAdmin::Commit(const Change& change, bool dry_run) {
  std::lock_guard<std::mutex> lock(apply_mu_);
  for (int attempt = 0; attempt < kCommitAttempts; ++attempt) {
    auto local = offers_->Get();
    std::string stored_version;  // '' = nothing stored: this replica's catalog (from its file) is the base
    std::vector<v1::Offer> base;
    if (redis_ != nullptr) {
      auto reply = redis_->Command({"HMGET", keys::RecommendOfferCatalog(workspace_), "version", "doc"});
      if (!reply.ok()) return absl::UnavailableError(absl::StrCat("reading the offer catalog: ", reply.status().message()));
      if (reply->elements.size() == 2 && !reply->elements[0].is_nil()) {
        stored_version = reply->elements[0].str;
        v1::ListOffersResponse doc;
        if (!doc.ParseFromString(reply->elements[1].str)) return absl::DataLossError("stored offer catalog does not parse");
        base.assign(doc.offers().begin(), doc.offers().end());
      }
    }
    if (stored_version.empty()) {
      for (const auto& c : local->offers()) base.push_back(c.offer);
    }
    int64_t stored = 0;
    if (!stored_version.empty() && !absl::SimpleAtoi(stored_version, &stored)) {
      return absl::DataLossError(absl::StrCat("stored offer catalog version '", stored_version, "' is not a number"));
    }
    // The stored counter is the cluster-wide version; this replica's may be ahead (a file).
    const int64_t next_version = std::max(stored, local->version()) + 1;
    auto next = change(base);
    if (!next.ok()) return next.status();
    v1::ApplyOffersResponse out;
    auto built = OfferCatalog::Build(*next, next_version);
    if (!built.ok()) {
      out.set_valid(false);
      out.add_errors(std::string(built.status().message()));
      out.set_version(std::max(stored, local->version()));
      return out;
    }
    out.set_valid(true);
    Describe(Normalized(base), Normalized(*next), &out);
    out.set_version(next_version);
    if (dry_run) return out;
    int64_t version = next_version;
    if (redis_ != nullptr) {
      v1::ListOffersResponse doc;
      for (const auto& o : *next) *doc.add_offers() = o;
      auto reply = redis_->Command({"EVAL", kStoreCatalogIfUnchanged, "1", keys::RecommendOfferCatalog(workspace_),
                                    stored_version, std::to_string(next_version), doc.SerializeAsString()});
      if (!reply.ok()) return absl::UnavailableError(absl::StrCat("storing the offer catalog: ", reply.status().message()));
      if (reply->integer < 0) continue;  // changed under us: compute again on the newer catalog
      version = reply->integer;
      if (version != next_version) {
        built = OfferCatalog::Build(*std::move(next), version);
        if (!built.ok()) return built.status();
      }
    }
    if (version > offers_->Get()->version()) offers_->Set(*built);
    log::Info("offer catalog applied", {{"version", std::to_string(version)},
                                        {"offers", std::to_string((*built)->offers().size())}});
    out.set_version(version);
    return out;
  }
  return absl::AbortedError(absl::StrCat("offers: the stored catalog changed during each of ", kCommitAttempts,
                                         " attempts; retry"));
}

absl::StatusOr<v1::ApplyOffersResponse> CatalogAdmin::ApplyOrValidate(const v1::ApplyOffersRequest& request,
                                                                       bool dry_run) {
  if (request.offers().empty() && request.yaml().empty() && !request.replace_all()) {
    return absl::InvalidArgumentError("yaml: nothing to apply (set yaml or offers; replace_all alone empties the catalog)");
  }
  if (request.offers_size() > kMaxOffersPerCall) {
    return absl::InvalidArgumentError(absl::StrCat("offers: more than ", kMaxOffersPerCall, " in one call"));
  }
  std::vector<v1::Offer> incoming(request.offers().begin(), request.offers().end());
  if (!request.yaml().empty()) {
    auto parsed = ParseOffersYaml(request.yaml(), "yaml");
    if (!parsed.ok()) {
      v1::ApplyOffersResponse out;
      out.set_valid(false);
      out.add_errors(std::string(parsed.status().message()));
      out.set_version(offers_->Get()->version());
      return out;
    }
    incoming.insert(incoming.end(), parsed->begin(), parsed->end());
  }
  // An id twice in one request is a mistake in the file, not an update of itself.
  std::map<std::string, size_t> first_at;
  for (size_t i = 0; i < incoming.size(); ++i) {
    if (first_at.emplace(incoming[i].id(), i).second) continue;
    const int from_offers = request.offers_size();
    const std::string where = static_cast<int>(i) < from_offers ? absl::StrCat("offers[", i, "]")
                                                                : absl::StrCat("yaml: offers[", i - from_offers, "]");
    v1::ApplyOffersResponse out;
    out.set_valid(false);
    out.add_errors(absl::StrCat(where, " (id \"", incoming[i].id(), "\").id: duplicate offer id in the request"));
    out.set_version(offers_->Get()->version());
    return out;
  }
  const bool replace_all = request.replace_all();
  return Commit(
      [&incoming, replace_all](const std::vector<v1::Offer>& base) -> absl::StatusOr<std::vector<v1::Offer>> {
        if (replace_all) return incoming;
        // Upsert by id, keeping the order of the existing catalog.
        std::vector<v1::Offer> merged = base;
        std::map<std::string, size_t> index;
        for (size_t i = 0; i < merged.size(); ++i) index[merged[i].id()] = i;
        for (const auto& o : incoming) {
          auto it = index.find(o.id());
          if (it != index.end()) {
            merged[it->second] = o;
          } else {
            index[o.id()] = merged.size();
            merged.push_back(o);
          }
        }
        return merged;
      },
      dry_run);
}

absl::StatusOr<v1::ApplyOffersResponse> CatalogAdmin::ApplyOffers(const v1::ApplyOffersRequest& request) {
  return ApplyOrValidate(request, /*dry_run=*/false);
}

absl::StatusOr<v1::ApplyOffersResponse> CatalogAdmin::ValidateOffers(const v1::ApplyOffersRequest& request) {
  return ApplyOrValidate(request, /*dry_run=*/true);
}

absl::StatusOr<v1::DeleteOfferResponse> CatalogAdmin::DeleteOffer(const v1::DeleteOfferRequest& request) {
  const std::string& id = request.offer_id();
  if (id.empty()) return absl::InvalidArgumentError("offer_id: required");
  auto committed = Commit(
      [&id](const std::vector<v1::Offer>& base) -> absl::StatusOr<std::vector<v1::Offer>> {
        std::vector<v1::Offer> kept;
        for (const auto& o : base) {
          if (o.id() != id) kept.push_back(o);
        }
        if (kept.size() == base.size()) {
          return absl::NotFoundError(absl::StrCat("offer_id: the catalog has no offer '", id, "'"));
        }
        return kept;
      },
      /*dry_run=*/false);
  if (!committed.ok()) return committed.status();
  if (!committed->valid()) {
    return absl::InternalError(absl::StrCat("the catalog without offer '", id, "' does not validate: ",
                                            committed->errors().empty() ? "" : committed->errors(0)));
  }
  v1::DeleteOfferResponse out;
  out.set_version(committed->version());
  out.set_offers(committed->offers());
  log::Info("offer deleted", {{"offer_id", id}, {"version", std::to_string(committed->version())}});
  return out;
}

absl::StatusOr<v1::UpsertProductsResponse> CatalogAdmin::UpsertProducts(const v1::UpsertProductsRequest& request) {
  if (request.products_size() > 10000) return absl::InvalidArgumentError("products: more than 10000 in one call");
  std::vector<v1::ProductInfo> products(request.products().begin(), request.products().end());
  if (auto st = products_->Upsert(products); !st.ok()) return st;
  if (redis_ != nullptr && !products.empty()) {
    storage::RedisCommand hset = {"HSET", keys::RecommendProducts(workspace_)};
    for (const auto& p : products) {
      hset.push_back(p.product_id());
      hset.push_back(p.SerializeAsString());
    }
    auto stored = redis_->Command(std::move(hset));
    if (!stored.ok()) return absl::UnavailableError(absl::StrCat("storing products: ", stored.status().message()));
  }
  v1::UpsertProductsResponse out;
  out.set_upserted(static_cast<int64_t>(products.size()));
  return out;
}

absl::Status CatalogAdmin::SyncFromRedis() {
  if (redis_ == nullptr) return absl::OkStatus();
  auto version = redis_->Command({"HGET", keys::RecommendOfferCatalog(workspace_), "version"});
  if (!version.ok()) return version.status();
  int64_t v = 0;
  if (version->is_nil() || !absl::SimpleAtoi(version->str, &v) || v <= offers_->Get()->version()) return absl::OkStatus();
  auto reply = redis_->Command({"HMGET", keys::RecommendOfferCatalog(workspace_), "version", "doc"});
  if (!reply.ok()) return reply.status();
  if (!reply->is_array() || reply->elements.size() != 2 || !absl::SimpleAtoi(reply->elements[0].str, &v)) {
    return absl::OkStatus();
  }
  std::lock_guard<std::mutex> lock(apply_mu_);
  if (v <= offers_->Get()->version()) return absl::OkStatus();
  v1::ListOffersResponse doc;
  if (!doc.ParseFromString(reply->elements[1].str)) return absl::DataLossError("stored offer catalog does not parse");
  auto built = OfferCatalog::Build({doc.offers().begin(), doc.offers().end()}, v);
  if (!built.ok()) return built.status();
  offers_->Set(*built);
  log::Info("offer catalog reloaded", {{"version", std::to_string(v)}});
  return absl::OkStatus();
}

}  // namespace journey::recommend
