// Products upserted on one recommend replica reach the others through Redis: the products
// hash and its version counter, which every replica's catalog sync follows.
#include <gtest/gtest.h>

#include "common/storage/hiredis_client.h"
#include "services/recommend/catalog_admin.h"
#include "tests/testing/redis_server.h"

namespace journey::recommend {
namespace {

v1::ProductInfo Product(const std::string& id, const std::string& category, double price) {
  v1::ProductInfo p;
  p.set_product_id(id);
  p.set_category(category);
  p.set_price(price);
  p.set_in_stock(true);
  return p;
}

TEST(ProductSyncTest, AnUpsertOnOneReplicaReachesTheOthersAndANewReplicaLoadsAll) {
  testing::RedisServer redis_server;
  ASSERT_TRUE(redis_server.Start().ok());
  auto redis = storage::HiredisClient::FromUrl(redis_server.url());
  ASSERT_TRUE(redis.ok());
  OfferCatalogStore offers_a(*OfferCatalog::Build({}, 0)), offers_b(*OfferCatalog::Build({}, 0));
  ProductCatalog products_a, products_b;
  CatalogAdmin a("default", redis->get(), &offers_a, &products_a);
  CatalogAdmin b("default", redis->get(), &offers_b, &products_b);
  ASSERT_TRUE(b.SyncFromRedis().ok()) << "nothing stored yet is not an error";
  EXPECT_EQ(products_b.size(), 0u);

  v1::UpsertProductsRequest upsert;
  for (int i = 0; i < 2500; ++i) *upsert.add_products() = Product("p-" + std::to_string(i), "shoes", 10 + i);
  ASSERT_TRUE(a.UpsertProducts(upsert).ok());
  EXPECT_EQ(products_a.size(), 2500u);
  EXPECT_EQ(products_b.size(), 0u) << "replica b has not synced yet";
  ASSERT_TRUE(b.SyncFromRedis().ok());
  ASSERT_EQ(products_b.size(), 2500u) << "every HSCAN page was read";
  ASSERT_NE(products_b.Find("p-2499"), nullptr);
  EXPECT_DOUBLE_EQ(products_b.Find("p-2499")->price(), 2509);

  // A change of a known product, and one new product.
  v1::UpsertProductsRequest change;
  *change.add_products() = Product("p-7", "boots", 99);
  *change.add_products() = Product("p-new", "socks", 3);
  ASSERT_TRUE(a.UpsertProducts(change).ok());
  ASSERT_TRUE(b.SyncFromRedis().ok());
  EXPECT_EQ(products_b.size(), 2501u);
  EXPECT_EQ(products_b.Find("p-7")->category(), "boots");
  EXPECT_NE(products_b.Find("p-new"), nullptr);

  // A replica started later loads everything on its first sync.
  OfferCatalogStore offers_c(*OfferCatalog::Build({}, 0));
  ProductCatalog products_c;
  CatalogAdmin c("default", redis->get(), &offers_c, &products_c);
  ASSERT_TRUE(c.SyncFromRedis().ok());
  EXPECT_EQ(products_c.size(), 2501u);
  EXPECT_EQ(products_c.Find("p-7")->category(), "boots");
}

}  // namespace
}  // namespace journey::recommend
