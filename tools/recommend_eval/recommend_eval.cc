// Offline evaluation of the product recommender: replays a real dataset in time order through
// the same ItemModel the service uses (learning online, as the service does from the stream),
// holds out the next item of each test session and reports hit rate and MRR at 10 and 20 for
// the session model, last-item co-occurrence and popularity, all computed here.
//
//   recommend_eval --train=train.tsv --test=valid.tsv            (yoochoose, session-rec split)
//   recommend_eval --data=events.csv --format=rees46 --test_fraction=0.2
//   recommend_eval --data=events.csv --format=retailrocket
// --protocol=all predicts every next click of a test session; --protocol=last only its last item.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "services/recommend/item_model.h"

ABSL_FLAG(std::string, train, "", "yoochoose-format training file (SessionId<TAB>ItemId<TAB>Time)");
ABSL_FLAG(std::string, test, "", "yoochoose-format test file, sessions after the training period");
ABSL_FLAG(std::string, data, "", "one event file split by time (with --format)");
ABSL_FLAG(std::string, format, "yoochoose", "yoochoose | rees46 | retailrocket");
ABSL_FLAG(double, test_fraction, 0.2, "share of the time range (of --data) whose new sessions are test sessions");
ABSL_FLAG(std::string, protocol, "all", "all: every next item of a test session; last: only the last one");
ABSL_FLAG(double, recency_decay, 0.6, "ItemModelOptions.recency_decay");
ABSL_FLAG(int, window, 10, "ItemModelOptions.window");
ABSL_FLAG(double, backward_weight, 0.5, "ItemModelOptions.backward_weight");
ABSL_FLAG(bool, recommend_seen, true, "ItemModelOptions.recommend_seen");

namespace {

using journey::recommend::ItemModel;
using journey::recommend::ItemModelOptions;

struct Interaction {
  std::string session;
  std::string item;
  absl::Time time;
  double weight = 1.0;
};

bool ReadLines(const std::string& path, std::vector<std::string>* lines) {
  std::ifstream in(path);
  if (!in) return false;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) lines->push_back(line);
  }
  return true;
}

bool LoadYoochoose(const std::string& path, std::vector<Interaction>* out) {
  std::vector<std::string> lines;
  if (!ReadLines(path, &lines)) return false;
  for (const auto& l : lines) {
    std::vector<std::string> f = absl::StrSplit(l, '\t');
    double t = 0;
    if (f.size() < 3 || !absl::SimpleAtod(f[2], &t)) continue;
    out->push_back({f[0], f[1], absl::FromUnixMicros(static_cast<int64_t>(t * 1e6)), 1.0});
  }
  return true;
}

// REES46: event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session
bool LoadRees46(const std::string& path, std::vector<Interaction>* out) {
  std::vector<std::string> lines;
  if (!ReadLines(path, &lines)) return false;
  for (const auto& l : lines) {
    std::vector<std::string> f = absl::StrSplit(l, ',');
    if (f.size() < 9) continue;
    absl::Time t;
    std::string err;
    if (!absl::ParseTime("%Y-%m-%d %H:%M:%S UTC", f[0], &t, &err)) continue;
    double w = f[1] == "purchase" ? 3.0 : f[1] == "cart" ? 2.0 : 1.0;
    out->push_back({f[8].empty() ? f[7] : f[8], f[2], t, w});
  }
  return true;
}

// Retailrocket: timestamp(ms),visitorid,event,itemid,transactionid; sessions split by 30 min gaps
// inside the model, so the visitor is the session key.
bool LoadRetailrocket(const std::string& path, std::vector<Interaction>* out) {
  std::vector<std::string> lines;
  if (!ReadLines(path, &lines)) return false;
  for (const auto& l : lines) {
    std::vector<std::string> f = absl::StrSplit(l, ',');
    int64_t ms = 0;
    if (f.size() < 4 || !absl::SimpleAtoi(f[0], &ms)) continue;
    double w = f[2] == "transaction" ? 3.0 : f[2] == "addtocart" ? 2.0 : 1.0;
    out->push_back({f[1], f[3], absl::FromUnixMillis(ms), w});
  }
  return true;
}

struct Metric {
  double hits10 = 0, rr10 = 0, hits20 = 0, rr20 = 0;
  void Add(const std::vector<journey::recommend::ScoredItem>& recs, const std::string& target) {
    for (size_t i = 0; i < recs.size() && i < 20; ++i) {
      if (recs[i].item_id != target) continue;
      hits20 += 1;
      rr20 += 1.0 / (i + 1);
      if (i < 10) {
        hits10 += 1;
        rr10 += 1.0 / (i + 1);
      }
      return;
    }
  }
  void Print(const char* name, double n, bool last) const {
    std::printf("    \"%s\": {\"hr10\": %.4f, \"mrr10\": %.4f, \"hr20\": %.4f, \"mrr20\": %.4f}%s\n", name, hits10 / n,
                rr10 / n, hits20 / n, rr20 / n, last ? "" : ",");
  }
};

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const std::string format = absl::GetFlag(FLAGS_format);
  auto load = [&](const std::string& path, std::vector<Interaction>* out) {
    bool ok = format == "rees46" ? LoadRees46(path, out)
              : format == "retailrocket" ? LoadRetailrocket(path, out)
                                         : LoadYoochoose(path, out);
    if (!ok) {
      std::fprintf(stderr, "cannot read %s\n", path.c_str());
      std::exit(1);
    }
  };
  auto by_time = [](const Interaction& a, const Interaction& b) { return a.time < b.time; };
  std::vector<Interaction> train, test;
  if (!absl::GetFlag(FLAGS_data).empty()) {
    std::vector<Interaction> all;
    load(absl::GetFlag(FLAGS_data), &all);
    std::stable_sort(all.begin(), all.end(), by_time);
    if (all.empty()) return 1;
    const absl::Time split = all.front().time + (all.back().time - all.front().time) * (1 - absl::GetFlag(FLAGS_test_fraction));
    std::unordered_map<std::string, absl::Time> first;
    for (const auto& e : all) first.try_emplace(e.session, e.time);
    for (auto& e : all) (first[e.session] < split ? train : test).push_back(e);
  } else {
    load(absl::GetFlag(FLAGS_train), &train);
    load(absl::GetFlag(FLAGS_test), &test);
    for (auto& e : test) e.session = "test-" + e.session;  // ids may repeat across files
  }
  std::stable_sort(train.begin(), train.end(), by_time);
  std::stable_sort(test.begin(), test.end(), by_time);

  // session-rec protocol: items never seen in training are dropped from test sessions.
  std::unordered_set<std::string> known;
  for (const auto& e : train) known.insert(e.item);
  std::unordered_map<std::string, int> remaining;
  std::vector<Interaction> kept;
  for (const auto& e : test) {
    if (!known.count(e.item)) continue;
    kept.push_back(e);
    remaining[e.session]++;
  }

  ItemModelOptions options;
  options.recency_decay = absl::GetFlag(FLAGS_recency_decay);
  options.window = absl::GetFlag(FLAGS_window);
  options.backward_weight = absl::GetFlag(FLAGS_backward_weight);
  options.recommend_seen = absl::GetFlag(FLAGS_recommend_seen);
  ItemModel model(options);
  for (size_t i = 0; i < train.size(); ++i) {
    model.Observe(train[i].session, train[i].item, train[i].time, train[i].weight);
    if (i % 1000 == 999) model.RefreshRankings();
  }
  model.RefreshRankings();

  const bool last_only = absl::GetFlag(FLAGS_protocol) == "last";
  std::unordered_map<std::string, std::vector<std::string>> prefix;
  Metric session_model, last_item, popular;
  double cases = 0;
  size_t since_refresh = 0;
  for (const auto& e : kept) {
    std::vector<std::string>& p = prefix[e.session];
    const bool is_last = --remaining[e.session] == 0;
    if (!p.empty() && (!last_only || is_last)) {
      cases += 1;
      session_model.Add(model.Recommend(p, 20), e.item);
      last_item.Add(model.RecommendLastItem(p.back(), 20), e.item);
      popular.Add(model.Recommend({}, 20), e.item);
    }
    p.push_back(e.item);
    model.Observe(e.session, e.item, e.time, e.weight);
    if (++since_refresh == 1000) {
      model.RefreshRankings();
      since_refresh = 0;
    }
  }
  std::printf("{\n  \"train_events\": %zu, \"test_events\": %zu, \"cases\": %.0f, \"protocol\": \"%s\",\n", train.size(),
              kept.size(), cases, last_only ? "last" : "all");
  std::printf("  \"results\": {\n");
  session_model.Print("session_cooccurrence", std::max(cases, 1.0), false);
  last_item.Print("last_item_cooccurrence", std::max(cases, 1.0), false);
  popular.Print("popularity", std::max(cases, 1.0), true);
  std::printf("  }\n}\n");
  return 0;
}
