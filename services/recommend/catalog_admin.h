// Admin operations on the catalogs: replace or extend the offer catalog (validated as a
// whole, versioned, swapped atomically) and upsert products. Applied catalogs are kept in
// Redis so every replica converges on the same version (see CatalogSync).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

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
  // Invalid input leaves the catalog untouched and comes back as valid=false with errors.
  absl::StatusOr<v1::ApplyOffersResponse> ApplyOffers(const v1::ApplyOffersRequest& request);
  absl::StatusOr<v1::UpsertProductsResponse> UpsertProducts(const v1::UpsertProductsRequest& request);

  // Background: adopts a newer catalog another replica applied. OK when nothing changed.
  absl::Status SyncFromRedis();

 private:
  std::string workspace_;
  storage::RedisClient* redis_;
  OfferCatalogStore* offers_;
  ProductCatalog* products_;
  std::mutex apply_mu_;  // one apply at a time per replica
};

}  // namespace journey::recommend
