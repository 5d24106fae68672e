// The product catalog: what the recommender knows about each product (category, brand,
// price, stock, whether repurchase makes sense). Bulk-loaded from a CSV or JSON file and
// upserted through the admin RPC; products it does not know are still recommendable.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "journey/recommend/v1/recommend.pb.h"

namespace journey::recommend {

class ProductCatalog {
 public:
  using Product = std::shared_ptr<const v1::ProductInfo>;

  // One immutable version of the catalog. A request takes the current table once and
  // reads it without locks; an upsert publishes a new table (copy on write: upserts are
  // rare admin calls, reads are every request).
  class Table {
   public:
    const v1::ProductInfo* Find(absl::string_view product_id) const;
    size_t size() const { return products_.size(); }
    // Up to `n` products in stock, in load order (cold start before anything was learned).
    std::vector<const v1::ProductInfo*> Some(size_t n) const;

   private:
    friend class ProductCatalog;
    absl::flat_hash_map<std::string, Product> products_;
    std::vector<std::string> order_;  // ids in load order
  };

  ProductCatalog() : table_(std::make_shared<const Table>()) {}

  // Validates and stores; the error names the product index and field.
  absl::Status Upsert(const std::vector<v1::ProductInfo>& products);
  std::shared_ptr<const Table> Snapshot() const;
  Product Find(const std::string& product_id) const;
  size_t size() const { return Snapshot()->size(); }

 private:
  mutable absl::Mutex mu_;
  std::shared_ptr<const Table> table_ ABSL_GUARDED_BY(mu_);
  absl::Mutex write_mu_;  // one upsert at a time (each copies the current table)
};

// CSV with a header naming columns (product_id required; category, brand, price, in_stock,
// name, repurchasable optional; other columns become attributes), or a JSON array of
// objects with the same keys. The format follows the file extension.
absl::StatusOr<std::vector<v1::ProductInfo>> ParseProductsCsv(const std::string& text, const std::string& source);
absl::StatusOr<std::vector<v1::ProductInfo>> ParseProductsJson(const std::string& text, const std::string& source);
absl::StatusOr<std::vector<v1::ProductInfo>> LoadProductsFile(const std::string& path);

}  // namespace journey::recommend
