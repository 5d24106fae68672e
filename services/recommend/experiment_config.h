// Experiment and holdout definitions: config/experiments/*.yaml, parsed and validated as a
// whole (errors name file:line and the field), with each experiment's bucket range in its
// layer worked out here, once, so every replica computes the same ranges.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/experiment/assignment.h"
#include "journey/recommend/v1/recommend.pb.h"

namespace journey::recommend {

// The experiment id under which the holdout's exposures and outcomes are recorded: variant
// "holdout" (the control) against "personalized" (everyone else).
inline constexpr char kHoldoutExperimentId[] = "holdout";
inline constexpr char kHoldoutVariant[] = "holdout";
inline constexpr char kPersonalizedVariant[] = "personalized";

enum class ProductRanking { kCoOccurrence, kPopularity };
enum class PrimaryMetric { kConversion, kRevenuePerCustomer, kClickThrough };
const char* PrimaryMetricName(PrimaryMetric metric);

// What a variant changes in the answer.
struct VariantTreatment {
  ProductRanking ranking = ProductRanking::kCoOccurrence;
  bool exploration = true;             // Thompson sampling of offers; false = posterior mean
  std::vector<std::string> offer_ids;  // only these offers are eligible; empty = all
};

struct ExperimentVariant {
  std::string id;
  double weight = 1;
  bool control = false;
  VariantTreatment treatment;
};

struct Experiment {
  std::string id;
  std::string layer;  // experiments of one layer are mutually exclusive (one salt, disjoint buckets)
  uint32_t traffic_bp = experiment::kAssignmentBuckets;
  // The layer's buckets [bucket_from, bucket_to) this experiment takes (filled by Validate).
  uint32_t bucket_from = 0;
  uint32_t bucket_to = 0;
  // Target population; empty = everyone.
  std::vector<std::string> stages;    // upper case
  std::vector<std::string> segments;  // any of them
  uint32_t placement_mask = 0;        // bit per v1::Placement; 0 = every placement
  absl::Time start = absl::InfinitePast();
  absl::Time end = absl::InfiniteFuture();
  PrimaryMetric primary_metric = PrimaryMetric::kConversion;
  absl::Duration attribution_window = absl::Hours(24);
  std::vector<ExperimentVariant> variants;  // exactly one is the control
  std::string source;                       // "file:line" of its definition
};

struct HoldoutSettings {
  experiment::HoldoutConfig assignment{0, "holdout"};  // share 0 = no holdout
  absl::Duration attribution_window = absl::Hours(24);
  bool enabled() const { return assignment.share_bp > 0; }
};

struct ExperimentConfig {
  HoldoutSettings holdout;
  std::vector<Experiment> experiments;
};

// Parses one document:
//   holdout: {share: 5%, salt: holdout-2026, attribution_window: 24h}   # share default 5%
//   experiments:
//     - id: ranking-popularity
//       layer: ranking            # default: the experiment id (a layer of its own)
//       traffic: 50%              # of the layer, allocated in file order; default 100%
//       target: {stages: [DECISION], segments: [vip], placements: [cart]}
//       start: 2026-12-01T00:00:00Z
//       end: 2027-01-01T00:00:00Z
//       primary_metric: conversion   # conversion | revenue_per_customer | click_through
//       attribution_window: 24h      # Go-style duration, or Nd for days
//       variants:
//         - {id: control, weight: 50, control: true}
//         - {id: popular, weight: 50, ranking: popularity, exploration: false, offers: [a, b]}
// Unknown keys are errors. Returns the definitions unvalidated as a whole (see Validate).
absl::StatusOr<ExperimentConfig> ParseExperimentsYaml(const std::string& text, const std::string& source);

// Checks the whole set (ids unique, at most one holdout, layers not over 100%) and assigns
// bucket ranges. Errors name the experiment's file:line.
absl::Status ValidateExperiments(ExperimentConfig* config);

// Every *.yaml / *.yml in `dir`, in name order, merged and validated. A missing directory is
// an empty config (no holdout, no experiments).
absl::StatusOr<ExperimentConfig> LoadExperimentsDir(const std::string& dir);

// The definitions as the admin RPC lists them.
v1::ListExperimentsResponse DescribeExperiments(const ExperimentConfig& config, absl::Time now);

}  // namespace journey::recommend
