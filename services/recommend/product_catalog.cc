#include "services/recommend/product_catalog.h"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace journey::recommend {
namespace {

bool ParseBool(const std::string& s, bool* out) {
  const std::string v = absl::AsciiStrToLower(s);
  if (v == "true" || v == "1" || v == "yes") return *out = true, true;
  if (v == "false" || v == "0" || v == "no") return *out = false, true;
  return false;
}

// Sets one known field from its text form; unknown keys become attributes.
absl::Status SetField(const std::string& key, const std::string& value, const std::string& where, v1::ProductInfo* p) {
  if (key == "product_id" || key == "id") {
    p->set_product_id(value);
  } else if (key == "category") {
    p->set_category(value);
  } else if (key == "brand") {
    p->set_brand(value);
  } else if (key == "name") {
    p->set_name(value);
  } else if (key == "price") {
    double x = 0;
    if (!value.empty() && !absl::SimpleAtod(value, &x)) {
      return absl::InvalidArgumentError(absl::StrCat(where, ".price: \"", value, "\" is not a number"));
    }
    p->set_price(x);
  } else if (key == "in_stock" || key == "repurchasable") {
    bool b = key == "in_stock";
    if (!value.empty() && !ParseBool(value, &b)) {
      return absl::InvalidArgumentError(absl::StrCat(where, ".", key, ": \"", value, "\" is not a boolean"));
    }
    key == "in_stock" ? p->set_in_stock(b) : p->set_repurchasable(b);
  } else {
    (*p->mutable_attributes())[key] = value;
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ProductCatalog::Upsert(const std::vector<v1::ProductInfo>& products) {
  for (size_t i = 0; i < products.size(); ++i) {
    if (products[i].product_id().empty()) {
      return absl::InvalidArgumentError(absl::StrCat("products[", i, "].product_id: required"));
    }
    if (products[i].price() < 0) {
      return absl::InvalidArgumentError(absl::StrCat("products[", i, "].price: must be >= 0"));
    }
  }
  absl::MutexLock write_lock(&write_mu_);
  auto next = std::make_shared<Table>(*Snapshot());
  for (const auto& p : products) {
    auto [it, inserted] = next->products_.try_emplace(p.product_id());
    if (inserted) next->order_.push_back(p.product_id());
    it->second = std::make_shared<const v1::ProductInfo>(p);
  }
  absl::MutexLock lock(&mu_);
  table_ = std::move(next);
  return absl::OkStatus();
}

std::shared_ptr<const ProductCatalog::Table> ProductCatalog::Snapshot() const {
  absl::ReaderMutexLock lock(&mu_);
  return table_;
}

ProductCatalog::Product ProductCatalog::Find(const std::string& product_id) const {
  std::shared_ptr<const Table> table = Snapshot();
  auto it = table->products_.find(product_id);
  return it == table->products_.end() ? nullptr : it->second;
}

const v1::ProductInfo* ProductCatalog::Table::Find(absl::string_view product_id) const {
  auto it = products_.find(product_id);
  return it == products_.end() ? nullptr : it->second.get();
}

std::vector<const v1::ProductInfo*> ProductCatalog::Table::Some(size_t n) const {
  std::vector<const v1::ProductInfo*> out;
  for (const auto& id : order_) {
    if (out.size() >= n) break;
    const v1::ProductInfo* p = Find(id);
    if (p->in_stock()) out.push_back(p);
  }
  return out;
}

absl::StatusOr<std::vector<v1::ProductInfo>> ParseProductsCsv(const std::string& text, const std::string& source) {
  std::vector<std::string> lines = absl::StrSplit(text, '\n', absl::SkipWhitespace());
  if (lines.empty()) return absl::InvalidArgumentError(absl::StrCat(source, ": empty (want a header line)"));
  std::vector<std::string> header = absl::StrSplit(absl::StripAsciiWhitespace(lines[0]), ',');
  for (auto& h : header) h = std::string(absl::StripAsciiWhitespace(h));
  if (std::find(header.begin(), header.end(), "product_id") == header.end()) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": header: column product_id is required"));
  }
  std::vector<v1::ProductInfo> out;
  for (size_t n = 1; n < lines.size(); ++n) {
    std::vector<std::string> cells = absl::StrSplit(absl::StripAsciiWhitespace(lines[n]), ',');
    const std::string where = absl::StrCat(source, ": line ", n + 1);
    if (cells.size() != header.size()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": ", cells.size(), " columns, header has ", header.size()));
    }
    v1::ProductInfo p;
    p.set_in_stock(true);
    for (size_t c = 0; c < cells.size(); ++c) {
      if (auto st = SetField(header[c], std::string(absl::StripAsciiWhitespace(cells[c])), where, &p); !st.ok()) return st;
    }
    if (p.product_id().empty()) return absl::InvalidArgumentError(absl::StrCat(where, ".product_id: required"));
    out.push_back(std::move(p));
  }
  return out;
}

absl::StatusOr<std::vector<v1::ProductInfo>> ParseProductsJson(const std::string& text, const std::string& source) {
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return absl::InvalidArgumentError(absl::StrCat(source, ": not valid JSON"));
  if (doc.is_object() && doc.contains("products")) doc = doc["products"];
  if (!doc.is_array()) return absl::InvalidArgumentError(absl::StrCat(source, ": want an array of products"));
  std::vector<v1::ProductInfo> out;
  for (size_t i = 0; i < doc.size(); ++i) {
    const std::string where = absl::StrCat(source, ": products[", i, "]");
    if (!doc[i].is_object()) return absl::InvalidArgumentError(absl::StrCat(where, ": want an object"));
    v1::ProductInfo p;
    p.set_in_stock(true);
    for (const auto& [key, value] : doc[i].items()) {
      std::string text_value = value.is_string() ? value.get<std::string>() : value.dump();
      if (auto st = SetField(key, text_value, where, &p); !st.ok()) return st;
    }
    if (p.product_id().empty()) return absl::InvalidArgumentError(absl::StrCat(where, ".product_id: required"));
    out.push_back(std::move(p));
  }
  return out;
}

absl::StatusOr<std::vector<v1::ProductInfo>> LoadProductsFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open product catalog"));
  std::stringstream ss;
  ss << in.rdbuf();
  return absl::EndsWith(path, ".json") ? ParseProductsJson(ss.str(), path) : ParseProductsCsv(ss.str(), path);
}

}  // namespace journey::recommend
