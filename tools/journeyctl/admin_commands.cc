// journeyctl segments / offers / journeys: the admin RPCs of persona, recommend and journey
// for definitions (list, get, apply a YAML file, validate it, delete one).
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "tools/journeyctl/commands.h"
#include "tools/journeyctl/output.h"

namespace journey::cli {
namespace {

absl::StatusOr<std::string> ReadText(const std::string& path) {
  if (path.empty()) return absl::InvalidArgumentError("a definition file (YAML) is required");
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open '", path, "'"));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Prints an apply/validate answer; exit 0 when valid, 1 with the errors otherwise.
template <typename Response>
int ReportApply(const GlobalOptions& g, const std::string& what, const Response& r, bool applied) {
  if (g.json) {
    std::cout << ToJson(r) << "\n";
  } else if (r.valid()) {
    std::cout << what << (applied ? ": applied, version " : ": valid") << (applied ? absl::StrCat(r.version()) : "")
              << "\n";
  } else {
    std::cout << what << ": invalid\n";
    for (const auto& e : r.errors()) std::cout << "  - " << e << "\n";
  }
  return r.valid() ? 0 : 1;
}

int Segments(const GlobalOptions& g, const AdminOptions& o, SuiteClients& c) {
  const std::string& addr = g.addresses.persona;
  auto ctx = c.Context();
  if (o.action == "list" || o.action == "get") {
    persona::v1::ListSegmentsResponse r;
    grpc::Status s = c.persona().ListSegments(ctx.get(), {}, &r);
    if (!s.ok()) return Fail(s, "persona", addr);
    if (o.action == "get") {
      for (const auto& seg : r.segments()) {
        if (seg.id() == o.target) {
          std::cout << ToJson(seg) << "\n";
          return 0;
        }
      }
      std::fprintf(stderr, "journeyctl segments get: no segment '%s'\n", o.target.c_str());
      return 1;
    }
    if (g.json) {
      std::cout << ToJson(r) << "\n";
      return 0;
    }
    std::printf("%-28s %-8s %-8s %s\n", "id", "version", "persona", "name");
    for (const auto& seg : r.segments()) {
      std::printf("%-28s %-8lld %-8s %s\n", seg.id().c_str(), static_cast<long long>(seg.version()),
                  seg.is_persona() ? "yes" : "", seg.name().c_str());
    }
    return 0;
  }
  if (o.action == "apply" || o.action == "validate") {
    auto yaml = ReadText(o.target);
    if (!yaml.ok()) return UsageError("segments " + o.action, yaml.status());
    persona::v1::ApplySegmentRequest req;
    req.set_yaml(*yaml);
    persona::v1::ApplySegmentResponse r;
    grpc::Status s = o.action == "apply" ? c.persona().ApplySegment(ctx.get(), req, &r)
                                         : c.persona().ValidateSegment(ctx.get(), req, &r);
    if (!s.ok()) return Fail(s, "persona", addr);
    return ReportApply(g, o.target, r, o.action == "apply");
  }
  if (o.action == "delete") {
    persona::v1::DeleteSegmentRequest req;
    req.set_id(o.target);
    persona::v1::DeleteSegmentResponse r;
    grpc::Status s = c.persona().DeleteSegment(ctx.get(), req, &r);
    if (!s.ok()) return Fail(s, "persona", addr);
    std::cout << (g.json ? "{}" : absl::StrCat("segment ", o.target, " deleted")) << "\n";
    return 0;
  }
  return 2;
}

// "2 added (a, b), 1 changed (c), 0 removed, 10 unchanged; 13 offers"
std::string DescribeCatalogChange(const recommend::v1::ApplyOffersResponse& r) {
  auto part = [](int n, const char* what, const google::protobuf::RepeatedPtrField<std::string>& ids) {
    std::string out = absl::StrCat(n, " ", what);
    if (n > 0) absl::StrAppend(&out, " (", absl::StrJoin(ids, ", "), ")");
    return out;
  };
  return absl::StrCat(part(r.added_size(), "added", r.added()), ", ", part(r.changed_size(), "changed", r.changed()),
                      ", ", part(r.removed_size(), "removed", r.removed()), ", ", r.unchanged(), " unchanged; ",
                      r.offers(), " offers");
}

int Offers(const GlobalOptions& g, const AdminOptions& o, SuiteClients& c) {
  const std::string& addr = g.addresses.recommend;
  auto ctx = c.Context();
  if (o.action == "list" || o.action == "get") {
    recommend::v1::ListOffersResponse r;
    grpc::Status s = c.recommend().ListOffers(ctx.get(), {}, &r);
    if (!s.ok()) return Fail(s, "recommend", addr);
    if (o.action == "get") {
      for (const auto& offer : r.offers()) {
        if (offer.id() == o.target) {
          std::cout << ToJson(offer) << "\n";
          return 0;
        }
      }
      std::fprintf(stderr, "journeyctl offers get: no offer '%s' in catalog version %lld\n", o.target.c_str(),
                   static_cast<long long>(r.version()));
      return 1;
    }
    if (g.json) {
      std::cout << ToJson(r) << "\n";
      return 0;
    }
    std::printf("catalog version %lld\n%-30s %-34s %s\n", static_cast<long long>(r.version()), "id", "stages", "title");
    for (const auto& offer : r.offers()) {
      std::printf("%-30s %-34s %s\n", offer.id().c_str(), absl::StrJoin(offer.stages(), ",").c_str(),
                  offer.title().c_str());
    }
    return 0;
  }
  if (o.action == "apply" || o.action == "validate") {
    auto yaml = ReadText(o.target);
    if (!yaml.ok()) return UsageError("offers " + o.action, yaml.status());
    recommend::v1::ApplyOffersRequest req;
    req.set_yaml(*yaml);
    recommend::v1::ApplyOffersResponse r;
    const bool apply = o.action == "apply";
    grpc::Status s = apply ? c.recommend().ApplyOffers(ctx.get(), req, &r) : c.recommend().ValidateOffers(ctx.get(), req, &r);
    if (!s.ok()) return Fail(s, "recommend", addr);
    if (g.json || !r.valid()) return ReportApply(g, o.target, r, apply);
    std::cout << o.target << (apply ? ": applied, version " : ": valid; applying it would create version ")
              << r.version() << ": " << DescribeCatalogChange(r) << "\n";
    return 0;
  }
  if (o.action == "delete") {
    recommend::v1::DeleteOfferRequest req;
    req.set_offer_id(o.target);
    recommend::v1::DeleteOfferResponse r;
    grpc::Status s = c.recommend().DeleteOffer(ctx.get(), req, &r);
    if (!s.ok()) return Fail(s, "recommend", addr);
    if (g.json) {
      std::cout << ToJson(r) << "\n";
    } else {
      std::cout << "offer " << o.target << " deleted: catalog version " << r.version() << ", " << r.offers()
                << " offers\n";
    }
    return 0;
  }
  return 2;
}

std::string AppliedAt(const google::protobuf::Timestamp& t) {
  if (t.seconds() == 0 && t.nanos() == 0) return "-";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(t.seconds()), absl::UTCTimeZone());
}

int Journeys(const GlobalOptions& g, const AdminOptions& o, SuiteClients& c) {
  const std::string& addr = g.addresses.journey;
  auto ctx = c.Context();
  if (o.action == "list") {
    state::v1::ListDefinitionsResponse r;
    grpc::Status s = c.journey().ListDefinitions(ctx.get(), {}, &r);
    if (!s.ok()) return Fail(s, "journey", addr);
    if (g.json) {
      std::cout << ToJson(r) << "\n";
      return 0;
    }
    std::printf("%-16s %-8s %-6s %-6s %-20s %-6s %-6s %-6s %s\n", "id", "version", "active", "stored", "applied",
                "stages", "rules", "timers", "source");
    for (const auto& d : r.definitions()) {
      std::printf("%-16s %-8lld %-6s %-6s %-20s %-6d %-6d %-6d %s\n", d.id().c_str(),
                  static_cast<long long>(d.version()), d.active() ? "*" : "", d.stored() ? "yes" : "file",
                  AppliedAt(d.applied_at()).c_str(), d.stages(), d.rules(), d.timers(), d.source().c_str());
    }
    return 0;
  }
  if (o.action == "get") {
    // The service serves the definition it runs ("" = that one).
    state::v1::GetDefinitionRequest req;
    req.set_id(o.target);
    state::v1::JourneyDefinition d;
    grpc::Status s = c.journey().GetDefinition(ctx.get(), req, &d);
    if (!s.ok()) return Fail(s, "journey", addr);
    std::cout << ToJson(d) << "\n";
    return 0;
  }
  if (o.action == "apply" || o.action == "validate") {
    auto yaml = ReadText(o.target);
    if (!yaml.ok()) return UsageError("journeys " + o.action, yaml.status());
    state::v1::ApplyDefinitionRequest req;
    req.set_yaml(*yaml);
    state::v1::ApplyDefinitionResponse r;
    grpc::Status s = o.action == "apply" ? c.journey().ApplyDefinition(ctx.get(), req, &r)
                                         : c.journey().ValidateDefinition(ctx.get(), req, &r);
    if (!s.ok()) return Fail(s, "journey", addr);
    return ReportApply(g, o.target, r, o.action == "apply");
  }
  if (o.action == "delete") {
    state::v1::DeleteDefinitionRequest req;
    req.set_id(o.target);
    req.set_version(o.version);
    state::v1::DeleteDefinitionResponse r;
    grpc::Status s = c.journey().DeleteDefinition(ctx.get(), req, &r);
    if (!s.ok()) return Fail(s, "journey", addr);
    if (g.json) {
      std::cout << ToJson(r) << "\n";
    } else {
      std::cout << "journey " << o.target << ": deleted version" << (r.deleted_versions_size() == 1 ? " " : "s ")
                << absl::StrJoin(r.deleted_versions(), ", ") << "\n";
    }
    return 0;
  }
  return 2;
}

}  // namespace

int RunAdmin(const GlobalOptions& g, const AdminOptions& o) {
  SuiteClients clients(g.addresses);
  if (o.kind == "segments") return Segments(g, o, clients);
  if (o.kind == "offers") return Offers(g, o, clients);
  if (o.kind == "journeys") return Journeys(g, o, clients);
  return 2;
}

}  // namespace journey::cli
