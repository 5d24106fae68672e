// Which experiments and variants a customer is in, and whether they are in the holdout:
// pure functions of (workspace, canonical customer id, the definitions), so every replica
// and every restart agrees without storing an assignment anywhere. The experiment set is
// an immutable snapshot; a reload swaps the pointer.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/recommend/experiment_config.h"

namespace journey::recommend {

// One exposure to record: the customer was served under this experiment's variant.
struct ExposureRecord {
  std::string experiment_id;
  std::string variant;
};

struct ExperimentArm {
  const Experiment* experiment = nullptr;
  const ExperimentVariant* variant = nullptr;
};

struct Assignment {
  bool holdout = false;
  // Real experiments the customer is in now (at most one per layer), in layer-name order.
  std::vector<ExperimentArm> arms;
  // The holdout's own record (variant holdout or personalized) when a holdout is configured.
  ExperimentArm holdout_arm;
  // What the arms change, combined: popularity if any arm ranks by popularity, exploration
  // off if any turns it off, the first arm's offer set that has one. Layers are meant to
  // change different things; when they overlap this is the rule.
  VariantTreatment treatment;
};

// The part of the customer that targeting reads.
struct TargetingContext {
  absl::string_view stage;  // upper case; empty = unknown
  const std::vector<std::string>* segments = nullptr;
  v1::Placement placement = v1::PLACEMENT_UNSPECIFIED;
  absl::Time now;
  // False when Redis did not answer: stage and segments are unknown, so the customer is in
  // no experiment (the holdout still applies: it needs only the id).
  bool state_known = true;
};

class ExperimentSet {
 public:
  ExperimentSet(std::string workspace, ExperimentConfig config);

  // `customer_id` must be the canonical id (after alias resolution): that id decides.
  Assignment Assign(absl::string_view customer_id, const TargetingContext& target) const;

  // A variant by its layer bucket position; exposed for tests of the split.
  static const ExperimentVariant* VariantFor(const Experiment& e, absl::string_view workspace,
                                             absl::string_view customer_id);

  const ExperimentConfig& config() const { return config_; }
  const std::string& workspace() const { return workspace_; }
  // The experiment by id, the holdout's pseudo-experiment included; null when unknown.
  const Experiment* Find(absl::string_view id) const;
  // Experiments (the holdout included) whose outcomes can still count at `at`: started, and
  // not past end + attribution window.
  std::vector<const Experiment*> Attributable(absl::Time at) const;

 private:
  struct Layer {
    std::string name;
    std::string salt;
    std::vector<const Experiment*> experiments;  // by bucket range
  };
  const std::string workspace_;
  const ExperimentConfig config_;
  Experiment holdout_experiment_;  // variants holdout (control) and personalized
  std::vector<Layer> layers_;
  absl::flat_hash_map<std::string, const Experiment*> by_id_;
};

// The current experiment set, shared by the request path and the recorder.
class ExperimentStore {
 public:
  explicit ExperimentStore(std::shared_ptr<const ExperimentSet> set) : set_(std::move(set)) {}
  std::shared_ptr<const ExperimentSet> Get() const {
    absl::ReaderMutexLock lock(&mu_);
    return set_;
  }
  void Set(std::shared_ptr<const ExperimentSet> set) {
    absl::MutexLock lock(&mu_);
    set_ = std::move(set);
  }

 private:
  mutable absl::Mutex mu_;
  std::shared_ptr<const ExperimentSet> set_;
};

}  // namespace journey::recommend
