// journeyctl experiments list | results ID | validate FILE | apply FILE: the experiments and
// the holdout of recommend, their results with uplift and 95% interval, and run-time changes.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "tools/journeyctl/commands.h"
#include "tools/journeyctl/output.h"

namespace journey::cli {
namespace {

namespace rv1 = recommend::v1;

// The primary metric's uplift as a reader wants it: percentage points for rates, money
// for revenue per customer.
std::string FormatUplift(const rv1::MetricUplift& u) {
  if (u.metric() == "revenue_per_customer") {
    return absl::StrFormat("%+.2f  [%+.2f, %+.2f]", u.difference(), u.ci_low(), u.ci_high());
  }
  return absl::StrFormat("%+.2f pts  [%+.2f, %+.2f]", 100 * u.difference(), 100 * u.ci_low(), 100 * u.ci_high());
}

int Results(const GlobalOptions& g, const ExperimentsOptions& o, SuiteClients& c) {
  rv1::GetExperimentResultsRequest req;
  req.set_experiment_id(o.target);
  rv1::GetExperimentResultsResponse r;
  auto ctx = c.Context();
  grpc::Status s = c.recommend().GetExperimentResults(ctx.get(), req, &r);
  if (!s.ok()) return Fail(s, "recommend", g.addresses.recommend);
  if (g.json) {
    std::cout << ToJson(r) << "\n";
    return 0;
  }
  std::printf("experiment %s, primary metric %s%s\n", r.experiment_id().c_str(), r.primary_metric().c_str(),
              r.too_small_to_call() ? " (too small to call yet)" : "");
  std::printf("%-16s %9s %11s %9s %12s %9s %8s  %s\n", "variant", "exposed", "conversions", "conv.rate",
              "revenue/cust", "clicks", "CTR", "uplift vs control, 95% CI");
  for (const auto& v : r.variants()) {
    std::string uplift = v.control() ? "(control)" : "";
    for (const auto& u : v.uplift()) {
      if (u.metric() != r.primary_metric()) continue;
      const bool significant = u.ci_low() > 0 || u.ci_high() < 0;
      uplift = absl::StrCat(FormatUplift(u), v.too_small_to_call() ? "  too small to call"
                                              : significant   ? "  significant"
                                                              : "  not significant");
    }
    std::printf("%-16s %9lld %11lld %8.2f%% %12.2f %9lld %7.2f%%  %s\n", v.variant().c_str(),
                static_cast<long long>(v.customers_exposed()), static_cast<long long>(v.conversions()),
                100 * v.conversion_rate(), v.revenue_per_customer(), static_cast<long long>(v.clicks()),
                100 * v.click_through_rate(), uplift.c_str());
  }
  std::printf("%s\n", r.rule().c_str());
  return 0;
}

int List(const GlobalOptions& g, SuiteClients& c) {
  rv1::ListExperimentsResponse r;
  auto ctx = c.Context();
  grpc::Status s = c.recommend().ListExperiments(ctx.get(), {}, &r);
  if (!s.ok()) return Fail(s, "recommend", g.addresses.recommend);
  if (g.json) {
    std::cout << ToJson(r) << "\n";
    return 0;
  }
  std::printf("definitions: %s\n", r.version() > 0 ? absl::StrCat("applied version ", r.version()).c_str()
                                                    : "the files recommend started with (version 0)");
  if (r.holdout_share_bp() > 0) {
    std::printf("holdout: %.2f%% of customers (salt %s), results: journeyctl experiments results holdout\n",
                r.holdout_share_bp() / 100.0, r.holdout_salt().c_str());
  } else {
    std::printf("holdout: none\n");
  }
  std::printf("%-24s %-12s %-13s %-8s %-20s %s\n", "id", "layer", "buckets", "running", "primary metric", "variants");
  for (const auto& e : r.experiments()) {
    std::vector<std::string> variants;
    for (const auto& v : e.variants()) {
      variants.push_back(absl::StrCat(v.id(), v.control() ? "*" : "", ":", v.weight()));
    }
    std::printf("%-24s %-12s %-13s %-8s %-20s %s\n", e.id().c_str(), e.layer().c_str(),
                absl::StrCat(e.bucket_from(), "-", e.bucket_to()).c_str(), e.running() ? "yes" : "no",
                e.primary_metric().c_str(), absl::StrJoin(variants, " ").c_str());
  }
  return 0;
}

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path);
  if (!in) return false;
  std::stringstream text;
  text << in.rdbuf();
  *out = text.str();
  return true;
}

int Apply(const GlobalOptions& g, const ExperimentsOptions& o, SuiteClients& c) {
  rv1::ApplyExperimentsRequest req;
  if (!ReadFile(o.target, req.mutable_yaml())) {
    return UsageError("experiments apply", absl::NotFoundError(absl::StrCat("cannot open '", o.target, "'")));
  }
  req.set_source(o.target);
  req.set_expected_version(o.expected_version);
  rv1::ApplyExperimentsResponse r;
  auto ctx = c.Context();
  grpc::Status s = c.recommend().ApplyExperiments(ctx.get(), req, &r);
  if (!s.ok()) return Fail(s, "recommend", g.addresses.recommend);
  if (g.json) {
    std::cout << ToJson(r) << "\n";
    return 0;
  }
  std::printf("%s: applied as version %lld, %d experiment(s), holdout %.2f%%; every recommend replica runs it within "
              "about a second\n",
              o.target.c_str(), static_cast<long long>(r.version()), r.experiments(), r.holdout_share_bp() / 100.0);
  return 0;
}

int Validate(const GlobalOptions& g, const ExperimentsOptions& o, SuiteClients& c) {
  std::string yaml;
  if (!ReadFile(o.target, &yaml)) {
    return UsageError("experiments validate", absl::NotFoundError(absl::StrCat("cannot open '", o.target, "'")));
  }
  rv1::ValidateExperimentsRequest req;
  req.set_yaml(yaml);
  req.set_source(o.target);
  rv1::ValidateExperimentsResponse r;
  auto ctx = c.Context();
  grpc::Status s = c.recommend().ValidateExperiments(ctx.get(), req, &r);
  if (!s.ok()) return Fail(s, "recommend", g.addresses.recommend);
  if (g.json) {
    std::cout << ToJson(r) << "\n";
  } else if (r.valid()) {
    std::cout << o.target << ": valid, " << r.experiments() << " experiment(s)\n";
  } else {
    std::cout << o.target << ": invalid\n";
    for (const auto& e : r.errors()) std::cout << "  - " << e << "\n";
  }
  return r.valid() ? 0 : 1;
}

}  // namespace

int RunExperiments(const GlobalOptions& g, const ExperimentsOptions& o) {
  SuiteClients clients(g.addresses);
  if (o.action == "list") return List(g, clients);
  if (o.action == "results") return Results(g, o, clients);
  if (o.action == "validate") return Validate(g, o, clients);
  if (o.action == "apply") return Apply(g, o, clients);
  return 2;
}

}  // namespace journey::cli
