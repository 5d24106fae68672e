#include "services/recommend/catalog_admin.h"

#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/storage/keys.h"
#include "services/recommend/offer_catalog.h"

namespace journey::recommend {
namespace {

// Bumps the version and stores the document together, so readers never see a version
// without its document. Returns the new version.
constexpr const char* kStoreCatalog =
    "local v = redis.call('HINCRBY', KEYS[1], 'version', 1) "
    "redis.call('HSET', KEYS[1], 'doc', ARGV[1]) return v";

}  // namespace

v1::ListOffersResponse CatalogAdmin::ListOffers() const {
  auto catalog = offers_->Get();
  v1::ListOffersResponse out;
  out.set_version(catalog->version());
  for (const auto& c : catalog->offers()) *out.add_offers() = c.offer;
  return out;
}

absl::StatusOr<v1::ApplyOffersResponse> CatalogAdmin::ApplyOffers(const v1::ApplyOffersRequest& request) {
  std::lock_guard<std::mutex> lock(apply_mu_);
  v1::ApplyOffersResponse out;
  std::vector<v1::Offer> incoming(request.offers().begin(), request.offers().end());
  if (!request.yaml().empty()) {
    auto parsed = ParseOffersYaml(request.yaml(), "yaml");
    if (!parsed.ok()) {
      out.set_valid(false);
      out.add_errors(std::string(parsed.status().message()));
      return out;
    }
    incoming.insert(incoming.end(), parsed->begin(), parsed->end());
  }
  auto current = offers_->Get();
  std::vector<v1::Offer> merged;
  if (request.replace_all()) {
    merged = std::move(incoming);
  } else {
    // Upsert by id, keeping the order of the existing catalog.
    std::map<std::string, size_t> index;
    for (const auto& c : current->offers()) {
      index[c.offer.id()] = merged.size();
      merged.push_back(c.offer);
    }
    for (auto& o : incoming) {
      auto it = index.find(o.id());
      if (it != index.end()) {
        merged[it->second] = std::move(o);
      } else {
        index[o.id()] = merged.size();
        merged.push_back(std::move(o));
      }
    }
  }
  auto built = OfferCatalog::Build(merged, current->version() + 1);
  if (!built.ok()) {
    out.set_valid(false);
    out.add_errors(std::string(built.status().message()));
    out.set_version(current->version());
    return out;
  }
  int64_t version = current->version() + 1;
  if (redis_ != nullptr) {
    v1::ListOffersResponse doc;
    for (const auto& o : merged) *doc.add_offers() = o;
    auto stored = redis_->Command({"EVAL", kStoreCatalog, "1", keys::RecommendOfferCatalog(workspace_), doc.SerializeAsString()});
    if (!stored.ok()) return absl::UnavailableError(absl::StrCat("storing the offer catalog: ", stored.status().message()));
    // The stored counter is the cluster-wide version; it may be ahead of ours.
    version = std::max(version, static_cast<int64_t>(stored->integer));
    built = OfferCatalog::Build(std::move(merged), version);
    if (!built.ok()) return built.status();
  }
  offers_->Set(*built);
  log::Info("offer catalog applied", {{"version", std::to_string(version)}, {"offers", std::to_string((*built)->offers().size())}});
  out.set_valid(true);
  out.set_version(version);
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
