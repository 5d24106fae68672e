// CPU time of the processes a bench starts, so figures can be normalised by CPU-seconds
// (comparable on a machine shared with other work, unlike wall-clock rates).
#pragma once

#include <sys/resource.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/storage/redis_client.h"

namespace journey::bench {

// User + system CPU seconds this process (the bench itself, with what it runs in process).
inline double SelfCpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// Context switches of this process's threads so far (voluntary: a thread blocked or waited;
// involuntary: it was preempted). Every thread wake-up costs one, so per request it shows
// how often a call hops between threads.
inline int64_t SelfContextSwitches() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<int64_t>(ru.ru_nvcsw) + static_cast<int64_t>(ru.ru_nivcsw);
}

// User + system CPU seconds from a /proc stat file (a process's or one thread's), and the
// name in its parentheses when `name` is given; -1 if unreadable.
inline double StatFileCpuSeconds(const std::string& path, std::string* name = nullptr) {
  std::FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return -1;
  char buf[1024];
  const size_t n = std::fread(buf, 1, sizeof(buf) - 1, f);
  std::fclose(f);
  buf[n] = '\0';
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const char* open = std::strchr(buf, '(');
  const char* rest = std::strrchr(buf, ')');
  if (open == nullptr || rest == nullptr || rest < open) return -1;
  if (name != nullptr) name->assign(open + 1, rest);
  std::vector<absl::string_view> fields = absl::StrSplit(absl::string_view(rest + 2), ' ');
  if (fields.size() < 13) return -1;
  double utime = 0, stime = 0;
  if (!absl::SimpleAtod(fields[11], &utime) || !absl::SimpleAtod(fields[12], &stime)) return -1;
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// User + system CPU seconds of a live process, from /proc/<pid>/stat (0 if unreadable).
inline double ProcessCpuSeconds(pid_t pid) {
  const double cpu = StatFileCpuSeconds("/proc/" + std::to_string(pid) + "/stat");
  return cpu < 0 ? 0 : cpu;
}

// used_cpu_sys + used_cpu_user of a Redis server, from INFO cpu (0 on error).
inline double RedisCpuSeconds(storage::RedisClient* redis) {
  auto info = redis->Command({"INFO", "cpu"});
  if (!info.ok()) return 0;
  double total = 0;
  for (absl::string_view line : absl::StrSplit(info->str, "\r\n")) {
    for (absl::string_view key : {"used_cpu_sys:", "used_cpu_user:"}) {
      double v = 0;
      if (absl::ConsumePrefix(&line, key) && absl::SimpleAtod(line, &v)) total += v;
    }
  }
  return total;
}

// Where a Redis server's time went since its last CONFIG RESETSTAT, from INFO commandstats,
// as a JSON object {"evalsha":{"calls":N,"usec":U},...} of the commands that took most of it
// (at most `top`). Redis's own per-command clock: it leaves out the event loop and I/O, so the
// sum is below used_cpu, but it shows which commands cost what.
inline std::string RedisCommandStatsJson(storage::RedisClient* redis, size_t top = 8) {
  auto info = redis->Command({"INFO", "commandstats"});
  if (!info.ok()) return "{}";
  struct Stat {
    std::string name;
    int64_t calls = 0;
    int64_t usec = 0;
  };
  std::vector<Stat> stats;
  for (absl::string_view line : absl::StrSplit(info->str, "\r\n")) {
    // cmdstat_evalsha:calls=12,usec=345,usec_per_call=28.75,...
    if (!absl::ConsumePrefix(&line, "cmdstat_")) continue;
    const size_t colon = line.find(':');
    if (colon == absl::string_view::npos) continue;
    Stat s{std::string(line.substr(0, colon))};
    for (absl::string_view kv : absl::StrSplit(line.substr(colon + 1), ',')) {
      if (absl::ConsumePrefix(&kv, "calls=")) (void)absl::SimpleAtoi(kv, &s.calls);
      if (absl::ConsumePrefix(&kv, "usec=")) (void)absl::SimpleAtoi(kv, &s.usec);
    }
    stats.push_back(std::move(s));
  }
  std::sort(stats.begin(), stats.end(), [](const Stat& a, const Stat& b) { return a.usec > b.usec; });
  std::string out = "{";
  for (size_t i = 0; i < stats.size() && i < top; ++i) {
    absl::StrAppend(&out, i ? "," : "", "\"", stats[i].name, "\":{\"calls\":", stats[i].calls,
                    ",\"usec\":", stats[i].usec, "}");
  }
  return out + "}";
}

}  // namespace journey::bench
