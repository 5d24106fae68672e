// Admin operations on the catalogs: replace, extend, validate or shrink the offer catalog
// (validated as a whole, versioned, swapped atomically) and upsert products. Applied catalogs
// are kept in Redis so every replica converges on the same version (SyncFromRedis). A change
// is computed on the stored catalog and stored only if that is still the stored one
// (compare-and-set on the version, retried), so concurrent changes on different replicas
// never undo each other.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/storage/redis_client.h"
#include "journey/recommend/v1/recommend.pb.h"
#include "services/recommend/offer_store.h"
#include "services/recommend/product_catalog.h"

namespace journey::recommend {

class CatalogAdmin {
 public:
  // `redis` may be null (tests, or a deployment that only uses files).
  CatalogAdmin(std::string workspace, storage::RedisClient* redis, OfferCatalogStore* offers, ProductCatalog* products)
      : workspace_(std::move(workspace)), redis_(redis), offers_(offers), products_(products) {}

  v1::ListOffersResponse ListOffers() const;
  // Invalid input leaves the catalog untouched and comes back as valid=false with errors;
  // a request with nothing to apply, or too many offers, is InvalidArgument.
  absl::StatusOr<v1::ApplyOffersResponse> ApplyOffers(const v1::ApplyOffersRequest& request);
  // The answer ApplyOffers would give now (version, added/changed/removed); writes nothing.
  absl::StatusOr<v1::ApplyOffersResponse> ValidateOffers(const v1::ApplyOffersRequest& request);
  // Removes one offer. NotFound naming the id when the stored catalog lacks it.
  absl::StatusOr<v1::DeleteOfferResponse> DeleteOffer(const v1::DeleteOfferRequest& request);
  absl::StatusOr<v1::UpsertProductsResponse> UpsertProducts(const v1::UpsertProductsRequest& request);

  // Background: adopts a newer catalog another replica applied. OK when nothing changed.
  absl::Status SyncFromRedis();

 private:
  // The offers of the catalog to change -> the offers of the catalog to store (an error
  // status ends the call with it).
  using Change = std::function<absl::StatusOr<std::vector<v1::Offer>>(const std::vector<v1::Offer>& base)>;
  // Reads the stored catalog (this replica's when none is stored), applies `change`,
  // validates, and unless `dry_run` stores it and installs it here.
  absl::StatusOr<v1::ApplyOffersResponse> Commit(const Change& change, bool dry_run);
  absl::StatusOr<v1::ApplyOffersResponse> ApplyOrValidate(const v1::ApplyOffersRequest& request, bool dry_run);

  std::string workspace_;
  storage::RedisClient* redis_;
  OfferCatalogStore* offers_;
  ProductCatalog* products_;
  std::mutex apply_mu_;  // one apply at a time per replica
};

}  // namespace journey::recommend
