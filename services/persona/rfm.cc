#include "services/persona/rfm.h"

#include <algorithm>

#include "services/persona/proto_time.h"

namespace journey::persona {
namespace {

void Bounds(std::vector<double> values, google::protobuf::RepeatedField<double>* out) {
  out->Clear();
  if (values.empty()) return;
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  for (size_t k = 1; k <= 4; ++k) {
    size_t idx = (k * n + 4) / 5;  // ceil(k * n / 5)
    out->Add(values[idx == 0 ? 0 : idx - 1]);
  }
}

int Below(const google::protobuf::RepeatedField<double>& bounds, double v) {
  int n = 0;
  for (double b : bounds) n += b < v ? 1 : 0;
  return n;
}

}  // namespace

std::optional<RfmValues> RfmValuesOf(const pb::ProfileRecord& record, absl::Time now) {
  const auto& c = record.profile().computed();
  if (c.orders() <= 0 || !IsSet(c.last_order_at())) return std::nullopt;
  RfmValues v;
  v.recency_days = std::max(0.0, absl::ToDoubleHours(now - FromProto(c.last_order_at())) / 24.0);
  v.frequency = static_cast<double>(c.orders());
  v.monetary = c.revenue();
  return v;
}

pb::RfmModel BuildRfmModel(std::vector<RfmValues> population, absl::Time now) {
  pb::RfmModel model;
  std::vector<double> r, f, m;
  for (const auto& v : population) {
    r.push_back(v.recency_days);
    f.push_back(v.frequency);
    m.push_back(v.monetary);
  }
  Bounds(r, model.mutable_recency_days_bounds());
  Bounds(f, model.mutable_frequency_bounds());
  Bounds(m, model.mutable_monetary_bounds());
  model.set_population(static_cast<int64_t>(population.size()));
  ToProto(now, model.mutable_computed_at());
  return model;
}

pb::RfmScore ScoreRfm(const pb::RfmModel& model, const RfmValues& v) {
  pb::RfmScore s;
  if (model.population() == 0) return s;
  s.set_recency(5 - Below(model.recency_days_bounds(), v.recency_days));
  s.set_frequency(1 + Below(model.frequency_bounds(), v.frequency));
  s.set_monetary(1 + Below(model.monetary_bounds(), v.monetary));
  s.set_persona(RfmPersona(s.recency(), s.frequency()));
  return s;
}

std::string RfmPersona(int r, int f) {
  if (r <= 2) {
    if (f <= 2) return r == 1 && f == 1 ? "Lost" : "Hibernating";
    if (f <= 4) return "At Risk";
    return "Cannot Lose Them";
  }
  if (r == 3) {
    if (f <= 2) return "About to Sleep";
    if (f == 3) return "Needs Attention";
    return "Loyal";
  }
  if (f >= 4) return r == 5 ? "Champions" : "Loyal";
  if (f >= 2) return "Potential Loyalist";
  return r == 5 ? "New" : "Promising";
}

}  // namespace journey::persona
