#include "services/recommend/product_catalog.h"

#include <gtest/gtest.h>

namespace journey::recommend {
namespace {

TEST(ProductCatalogTest, CsvWithHeaderAndAttributes) {
  auto p = ParseProductsCsv("product_id,category,brand,price,in_stock,color\np1,shoes,acme,9.5,false,red\np2,hats,,1,,\n", "p.csv");
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->size(), 2u);
  EXPECT_EQ((*p)[0].category(), "shoes");
  EXPECT_DOUBLE_EQ((*p)[0].price(), 9.5);
  EXPECT_FALSE((*p)[0].in_stock());
  EXPECT_TRUE((*p)[1].in_stock());  // default when the cell is empty
  EXPECT_EQ((*p)[0].attributes().at("color"), "red");
}

TEST(ProductCatalogTest, CsvErrorsNameLineAndField) {
  auto p = ParseProductsCsv("product_id,price\np1,cheap\n", "p.csv");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("p.csv: line 2.price: \"cheap\" is not a number"), std::string::npos) << p.status();
  EXPECT_FALSE(ParseProductsCsv("sku,price\n", "p.csv").ok());
}

TEST(ProductCatalogTest, JsonAndUpsert) {
  auto p = ParseProductsJson(R"([{"product_id": "p1", "price": 3, "in_stock": false, "repurchasable": true}])", "p.json");
  ASSERT_TRUE(p.ok()) << p.status();
  ProductCatalog catalog;
  ASSERT_TRUE(catalog.Upsert(*p).ok());
  auto found = catalog.Find("p1");
  ASSERT_NE(found, nullptr);
  EXPECT_FALSE(found->in_stock());
  EXPECT_TRUE(found->repurchasable());
  v1::ProductInfo restock = *found;
  restock.set_in_stock(true);
  ASSERT_TRUE(catalog.Upsert({restock}).ok());
  EXPECT_TRUE(catalog.Find("p1")->in_stock());
  EXPECT_EQ(catalog.size(), 1u);
  EXPECT_FALSE(catalog.Upsert({v1::ProductInfo()}).ok());
}

}  // namespace
}  // namespace journey::recommend
