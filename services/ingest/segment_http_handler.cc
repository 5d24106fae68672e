#include "services/ingest/segment_http_handler.h"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "services/ingest/json_depth.h"
#include "services/ingest/segment_json.h"

namespace journey::ingest {
namespace {

using journey::common::v1::Event;
using journey::common::v1::EventType;
using json = nlohmann::json;

// Never throws: invalid UTF-8 (impossible after parsing, but cheap to be sure) is replaced.
std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

json ErrorJson(const std::string& field, const std::string& code, const std::string& message) {
  return json{{"field", field}, {"code", code}, {"message", message}};
}

HttpReply Fail(int status, const std::string& field, const std::string& code, const std::string& message) {
  json body{{"success", false}, {"error", ErrorJson(field, code, absl::StrCat(field, ": ", message))}};
  return {status, Dump(body)};
}

HttpReply FromFieldError(const FieldError& e, EventType type) {
  const std::string field = SegmentFieldName(e.field, type);
  return Fail(e.reason == "too_large" ? 413 : 400, field, e.reason, e.message);
}

// Whole-call failures carry what the caller should do: 503 and 429 are retried by SDKs.
HttpReply FromStatus(const absl::Status& st) {
  json body{{"success", false}, {"error", {{"code", absl::StatusCodeToString(st.code())}, {"message", std::string(st.message())}}}};
  switch (st.code()) {
    case absl::StatusCode::kUnavailable: return {503, Dump(body)};
    case absl::StatusCode::kResourceExhausted: return {429, Dump(body)};
    case absl::StatusCode::kInvalidArgument: return {400, Dump(body)};
    default: return {500, Dump(body)};
  }
}

std::optional<json> Parse(absl::string_view body, HttpReply* error) {
  if (!JsonDepthAtMost(body, kMaxJsonDepth)) {
    *error = Fail(400, "body", "invalid", absl::StrCat("nests deeper than ", kMaxJsonDepth, " levels"));
    return std::nullopt;
  }
  json doc = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    *error = Fail(400, "body", "invalid", "is not a JSON object");
    return std::nullopt;
  }
  return doc;
}

}  // namespace

HttpReply SegmentHttpHandler::Handle(absl::string_view method, absl::string_view path, absl::string_view body) const {
  if (method != "POST") return Fail(405, "method", "invalid", "only POST is supported");
  if (body.size() > max_body_bytes()) return BodyTooLarge();
  if (path == "/v1/batch" || path == "/v1/import") return Batch(body);
  static const std::pair<const char*, const char*> kCalls[] = {{"/v1/track", "track"}, {"/v1/identify", "identify"},
                                                               {"/v1/page", "page"},   {"/v1/screen", "screen"},
                                                               {"/v1/alias", "alias"}, {"/v1/group", "group"}};
  for (const auto& [p, type] : kCalls) {
    if (path == p) return Single(SegmentType(type), body);
  }
  return Fail(404, "path", "invalid", absl::StrCat("no such endpoint: ", path));
}

HttpReply SegmentHttpHandler::BodyTooLarge() const {
  return Fail(413, "body", "too_large", absl::StrCat("is over ", max_body_bytes(), " bytes"));
}

HttpReply SegmentHttpHandler::Single(EventType type, absl::string_view body) const {
  HttpReply error;
  auto doc = Parse(body, &error);
  if (!doc) return error;
  if (body.size() > logic_->limits().max_event_bytes) {
    return Fail(413, "body", "too_large", absl::StrCat("an event is at most ", logic_->limits().max_event_bytes, " bytes"));
  }
  std::vector<Event> events(1);
  if (auto err = SegmentToEvent(*doc, type, &events[0])) return FromFieldError(*err, type);
  auto outcomes = logic_->Ingest(std::move(events));
  if (!outcomes.ok()) return FromStatus(outcomes.status());
  const EventOutcome& o = outcomes->front();
  if (o.error) return FromFieldError(*o.error, type);
  json ok{{"success", true}, {"messageId", o.message_id}, {"duplicate", o.duplicate}};
  return {200, Dump(ok)};
}

HttpReply SegmentHttpHandler::Batch(absl::string_view body) const {
  HttpReply error;
  auto doc = Parse(body, &error);
  if (!doc) return error;
  auto items = doc->find("batch");
  if (items == doc->end() || !items->is_array()) return Fail(400, "batch", "required", "must be an array of messages");
  if (auto st = logic_->CheckBatch(static_cast<int>(items->size()), body.size()); !st.ok()) {
    return Fail(413, "batch", "too_large", std::string(st.message()));
  }
  // Batch-level sentAt and context apply to every message that lacks its own.
  const json* batch_sent_at = doc->contains("sentAt") ? &(*doc)["sentAt"] : nullptr;
  const json* batch_context = doc->contains("context") ? &(*doc)["context"] : nullptr;

  json rejected = json::array();
  auto reject = [&](size_t index, const FieldError& e, EventType type, const std::string& message_id) {
    rejected.push_back(json{{"index", index},
                            {"field", SegmentFieldName(e.field, type)},
                            {"code", e.reason},
                            {"message", e.message},
                            {"messageId", message_id}});
  };
  std::vector<Event> events;
  std::vector<size_t> index_of;
  for (size_t i = 0; i < items->size(); ++i) {
    json item = (*items)[i];
    if (item.is_object()) {
      if (batch_sent_at && !item.contains("sentAt")) item["sentAt"] = *batch_sent_at;
      if (batch_context && !item.contains("context")) item["context"] = *batch_context;
    }
    Event e;
    if (auto err = SegmentToEvent(item, journey::common::v1::EVENT_TYPE_UNSPECIFIED, &e)) {
      reject(i, *err, e.type(), e.message_id());
      continue;
    }
    events.push_back(std::move(e));
    index_of.push_back(i);
  }
  std::vector<EventType> types;
  for (const auto& e : events) types.push_back(e.type());
  auto outcomes = logic_->Ingest(std::move(events));
  if (!outcomes.ok()) return FromStatus(outcomes.status());
  int accepted = 0, duplicates = 0;
  for (size_t k = 0; k < outcomes->size(); ++k) {
    const EventOutcome& o = (*outcomes)[k];
    if (o.error) {
      reject(index_of[k], *o.error, types[k], o.message_id);
    } else {
      ++accepted;
      duplicates += o.duplicate ? 1 : 0;
    }
  }
  std::sort(rejected.begin(), rejected.end(), [](const json& a, const json& b) { return a["index"] < b["index"]; });
  json reply{{"success", accepted > 0 || rejected.empty()},
             {"accepted", accepted},
             {"duplicates", duplicates},
             {"rejected", rejected}};
  // A batch with nothing acceptable is a client error; a partial one is accepted (200)
  // and lists what was not.
  return {accepted == 0 && !rejected.empty() ? 400 : 200, Dump(reply)};
}

}  // namespace journey::ingest
