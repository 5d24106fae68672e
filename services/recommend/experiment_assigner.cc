#include "services/recommend/experiment_assigner.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "common/experiment/assignment.h"

namespace journey::recommend {
namespace {

using experiment::AssignmentBucket;
using experiment::kAssignmentBuckets;

bool InTarget(const Experiment& e, const TargetingContext& t) {
  if (t.now < e.start || t.now >= e.end) return false;
  if (e.placement_mask != 0 &&
      (t.placement == v1::PLACEMENT_UNSPECIFIED || (e.placement_mask & (1u << static_cast<int>(t.placement))) == 0)) {
    return false;
  }
  if (!e.stages.empty() && std::find(e.stages.begin(), e.stages.end(), t.stage) == e.stages.end()) return false;
  if (!e.segments.empty()) {
    if (t.segments == nullptr) return false;
    bool any = false;
    for (const auto& s : e.segments) any = any || std::find(t.segments->begin(), t.segments->end(), s) != t.segments->end();
    if (!any) return false;
  }
  return true;
}

}  // namespace

ExperimentSet::ExperimentSet(std::string workspace, ExperimentConfig config)
    : workspace_(std::move(workspace)), config_(std::move(config)) {
  holdout_experiment_.id = kHoldoutExperimentId;
  holdout_experiment_.layer = kHoldoutExperimentId;
  holdout_experiment_.attribution_window = config_.holdout.attribution_window;
  holdout_experiment_.source = "holdout";
  holdout_experiment_.variants = {{kHoldoutVariant, 1, true, {}}, {kPersonalizedVariant, 1, false, {}}};
  if (config_.holdout.enabled()) by_id_[holdout_experiment_.id] = &holdout_experiment_;

  std::map<std::string, Layer> layers;
  for (const Experiment& e : config_.experiments) {
    Layer& l = layers[e.layer];
    l.name = e.layer;
    // One salt per layer: its experiments split one bucket space, so they exclude each other.
    l.salt = absl::StrCat("layer:", e.layer);
    l.experiments.push_back(&e);
    by_id_[e.id] = &e;
  }
  for (auto& [name, layer] : layers) {
    std::sort(layer.experiments.begin(), layer.experiments.end(),
              [](const Experiment* a, const Experiment* b) { return a->bucket_from < b->bucket_from; });
    layers_.push_back(std::move(layer));
  }
}

const ExperimentVariant* ExperimentSet::VariantFor(const Experiment& e, absl::string_view workspace,
                                                   absl::string_view customer_id) {
  // Its own salt: who gets which variant does not depend on where the experiment sits in
  // its layer, so changing an experiment's traffic does not reshuffle the variants.
  const uint32_t bucket = AssignmentBucket(workspace, absl::StrCat("variant:", e.id), customer_id);
  double total = 0;
  for (const auto& v : e.variants) total += v.weight;
  double upper = 0;
  for (const auto& v : e.variants) {
    upper += v.weight / total * kAssignmentBuckets;
    if (bucket < upper) return &v;
  }
  return &e.variants.back();
}

Assignment ExperimentSet::Assign(absl::string_view customer_id, const TargetingContext& target) const {
  Assignment a;
  if (config_.holdout.enabled()) {
    a.holdout = experiment::InHoldout(config_.holdout.assignment, workspace_, customer_id);
    a.holdout_arm = {&holdout_experiment_, &holdout_experiment_.variants[a.holdout ? 0 : 1]};
    if (a.holdout) return a;  // the control group is in no experiment: it gets the baseline
  }
  if (!target.state_known) return a;
  bool offer_set_taken = false;
  for (const Layer& layer : layers_) {
    const uint32_t bucket = AssignmentBucket(workspace_, layer.salt, customer_id);
    for (const Experiment* e : layer.experiments) {
      if (bucket < e->bucket_from || bucket >= e->bucket_to) continue;
      if (!InTarget(*e, target)) break;
      const ExperimentVariant* v = VariantFor(*e, workspace_, customer_id);
      a.arms.push_back({e, v});
      if (v->treatment.ranking == ProductRanking::kPopularity) a.treatment.ranking = ProductRanking::kPopularity;
      if (!v->treatment.exploration) a.treatment.exploration = false;
      if (!offer_set_taken && !v->treatment.offer_ids.empty()) {
        a.treatment.offer_ids = v->treatment.offer_ids;
        offer_set_taken = true;
      }
      break;
    }
  }
  return a;
}

const Experiment* ExperimentSet::Find(absl::string_view id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second;
}

std::vector<const Experiment*> ExperimentSet::Attributable(absl::Time at) const {
  std::vector<const Experiment*> out;
  if (config_.holdout.enabled()) out.push_back(&holdout_experiment_);
  for (const Experiment& e : config_.experiments) {
    if (at >= e.start && (e.end == absl::InfiniteFuture() || at < e.end + e.attribution_window)) out.push_back(&e);
  }
  return out;
}

}  // namespace journey::recommend
