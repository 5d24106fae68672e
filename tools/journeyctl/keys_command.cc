// journeyctl keys create|list|revoke: the journey.auth.v1.ApiKeys RPCs, which every service
// serves; journeyctl asks the one named by --via (journey by default). Needs an admin key.
#include <cstdio>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "common/time/proto_time.h"
#include "journey/auth/v1/auth.grpc.pb.h"
#include "tools/journeyctl/commands.h"
#include "tools/journeyctl/output.h"

namespace journey::cli {
namespace {

std::string AddressOf(const SuiteAddresses& a, const std::string& service) {
  if (service == "ingest") return a.ingest;
  if (service == "persona") return a.persona;
  if (service == "recommend") return a.recommend;
  if (service == "journey") return a.journey;
  return "";
}

std::string When(const google::protobuf::Timestamp& ts) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S", prototime::FromProto(ts), absl::UTCTimeZone());
}

void PrintKey(const auth::v1::ApiKeyInfo& k) {
  std::cout << k.key_id() << "  " << absl::StrJoin(k.scopes(), ",") << "  workspace=" << k.workspace_id()
            << "  created=" << When(k.created_at());
  if (k.has_revoked_at()) std::cout << "  REVOKED " << When(k.revoked_at());
  if (k.rate_per_s() > 0) std::cout << "  rate=" << k.rate_per_s() << "/s burst=" << k.burst();
  if (!k.name().empty()) std::cout << "  \"" << k.name() << "\"";
  std::cout << "\n";
}

}  // namespace

int RunKeys(const GlobalOptions& g, const KeysOptions& o) {
  const std::string address = AddressOf(g.addresses, o.via);
  if (address.empty()) {
    return UsageError("keys", absl::InvalidArgumentError("--via: one of ingest, journey, persona, recommend"));
  }
  auto channel = DialService(g.addresses, address);
  if (!channel.ok()) return UsageError("keys", channel.status());
  auto stub = auth::v1::ApiKeys::NewStub(*channel);
  SuiteClients clients(g.addresses);  // for the call context: deadline and API key
  auto ctx = clients.Context();
  if (o.action == "create") {
    if (o.scopes.empty()) return UsageError("keys create", absl::InvalidArgumentError("--scope: at least one"));
    auth::v1::CreateKeyRequest req;
    req.set_name(o.name);
    for (const auto& s : o.scopes) req.add_scopes(s);
    req.set_rate_per_s(o.rate_per_s);
    req.set_burst(o.burst);
    auth::v1::CreateKeyResponse resp;
    grpc::Status s = stub->CreateKey(ctx.get(), req, &resp);
    if (!s.ok()) return Fail(s, o.via, address);
    if (g.json) {
      std::cout << ToJson(resp) << "\n";
    } else {
      PrintKey(resp.key());
      std::cout << "api key (shown once, store it now): " << resp.api_key() << "\n";
    }
    return 0;
  }
  if (o.action == "list") {
    auth::v1::ListKeysRequest req;
    req.set_include_revoked(o.include_revoked);
    auth::v1::ListKeysResponse resp;
    grpc::Status s = stub->ListKeys(ctx.get(), req, &resp);
    if (!s.ok()) return Fail(s, o.via, address);
    if (g.json) {
      std::cout << ToJson(resp) << "\n";
    } else {
      if (resp.keys().empty()) std::cout << "no keys\n";
      for (const auto& k : resp.keys()) PrintKey(k);
    }
    return 0;
  }
  if (o.action == "revoke") {
    auth::v1::RevokeKeyRequest req;
    req.set_key_id(o.key_id);
    auth::v1::RevokeKeyResponse resp;
    grpc::Status s = stub->RevokeKey(ctx.get(), req, &resp);
    if (!s.ok()) return Fail(s, o.via, address);
    if (g.json) {
      std::cout << ToJson(resp) << "\n";
    } else {
      std::cout << "revoked (every replica refuses it within about a second): ";
      PrintKey(resp.key());
    }
    return 0;
  }
  return UsageError("keys", absl::InvalidArgumentError("create, list or revoke"));
}

}  // namespace journey::cli
