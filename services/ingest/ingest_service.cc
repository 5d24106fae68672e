#include "services/ingest/ingest_service.h"

#include "common/server/grpc_status.h"

namespace journey::ingest {

using journey::common::v1::Event;
using journey::common::v1::EventType;

namespace {

void FillAck(const EventOutcome& o, v1::Ack* ack) {
  ack->set_message_id(o.message_id);
  ack->set_duplicate(o.duplicate);
  ack->set_stream_id(o.stream_id);
  ack->set_canonical_user_id(o.canonical_user_id);
}

void FillRejection(int index, const EventOutcome& o, v1::Rejection* r) {
  r->set_index(index);
  r->set_field(o.error->field);
  r->set_reason(o.error->message);
  r->set_code(o.error->reason);
  r->set_message_id(o.message_id);
}

}  // namespace

grpc::Status IngestService::One(Event event, EventType type, v1::Ack* ack) {
  if (!(type == common::v1::EVENT_TYPE_PAGE && event.type() == common::v1::EVENT_TYPE_SCREEN)) event.set_type(type);
  std::vector<Event> events;
  events.push_back(std::move(event));
  auto outcomes = logic_->Ingest(std::move(events));
  if (!outcomes.ok()) return server::ToGrpcStatus(outcomes.status());
  const EventOutcome& o = outcomes->front();
  if (o.error) return server::ToGrpcStatus(o.error->ToStatus());
  FillAck(o, ack);
  return grpc::Status::OK;
}

grpc::Status IngestService::Track(grpc::ServerContext* ctx, const v1::TrackRequest* req, v1::TrackResponse* resp) {
  auto call = Admit(ctx, __func__);
  if (!call.ok()) return call.status();
  return One(req->event(), common::v1::EVENT_TYPE_TRACK, resp->mutable_ack());
}

grpc::Status IngestService::Identify(grpc::ServerContext* ctx, const v1::IdentifyRequest* req, v1::IdentifyResponse* resp) {
  auto call = Admit(ctx, __func__);
  if (!call.ok()) return call.status();
  return One(req->event(), common::v1::EVENT_TYPE_IDENTIFY, resp->mutable_ack());
}

grpc::Status IngestService::Page(grpc::ServerContext* ctx, const v1::PageRequest* req, v1::PageResponse* resp) {
  auto call = Admit(ctx, __func__);
  if (!call.ok()) return call.status();
  return One(req->event(), common::v1::EVENT_TYPE_PAGE, resp->mutable_ack());
}

grpc::Status IngestService::Alias(grpc::ServerContext* ctx, const v1::AliasRequest* req, v1::AliasResponse* resp) {
  auto call = Admit(ctx, __func__);
  if (!call.ok()) return call.status();
  return One(req->event(), common::v1::EVENT_TYPE_ALIAS, resp->mutable_ack());
}

grpc::Status IngestService::Batch(grpc::ServerContext* ctx, const v1::BatchRequest* req, v1::BatchResponse* resp) {
  auto call = Admit(ctx, __func__);
  if (!call.ok()) return call.status();
  if (auto st = logic_->CheckBatch(req->events_size(), req->ByteSizeLong()); !st.ok()) return server::ToGrpcStatus(st);
  // gRPC builds the request as a mutable object owned by this call and hands it over as
  // const only through the generated signature (grpcpp/support/method_handler.h); the events
  // are normalized where they are instead of deep-copied (a fifth of the handler's CPU) or
  // moved into a vector (a twentieth).
  auto* request_events = const_cast<v1::BatchRequest*>(req)->mutable_events();
  const std::vector<Event*> events(request_events->pointer_begin(), request_events->pointer_end());
  auto outcomes = logic_->IngestInPlace(events);
  if (!outcomes.ok()) return server::ToGrpcStatus(outcomes.status());
  for (size_t i = 0; i < outcomes->size(); ++i) {
    const EventOutcome& o = (*outcomes)[i];
    if (o.error) {
      FillRejection(static_cast<int>(i), o, resp->add_rejected());
    } else {
      resp->set_accepted(resp->accepted() + 1);
      resp->set_duplicates(resp->duplicates() + (o.duplicate ? 1 : 0));
    }
  }
  return grpc::Status::OK;
}

grpc::Status IngestService::StreamEvents(grpc::ServerContext* ctx, grpc::ServerReader<v1::StreamEventsRequest>* reader,
                                         v1::StreamEventsSummary* summary) {
  auto call = Admit(ctx, __func__);
  if (!call.ok()) return call.status();
  // Each message is ingested as one batch as it arrives; the summary caps the rejections
  // it lists so a replay of millions of bad rows cannot grow the reply without bound.
  constexpr int kMaxListedRejections = 100;
  v1::StreamEventsRequest req;
  while (reader->Read(&req)) {
    if (auto st = logic_->CheckBatch(req.events_size(), req.ByteSizeLong()); !st.ok()) return server::ToGrpcStatus(st);
    const int64_t base = summary->received();
    const std::vector<Event*> events(req.mutable_events()->pointer_begin(), req.mutable_events()->pointer_end());
    summary->set_received(base + static_cast<int64_t>(events.size()));
    auto outcomes = logic_->IngestInPlace(events);
    // Unavailable / ResourceExhausted end the stream: the sender retries from the last
    // summary it has; dedup by message_id makes resending accepted events harmless.
    if (!outcomes.ok()) return server::ToGrpcStatus(outcomes.status());
    for (size_t i = 0; i < outcomes->size(); ++i) {
      const EventOutcome& o = (*outcomes)[i];
      if (o.error) {
        summary->set_rejected(summary->rejected() + 1);
        if (summary->rejections_size() < kMaxListedRejections) {
          FillRejection(static_cast<int>(base + static_cast<int64_t>(i)), o, summary->add_rejections());
        }
      } else {
        summary->set_accepted(summary->accepted() + 1);
        summary->set_duplicates(summary->duplicates() + (o.duplicate ? 1 : 0));
      }
    }
  }
  return grpc::Status::OK;
}

}  // namespace journey::ingest
