#include "services/ingest/segment_json.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/number/whole_number.h"
#include "common/time/proto_time.h"

namespace journey::ingest {
namespace {

using journey::common::v1::Event;
using journey::common::v1::EventType;
using json = nlohmann::json;

FieldError Invalid(const std::string& field, absl::string_view what) {
  return FieldError{field, "invalid", absl::StrCat("must be ", what)};
}

// Ids may arrive as numbers from some SDKs; keep their text.
std::optional<FieldError> ReadId(const json& m, const char* key, std::string* out) {
  auto it = m.find(key);
  if (it == m.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) {
    *out = it->get<std::string>();
  } else if (it->is_number()) {
    *out = it->dump();
  } else {
    return Invalid(key, "a string");
  }
  return std::nullopt;
}

std::optional<FieldError> ReadString(const json& m, const char* key, const std::string& field, std::string* out) {
  auto it = m.find(key);
  if (it == m.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) return Invalid(field, "a string");
  *out = it->get<std::string>();
  return std::nullopt;
}

// ISO 8601 as SDKs send it ("2026-11-01T10:00:00.123Z", offsets allowed).
std::optional<FieldError> ReadTime(const json& m, const char* key, google::protobuf::Timestamp* out) {
  auto it = m.find(key);
  if (it == m.end() || it->is_null()) return std::nullopt;
  absl::Time t;
  std::string err;
  if (!it->is_string() || !absl::ParseTime(absl::RFC3339_full, it->get<std::string>(), &t, &err)) {
    return Invalid(key, "an ISO 8601 time such as 2026-11-01T10:00:00Z");
  }
  prototime::ToProto(t, out);
  return std::nullopt;
}

std::string Text(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

void ReadContext(const json& c, journey::common::v1::Context* out) {
  if (!c.is_object()) return;
  auto str = [](const json& o, const char* k) -> std::string {
    auto it = o.find(k);
    return it != o.end() && it->is_string() ? it->get<std::string>() : "";
  };
  auto obj = [](const json& o, const char* k) -> const json& {
    static const json kEmpty = json::object();
    auto it = o.find(k);
    return it != o.end() && it->is_object() ? *it : kEmpty;
  };
  const json& page = obj(c, "page");
  out->set_page_url(str(page, "url"));
  out->set_page_path(str(page, "path"));
  out->set_page_title(str(page, "title"));
  out->set_referrer(str(page, "referrer"));
  const json& campaign = obj(c, "campaign");
  out->mutable_campaign()->set_name(str(campaign, "name"));
  out->mutable_campaign()->set_source(str(campaign, "source"));
  out->mutable_campaign()->set_medium(str(campaign, "medium"));
  out->mutable_campaign()->set_term(str(campaign, "term"));
  out->mutable_campaign()->set_content(str(campaign, "content"));
  out->set_user_agent(str(c, "userAgent"));
  out->set_locale(str(c, "locale"));
  out->set_ip(str(c, "ip"));
  out->set_timezone(str(c, "timezone"));
  out->set_library_name(str(obj(c, "library"), "name"));
  out->set_library_version(str(obj(c, "library"), "version"));
  out->set_app_name(str(obj(c, "app"), "name"));
  out->set_device_type(str(obj(c, "device"), "type"));
  out->set_os_name(str(obj(c, "os"), "name"));
}

std::optional<FieldError> ReadProducts(const json& list, Event* out) {
  if (!list.is_array()) return Invalid("properties.products", "an array");
  for (size_t i = 0; i < list.size(); ++i) {
    const json& p = list[i];
    const std::string at = absl::StrCat("properties.products[", i, "]");
    if (!p.is_object()) return Invalid(at, "an object");
    auto* prod = out->add_products();
    std::string id;
    if (auto err = ReadId(p, "product_id", &id)) return Invalid(at + ".product_id", "a string");
    if (id.empty()) {
      if (auto err = ReadId(p, "id", &id)) return Invalid(at + ".id", "a string");
    }
    prod->set_product_id(id);
    for (auto [key, field] : {std::make_pair("sku", prod->mutable_sku()), std::make_pair("category", prod->mutable_category()),
                              std::make_pair("brand", prod->mutable_brand()), std::make_pair("name", prod->mutable_name()),
                              std::make_pair("variant", prod->mutable_variant()), std::make_pair("coupon", prod->mutable_coupon()),
                              std::make_pair("url", prod->mutable_url())}) {
      auto it = p.find(key);
      if (it != p.end() && !it->is_null()) *field = Text(*it);
    }
    if (auto it = p.find("price"); it != p.end() && !it->is_null()) {
      if (!it->is_number()) return Invalid(at + ".price", "a number");
      prod->set_price(it->get<double>());
    }
    for (const char* key : {"quantity", "position"}) {
      auto it = p.find(key);
      if (it == p.end() || it->is_null()) continue;
      const std::optional<int32_t> whole =
          it->is_number() ? journey::number::WholeNumber<int32_t>(it->get<double>()) : std::nullopt;
      if (!whole) return Invalid(absl::StrCat(at, ".", key), "an integer between -2147483648 and 2147483647");
      const int32_t v = *whole;
      if (std::string(key) == "quantity") {
        prod->set_quantity(v);
      } else {
        prod->set_position(v);
      }
    }
  }
  return std::nullopt;
}

std::optional<FieldError> ReadProperties(const json& m, Event* out) {
  auto it = m.find("properties");
  if (it == m.end() || it->is_null()) return std::nullopt;
  if (!it->is_object()) return Invalid("properties", "an object");
  for (const auto& [key, value] : it->items()) {
    if (value.is_null()) continue;
    if (key == "products") {
      if (auto err = ReadProducts(value, out)) return err;
      continue;
    }
    // A page's url/path/title/referrer are properties in Segment's page call.
    if (out->type() == journey::common::v1::EVENT_TYPE_PAGE && value.is_string()) {
      auto* c = out->mutable_context();
      if (key == "url" && c->page_url().empty()) c->set_page_url(value.get<std::string>());
      if (key == "path" && c->page_path().empty()) c->set_page_path(value.get<std::string>());
      if (key == "title" && c->page_title().empty()) c->set_page_title(value.get<std::string>());
      if (key == "referrer" && c->referrer().empty()) c->set_referrer(value.get<std::string>());
    }
    (*out->mutable_properties())[key] = Text(value);
  }
  return std::nullopt;
}

std::optional<FieldError> ReadTraits(const json& traits, Event* out) {
  if (!traits.is_object()) return Invalid("traits", "an object");
  for (const auto& [key, value] : traits.items()) {
    journey::common::v1::TraitValue tv;
    if (value.is_null()) continue;
    if (value.is_string()) {
      tv.set_string_value(value.get<std::string>());
    } else if (value.is_boolean()) {
      tv.set_bool_value(value.get<bool>());
    } else if (value.is_number()) {
      tv.set_number_value(value.get<double>());
    } else if (value.is_array() && std::all_of(value.begin(), value.end(), [](const json& v) { return v.is_string(); })) {
      for (const auto& v : value) tv.mutable_list_value()->add_values(v.get<std::string>());
    } else {
      tv.set_string_value(value.dump());  // nested objects (address) keep their JSON text
    }
    (*out->mutable_traits())[key] = std::move(tv);
  }
  return std::nullopt;
}

}  // namespace

EventType SegmentType(const std::string& type) {
  if (type == "track") return journey::common::v1::EVENT_TYPE_TRACK;
  if (type == "identify") return journey::common::v1::EVENT_TYPE_IDENTIFY;
  if (type == "page") return journey::common::v1::EVENT_TYPE_PAGE;
  if (type == "screen") return journey::common::v1::EVENT_TYPE_SCREEN;
  if (type == "alias") return journey::common::v1::EVENT_TYPE_ALIAS;
  if (type == "group") return journey::common::v1::EVENT_TYPE_GROUP;
  return journey::common::v1::EVENT_TYPE_UNSPECIFIED;
}

std::optional<FieldError> SegmentToEvent(const json& m, EventType type, Event* out) {
  if (!m.is_object()) return Invalid("message", "a JSON object");
  if (type == journey::common::v1::EVENT_TYPE_UNSPECIFIED) {
    auto it = m.find("type");
    if (it == m.end() || !it->is_string()) return FieldError{"type", "required", "is required in a batch item"};
    type = SegmentType(it->get<std::string>());
    if (type == journey::common::v1::EVENT_TYPE_UNSPECIFIED) {
      return Invalid("type", "one of track, identify, page, screen, alias, group");
    }
  }
  out->set_type(type);
  if (auto err = ReadId(m, "messageId", out->mutable_message_id())) return err;
  if (auto err = ReadId(m, "userId", out->mutable_user_id())) return err;
  if (auto err = ReadId(m, "anonymousId", out->mutable_anonymous_id())) return err;
  if (auto err = ReadId(m, "previousId", out->mutable_previous_id())) return err;
  const char* name_key = type == journey::common::v1::EVENT_TYPE_TRACK ? "event" : "name";
  if (auto err = ReadString(m, name_key, name_key, out->mutable_name())) return err;
  if (auto err = ReadTime(m, "timestamp", out->mutable_timestamp())) return err;
  if (auto err = ReadTime(m, "sentAt", out->mutable_sent_at())) return err;
  if (out->sent_at().seconds() == 0 && out->sent_at().nanos() == 0) out->clear_sent_at();
  if (out->timestamp().seconds() == 0 && out->timestamp().nanos() == 0) out->clear_timestamp();
  if (auto it = m.find("context"); it != m.end() && !it->is_null()) {
    if (!it->is_object()) return Invalid("context", "an object");
    ReadContext(*it, out->mutable_context());
    if (auto traits = it->find("traits"); traits != it->end() && traits->is_object()) {
      if (auto err = ReadTraits(*traits, out)) return err;
    }
  }
  if (auto err = ReadProperties(m, out)) return err;
  if (auto it = m.find("traits"); it != m.end() && !it->is_null()) {
    if (auto err = ReadTraits(*it, out)) return err;
  }
  return std::nullopt;
}

std::string SegmentFieldName(const std::string& f, EventType type) {
  static const std::pair<const char*, const char*> kTopLevel[] = {
      {"message_id", "messageId"}, {"user_id", "userId"},   {"anonymous_id", "anonymousId"},
      {"previous_id", "previousId"}, {"sent_at", "sentAt"}, {"timestamp", "timestamp"},
      {"type", "type"},            {"event", "event"},      {"properties", "properties"},
      {"traits", "traits"},        {"context", "context"}};
  for (const auto& [proto, segment] : kTopLevel) {
    if (f == proto) return segment;
  }
  if (f == "name") return type == journey::common::v1::EVENT_TYPE_TRACK ? "event" : "name";
  if (absl::StartsWith(f, "properties") || absl::StartsWith(f, "traits") || absl::StartsWith(f, "context")) return f;
  if (absl::StartsWith(f, "products")) return absl::StrCat("properties.", f);
  return absl::StrCat("properties.", f);  // typed e-commerce fields came from properties
}

}  // namespace journey::ingest
