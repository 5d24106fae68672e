// libFuzzer target: segment definitions as persona reads them from config files (YAML or
// JSON), and condition trees as ApplySegment receives them (protobuf). Parsing, validation
// and evaluation of every valid condition against sample profiles must never crash.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "services/persona/condition_evaluator.h"
#include "services/persona/segment_files.h"

namespace {

namespace pb = ::journey::persona::v1;
namespace persona = ::journey::persona;

const absl::Time kNow = absl::FromUnixSeconds(1'793'534'400);

// An empty profile and one with a value for most attributes a condition can name.
std::vector<pb::ProfileRecord> SampleProfiles() {
  std::vector<pb::ProfileRecord> records(2);
  pb::ProfileRecord& r = records[1];
  pb::Profile* p = r.mutable_profile();
  p->set_user_id("u-1");
  (*p->mutable_traits())["plan"].mutable_value()->set_string_value("gold");
  (*p->mutable_traits())["age"].mutable_value()->set_number_value(31);
  (*p->mutable_traits())["vip"].mutable_value()->set_bool_value(true);
  (*p->mutable_traits())["tags"].mutable_value()->mutable_list_value()->add_values("x");
  (*p->mutable_traits())["born"].mutable_value()->mutable_time_value()->set_seconds(0);
  auto* c = p->mutable_computed();
  c->set_orders(3);
  c->set_revenue(120.5);
  c->set_events(40);
  c->mutable_first_seen()->set_seconds(1'790'000'000);
  c->mutable_last_seen()->set_seconds(1'793'000'000);
  c->mutable_last_order_at()->set_seconds(1'792'000'000);
  c->add_favourite_categories("shoes");
  c->set_journey_stage("PURCHASE");
  p->mutable_rfm()->set_recency(5);
  p->mutable_rfm()->set_persona("Champions");
  (*p->mutable_consent())["marketing"].set_granted(true);
  p->set_persona("bargain_hunter");
  auto& counter = (*r.mutable_event_counters())["Order Completed"];
  counter.set_total(3);
  auto* day = counter.add_days();
  day->set_day(20'757);
  day->set_count(2);
  return records;
}

void Exercise(const pb::Condition& condition) {
  static const std::vector<pb::ProfileRecord> profiles = SampleProfiles();
  (void)persona::DependsOnTime(condition);
  std::vector<std::string> errors;
  persona::ValidateCondition(condition, "condition", &errors);
  if (!errors.empty()) return;  // the service refuses these before it evaluates anything
  for (const auto& record : profiles) {
    (void)persona::EvaluateCondition(condition, record, kNow);
    const double score = persona::ConditionScore(condition, record, kNow);
    if (!(score >= 0 && score <= 1)) __builtin_trap();  // documented range [0, 1]
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // Even first byte: a segment file; odd: a Condition message off the wire.
  if (data[0] % 2 == 0) {
    const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
    auto definitions = persona::ParseSegmentDefinitions(text);
    if (!definitions.ok()) return 0;
    for (const auto& d : *definitions) Exercise(d.condition());
  } else {
    pb::Condition condition;
    if (!condition.ParseFromArray(data + 1, static_cast<int>(size - 1))) return 0;
    Exercise(condition);
  }
  return 0;
}
