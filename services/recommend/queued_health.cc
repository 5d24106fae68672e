#include "services/recommend/queued_health.h"

#include <grpcpp/ext/health_check_service_server_builder_option.h>
#include <grpcpp/support/async_unary_call.h>

#include <vector>

namespace journey::recommend {
namespace {

constexpr char kCheck[] = "/grpc.health.v1.Health/Check";

// What the server owns as its health service: forwards to the QueuedHealth that main owns
// (the server deletes what it is given, and the queues use the service until they stop).
class Forwarder final : public grpc::HealthCheckServiceInterface {
 public:
  explicit Forwarder(QueuedHealth* health) : health_(health) {}
  void SetServingStatus(const std::string& service, bool serving) override {
    health_->SetServingStatus(service, serving);
  }
  void SetServingStatus(bool serving) override { health_->SetServingStatus(serving); }
  void Shutdown() override { health_->Shutdown(); }

 private:
  QueuedHealth* health_;
};

// HealthCheckRequest { string service = 1; }, the only field; false when malformed.
bool ParseServiceName(const std::string& bytes, std::string* service) {
  size_t i = 0;
  while (i < bytes.size()) {
    const uint8_t key = static_cast<uint8_t>(bytes[i++]);
    if (key != 0x0a) return false;  // field 1, length-delimited; nothing else is defined
    uint64_t len = 0;
    for (int shift = 0; i < bytes.size(); shift += 7) {
      if (shift > 28) return false;
      const uint8_t b = static_cast<uint8_t>(bytes[i++]);
      len |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) break;
    }
    if (len > bytes.size() - i) return false;
    service->assign(bytes, i, len);
    i += len;
  }
  return true;
}

}  // namespace

QueuedHealth::QueuedHealth() {
  // Handler-less and raw: gRPC hands the call to whoever requested it on a queue, as bytes.
  AddMethod(new grpc::internal::RpcServiceMethod(kCheck, grpc::internal::RpcMethod::NORMAL_RPC, nullptr));
  MarkMethodRaw(0);
  statuses_[""] = Status::kServing;
}

void QueuedHealth::AddTo(grpc::ServerBuilder& builder) {
  builder.SetOption(std::make_unique<grpc::HealthCheckServiceServerBuilderOption>(std::make_unique<Forwarder>(this)));
  builder.RegisterService(this);
}

void QueuedHealth::RequestCheck(grpc::ServerContext* ctx, grpc::ByteBuffer* request,
                                grpc::ServerAsyncResponseWriter<grpc::ByteBuffer>* writer,
                                grpc::ServerCompletionQueue* cq, void* tag) {
  RequestAsyncUnary(0, ctx, request, writer, cq, cq, tag);
}

grpc::Status QueuedHealth::Check(const grpc::ByteBuffer& request, grpc::ByteBuffer* response) const {
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (!request.Dump(&slices).ok()) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "could not read request");
  for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  std::string service;
  if (!ParseServiceName(bytes, &service)) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "could not parse request");
  }
  Status status;
  {
    absl::MutexLock lock(&mu_);
    auto it = statuses_.find(service);
    if (it == statuses_.end()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "service name unknown");
    status = it->second;
  }
  // HealthCheckResponse { ServingStatus status = 1; }
  const char answer[2] = {0x08, static_cast<char>(status)};
  grpc::Slice slice(answer, sizeof(answer));
  *response = grpc::ByteBuffer(&slice, 1);
  return grpc::Status::OK;
}

void QueuedHealth::SetServingStatus(const std::string& service, bool serving) {
  absl::MutexLock lock(&mu_);
  if (shut_down_) return;
  statuses_[service] = serving ? Status::kServing : Status::kNotServing;
}

void QueuedHealth::SetServingStatus(bool serving) {
  absl::MutexLock lock(&mu_);
  if (shut_down_) return;
  for (auto& [name, status] : statuses_) status = serving ? Status::kServing : Status::kNotServing;
}

void QueuedHealth::Shutdown() {
  absl::MutexLock lock(&mu_);
  if (shut_down_) return;
  for (auto& [name, status] : statuses_) status = Status::kNotServing;
  shut_down_ = true;
}

}  // namespace journey::recommend
