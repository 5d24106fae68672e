#include "services/recommend/offer_catalog.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "absl/hash/hash.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/time_util.h"

namespace journey::recommend {
namespace {

using google::protobuf::Timestamp;
using google::protobuf::util::TimeUtil;

constexpr const char* kPlacementNames[] = {"any", "home", "product_page", "cart", "checkout", "email", "post_purchase"};
constexpr const char* kKindNames[] = {"unspecified", "content",        "product",  "discount", "free_shipping",
                                      "bundle",      "loyalty_reward", "referral", "survey"};

bool ParseKind(const std::string& name, v1::OfferKind* out) {
  for (int i = 1; i < static_cast<int>(std::size(kKindNames)); ++i) {
    if (name == kKindNames[i]) {
      *out = static_cast<v1::OfferKind>(i);
      return true;
    }
  }
  return false;
}

absl::Time ToAbslTime(const Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

bool IsStageName(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!(absl::ascii_isupper(c) || absl::ascii_isdigit(c) || c == '_')) return false;
  }
  return true;
}

std::string Where(size_t i, const v1::Offer& o) { return absl::StrCat("offers[", i, "] (id \"", o.id(), "\")"); }

// YAML helpers: each returns an error naming `path` when the node has the wrong shape.
absl::Status Scalar(const YAML::Node& n, const std::string& path, std::string* out) {
  if (!n.IsScalar()) return absl::InvalidArgumentError(absl::StrCat(path, ": want a scalar"));
  *out = n.Scalar();
  return absl::OkStatus();
}

template <typename T>
absl::Status Number(const YAML::Node& n, const std::string& path, T* out) {
  if (!n.IsScalar()) return absl::InvalidArgumentError(absl::StrCat(path, ": want a number"));
  try {
    *out = n.as<T>();
  } catch (const YAML::Exception&) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": \"", n.Scalar(), "\" is not a number"));
  }
  return absl::OkStatus();
}

absl::Status StringList(const YAML::Node& n, const std::string& path, std::vector<std::string>* out) {
  if (n.IsScalar()) {
    out->push_back(n.Scalar());
    return absl::OkStatus();
  }
  if (!n.IsSequence()) return absl::InvalidArgumentError(absl::StrCat(path, ": want a list"));
  for (size_t i = 0; i < n.size(); ++i) {
    if (!n[i].IsScalar()) return absl::InvalidArgumentError(absl::StrCat(path, "[", i, "]: want a string"));
    out->push_back(n[i].Scalar());
  }
  return absl::OkStatus();
}

absl::Status ParseOffer(const YAML::Node& node, const std::string& where, v1::Offer* o) {
  if (!node.IsMap()) return absl::InvalidArgumentError(absl::StrCat(where, ": want a mapping"));
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar();
    const YAML::Node& v = kv.second;
    const std::string path = absl::StrCat(where, ".", key);
    std::string s;
    std::vector<std::string> list;
    absl::Status st;
    if (key == "id") {
      st = Scalar(v, path, o->mutable_id());
    } else if (key == "title") {
      st = Scalar(v, path, o->mutable_title());
    } else if (key == "kind") {
      st = Scalar(v, path, &s);
      v1::OfferKind kind;
      if (st.ok() && !ParseKind(absl::AsciiStrToLower(s), &kind)) {
        st = absl::InvalidArgumentError(absl::StrCat(path, ": unknown kind \"", s, "\" (want one of content, product, discount, free_shipping, bundle, loyalty_reward, referral, survey)"));
      }
      if (st.ok()) o->set_kind(kind);
    } else if (key == "stages") {
      st = StringList(v, path, &list);
      for (auto& x : list) o->add_stages(absl::AsciiStrToUpper(x));
    } else if (key == "segments") {
      st = StringList(v, path, &list);
      for (auto& x : list) o->add_segments(x);
    } else if (key == "personas") {
      st = StringList(v, path, &list);
      for (auto& x : list) o->add_personas(x);
    } else if (key == "placements") {
      st = StringList(v, path, &list);
      for (size_t i = 0; st.ok() && i < list.size(); ++i) {
        v1::Placement p;
        if (!ParsePlacement(absl::AsciiStrToLower(list[i]), &p)) {
          st = absl::InvalidArgumentError(absl::StrCat(path, "[", i, "]: unknown placement \"", list[i],
                                                       "\" (want one of home, product_page, cart, checkout, email, post_purchase)"));
        } else {
          o->add_placements(p);
        }
      }
    } else if (key == "valid_from" || key == "valid_to") {
      st = Scalar(v, path, &s);
      Timestamp ts;
      if (st.ok() && !TimeUtil::FromString(s, &ts)) {
        st = absl::InvalidArgumentError(absl::StrCat(path, ": \"", s, "\" is not an RFC 3339 time"));
      }
      if (st.ok()) *(key == "valid_from" ? o->mutable_valid_from() : o->mutable_valid_to()) = ts;
    } else if (key == "priority") {
      int x = 0;
      st = Number(v, path, &x);
      o->set_priority(x);
    } else if (key == "weight") {
      double x = 0;
      st = Number(v, path, &x);
      o->set_weight(x);
    } else if (key == "consent_purpose") {
      st = Scalar(v, path, o->mutable_consent_purpose());
    } else if (key == "cap_per_day") {
      int x = 0;
      st = Number(v, path, &x);
      o->set_cap_per_day(x);
    } else if (key == "cap_lifetime") {
      int x = 0;
      st = Number(v, path, &x);
      o->set_cap_lifetime(x);
    } else if (key == "budget_conversions") {
      int64_t x = 0;
      st = Number(v, path, &x);
      o->set_budget_conversions(x);
    } else if (key == "attributes") {
      if (!v.IsMap()) {
        st = absl::InvalidArgumentError(absl::StrCat(path, ": want a mapping"));
      } else {
        for (const auto& a : v) {
          if (!a.second.IsScalar()) {
            st = absl::InvalidArgumentError(absl::StrCat(path, ".", a.first.Scalar(), ": want a scalar"));
            break;
          }
          (*o->mutable_attributes())[a.first.Scalar()] = a.second.Scalar();
        }
      }
    } else {
      st = absl::InvalidArgumentError(absl::StrCat(path, ": unknown field"));
    }
    if (!st.ok()) return st;
  }
  return absl::OkStatus();
}

}  // namespace

bool ParsePlacement(const std::string& name, v1::Placement* out) {
  for (int i = 1; i < static_cast<int>(std::size(kPlacementNames)); ++i) {
    if (name == kPlacementNames[i]) {
      *out = static_cast<v1::Placement>(i);
      return true;
    }
  }
  return false;
}

std::string PlacementName(v1::Placement placement) {
  int i = static_cast<int>(placement);
  return i >= 0 && i < static_cast<int>(std::size(kPlacementNames)) ? kPlacementNames[i] : "unknown";
}

std::string OfferKindName(v1::OfferKind kind) {
  int i = static_cast<int>(kind);
  return i >= 0 && i < static_cast<int>(std::size(kKindNames)) ? kKindNames[i] : "unknown";
}

absl::StatusOr<std::shared_ptr<const OfferCatalog>> OfferCatalog::Build(std::vector<v1::Offer> offers,
                                                                         int64_t version) {
  auto catalog = std::shared_ptr<OfferCatalog>(new OfferCatalog());
  catalog->version_ = version;
  catalog->offers_.reserve(offers.size());
  for (size_t i = 0; i < offers.size(); ++i) {
    v1::Offer& o = offers[i];
    const std::string where = Where(i, o);
    auto bad = [&](const std::string& field, const std::string& why) {
      return absl::InvalidArgumentError(absl::StrCat(where, ".", field, ": ", why));
    };
    if (o.id().empty()) return bad("id", "required");
    if (o.id().size() > 128) return bad("id", "longer than 128 characters");
    if (o.id().find('|') != std::string::npos) return bad("id", "must not contain '|'");
    if (catalog->by_id_.contains(o.id())) return bad("id", "duplicate offer id");
    if (o.kind() == v1::OFFER_KIND_UNSPECIFIED || !v1::OfferKind_IsValid(o.kind())) return bad("kind", "required");
    if (o.stages().empty()) return bad("stages", "at least one stage is required");
    for (auto& s : *o.mutable_stages()) {
      s = absl::AsciiStrToUpper(s);
      if (!IsStageName(s)) return bad("stages", absl::StrCat("\"", s, "\" is not a stage name (A-Z, 0-9, _)"));
    }
    CompiledOffer c;
    for (int p : o.placements()) {
      if (p <= 0 || !v1::Placement_IsValid(p)) return bad("placements", absl::StrCat("unknown placement ", p));
      c.placement_mask |= 1u << p;
    }
    if (o.weight() < 0) return bad("weight", "must be >= 0");
    if (o.weight() == 0) o.set_weight(1.0);  // unset in proto3 means the default weight
    if (o.cap_per_day() < 0) return bad("cap_per_day", "must be >= 0 (0 = no cap)");
    if (o.cap_lifetime() < 0) return bad("cap_lifetime", "must be >= 0 (0 = no cap)");
    if (o.budget_conversions() < 0) return bad("budget_conversions", "must be >= 0 (0 = no budget)");
    if (o.has_valid_from()) c.valid_from = ToAbslTime(o.valid_from());
    if (o.has_valid_to()) c.valid_to = ToAbslTime(o.valid_to());
    if (c.valid_from >= c.valid_to) return bad("valid_to", "must be after valid_from");
    if (o.title().empty()) o.set_title(o.id());
    c.id_hash = OfferIdHash(o.id());
    c.has_audience = !o.segments().empty() || !o.personas().empty();
    c.needs_customer_state = c.has_audience || !o.consent_purpose().empty() || o.cap_per_day() > 0 || o.cap_lifetime() > 0;
    if (o.kind() == v1::OFFER_KIND_PRODUCT) {
      auto product = o.attributes().find("product_id");
      if (product != o.attributes().end()) c.product_id = product->second;
    }
    const uint32_t index = static_cast<uint32_t>(catalog->offers_.size());
    catalog->by_id_[o.id()] = index;
    std::set<std::string> stages(o.stages().begin(), o.stages().end());
    for (int p = 0; p < kPlacements; ++p) {
      // UNSPECIFIED asks for every offer; an offer without placements fits every placement.
      const bool fits = p == 0 || c.placement_mask == 0 || (c.placement_mask & (1u << p)) != 0;
      if (!fits) continue;
      for (const auto& s : stages) catalog->by_stage_placement_[s][p].push_back(index);
      if (!c.needs_customer_state) catalog->degraded_by_placement_[p].push_back(index);
    }
    c.offer = std::move(o);
    catalog->offers_.push_back(std::move(c));
  }
  // Equal scores are ordered by id; comparing ranks instead of strings keeps the ranker's
  // sort free of string compares.
  std::vector<uint32_t> by_id(catalog->offers_.size());
  for (uint32_t i = 0; i < by_id.size(); ++i) by_id[i] = i;
  std::sort(by_id.begin(), by_id.end(), [&](uint32_t a, uint32_t b) {
    return catalog->offers_[a].offer.id() < catalog->offers_[b].offer.id();
  });
  for (uint32_t rank = 0; rank < by_id.size(); ++rank) catalog->offers_[by_id[rank]].id_order = rank;
  return std::shared_ptr<const OfferCatalog>(std::move(catalog));
}

uint64_t OfferIdHash(absl::string_view offer_id) { return absl::Hash<absl::string_view>()(offer_id); }

const std::vector<uint32_t>& OfferCatalog::Candidates(const std::string& stage, v1::Placement placement) const {
  static const std::vector<uint32_t> kNone;
  const int p = static_cast<int>(placement);
  if (p < 0 || p >= kPlacements) return kNone;
  auto it = by_stage_placement_.find(stage);
  return it == by_stage_placement_.end() ? kNone : it->second[p];
}

const std::vector<uint32_t>& OfferCatalog::DegradedCandidates(v1::Placement placement) const {
  static const std::vector<uint32_t> kNone;
  const int p = static_cast<int>(placement);
  return p < 0 || p >= kPlacements ? kNone : degraded_by_placement_[p];
}

const CompiledOffer* OfferCatalog::Find(const std::string& offer_id) const {
  auto it = by_id_.find(offer_id);
  return it == by_id_.end() ? nullptr : &offers_[it->second];
}

absl::StatusOr<std::vector<v1::Offer>> ParseOffersYaml(const std::string& text, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": not valid YAML: ", e.what()));
  }
  if (!root.IsMap()) return absl::InvalidArgumentError(absl::StrCat(source, ": want a mapping with key \"offers\""));
  std::vector<v1::Offer> out;
  for (const auto& kv : root) {
    const std::string key = kv.first.Scalar();
    if (key == "version") continue;  // informational; the service numbers versions itself
    if (key != "offers") return absl::InvalidArgumentError(absl::StrCat(source, ": ", key, ": unknown field"));
    if (!kv.second.IsSequence()) return absl::InvalidArgumentError(absl::StrCat(source, ": offers: want a list"));
    for (size_t i = 0; i < kv.second.size(); ++i) {
      v1::Offer o;
      if (auto st = ParseOffer(kv.second[i], absl::StrCat("offers[", i, "]"), &o); !st.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(source, ": ", st.message()));
      }
      out.push_back(std::move(o));
    }
  }
  if (!root["offers"]) return absl::InvalidArgumentError(absl::StrCat(source, ": offers: required"));
  return out;
}

absl::StatusOr<std::vector<v1::Offer>> LoadOffersFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open offer catalog"));
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseOffersYaml(ss.str(), path);
}

}  // namespace journey::recommend
