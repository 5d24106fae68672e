#include "services/persona/membership_scheduler.h"

#include <google/protobuf/util/message_differencer.h>

#include "common/log/log.h"
#include "common/storage/keys.h"
#include "services/persona/membership_engine.h"
#include "services/persona/rfm.h"

namespace journey::persona {
namespace {

bool SameDerived(const pb::Profile& a, const pb::Profile& b) {
  using google::protobuf::util::MessageDifferencer;
  if (a.persona() != b.persona() || a.segments_size() != b.segments_size()) return false;
  for (int i = 0; i < a.segments_size(); ++i) {
    if (a.segments(i) != b.segments(i)) return false;
  }
  if (!MessageDifferencer::Equals(a.rfm(), b.rfm()) || a.persona_scores_size() != b.persona_scores_size()) return false;
  for (const auto& [id, score] : a.persona_scores()) {
    auto it = b.persona_scores().find(id);
    if (it == b.persona_scores().end() || it->second != score) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<RunSummary> MembershipScheduler::RunOnce() {
  const std::string& ws = logic_->workspace();
  RunSummary summary;
  // Pass 1: the RFM population.
  std::vector<RfmValues> population;
  std::string cursor = "0";
  const absl::Time now = logic_->Now();
  do {
    auto page = store_->ScanRecords(ws, cursor, options_.page_size);
    if (!page.ok()) return page.status();
    cursor = page->cursor;
    for (const auto& record : page->records) {
      ++summary.profiles;
      if (auto v = RfmValuesOf(record, now)) population.push_back(*v);
    }
  } while (cursor != "0");
  summary.customers = static_cast<int64_t>(population.size());
  if (auto s = catalog_->StoreRfmModel(ws, BuildRfmModel(std::move(population), now)); !s.ok()) return s;

  // Pass 2: re-evaluate; write only what changed.
  auto segments = catalog_->Get(ws);
  cursor = "0";
  do {
    auto page = store_->ScanRecords(ws, cursor, options_.page_size);
    if (!page.ok()) return page.status();
    cursor = page->cursor;
    std::vector<std::string> stored_stages;
    for (const auto& record : page->records) stored_stages.push_back(record.profile().computed().journey_stage());
    if (auto s = store_->RefreshJourneyStages(ws, &page->records); !s.ok()) return s;
    std::vector<std::string> ids;
    for (size_t i = 0; i < page->records.size(); ++i) {
      const pb::ProfileRecord& record = page->records[i];
      pb::ProfileRecord copy = record;
      aggregator_->Refresh(now, &copy);
      auto changes = MembershipEngine::EvaluateWith(*segments, now, false, &copy);
      // A stage journey moved on is written too: the PersonaSnapshot carries it to recommend.
      if (!changes.empty() || !SameDerived(copy.profile(), record.profile()) ||
          record.profile().computed().journey_stage() != stored_stages[i]) {
        ids.push_back(record.profile().user_id());
      }
    }
    if (ids.empty()) continue;
    std::vector<PersonaLogic::Mutation> touch(ids.size(), [](pb::ProfileRecord*) { return true; });
    if (auto s = logic_->MutateProfiles(ids, touch); !s.ok()) return s;
    summary.rewritten += static_cast<int64_t>(ids.size());
  } while (cursor != "0");
  return summary;
}

void MembershipScheduler::Start() {
  if (running_.exchange(true)) return;
  thread_ = std::thread([this] {
    while (running_) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait_for(lock, absl::ToChronoMilliseconds(options_.interval), [this] { return !running_; });
      }
      if (!running_) break;
      // One replica per interval: the lease expires by itself, so a crashed holder blocks nobody for long.
      auto lease = store_->redis()->Command({"SET", keys::PersonaSchedulerLease(logic_->workspace()),
                                             options_.replica_id, "NX", "PX",
                                             std::to_string(absl::ToInt64Milliseconds(options_.interval) * 9 / 10)});
      if (!lease.ok() || !lease->is_string()) continue;
      auto summary = RunOnce();
      if (!summary.ok()) {
        log::Warn("membership re-evaluation failed", {{"error", std::string(summary.status().message())}});
      } else {
        log::Info("membership re-evaluated", {{"profiles", std::to_string(summary->profiles)},
                                              {"customers", std::to_string(summary->customers)},
                                              {"rewritten", std::to_string(summary->rewritten)}});
      }
    }
  });
}

void MembershipScheduler::Stop() {
  if (!running_.exchange(false)) return;
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace journey::persona
