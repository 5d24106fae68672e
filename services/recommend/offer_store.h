// Holds the current offer catalog snapshot. A reload builds a whole new catalog and swaps
// the pointer; a request keeps the snapshot it started with, so no request ever sees a
// half-applied catalog or waits for a reload.
#pragma once

#include <memory>
#include <mutex>

#include "services/recommend/offer_catalog.h"

namespace journey::recommend {

class OfferCatalogStore {
 public:
  explicit OfferCatalogStore(std::shared_ptr<const OfferCatalog> initial) : current_(std::move(initial)) {}

  std::shared_ptr<const OfferCatalog> Get() const {
    std::lock_guard<std::mutex> lock(mu_);
    return current_;
  }
  void Set(std::shared_ptr<const OfferCatalog> catalog) {
    std::lock_guard<std::mutex> lock(mu_);
    current_ = std::move(catalog);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const OfferCatalog> current_;
};

}  // namespace journey::recommend
