#include "common/storage/redis_key_slot.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"

namespace journey::storage {
namespace {

uint16_t Crc16(absl::string_view data) {
  uint16_t crc = 0;
  for (unsigned char c : data) {
    crc ^= static_cast<uint16_t>(c) << 8;
    for (int i = 0; i < 8; ++i) crc = (crc & 0x8000) ? static_cast<uint16_t>((crc << 1) ^ 0x1021) : crc << 1;
  }
  return crc;
}

CommandRoute Keyed(absl::string_view key) { return {CommandRoute::Kind::kKeyed, ClusterKeySlot(key)}; }

}  // namespace

uint16_t ClusterKeySlot(absl::string_view key) {
  if (auto open = key.find('{'); open != absl::string_view::npos) {
    if (auto close = key.find('}', open + 1); close != absl::string_view::npos && close > open + 1) {
      key = key.substr(open + 1, close - open - 1);
    }
  }
  return Crc16(key) % kClusterSlots;
}

CommandRoute RouteOf(const RedisCommand& command) {
  const CommandRoute any{CommandRoute::Kind::kAnyNode, 0};
  if (command.empty()) return any;
  const std::string name = absl::AsciiStrToUpper(command[0]);
  // PING answers for the whole cluster (health checks): every master must answer.
  if (name == "FLUSHALL" || name == "FLUSHDB" || name == "PING") return {CommandRoute::Kind::kAllMasters, 0};
  if (name == "SCRIPT" || name == "FUNCTION") {
    if (command.size() > 1) {
      const std::string sub = absl::AsciiStrToUpper(command[1]);
      if (sub == "LOAD" || sub == "FLUSH" || sub == "DELETE" || sub == "RESTORE") return {CommandRoute::Kind::kAllMasters, 0};
    }
    return any;
  }
  if (name == "EVAL" || name == "EVALSHA" || name == "EVAL_RO" || name == "EVALSHA_RO" || name == "FCALL" ||
      name == "FCALL_RO") {
    int numkeys = 0;
    if (command.size() > 3 && absl::SimpleAtoi(command[2], &numkeys) && numkeys > 0) return Keyed(command[3]);
    return any;
  }
  if (name == "XREAD" || name == "XREADGROUP") {
    for (size_t i = 1; i + 1 < command.size(); ++i) {
      if (absl::EqualsIgnoreCase(command[i], "STREAMS")) return Keyed(command[i + 1]);
    }
    return any;
  }
  // Container commands whose key follows a subcommand.
  if (name == "XGROUP" || name == "XINFO" || name == "OBJECT" || name == "MEMORY") {
    return command.size() > 2 ? Keyed(command[2]) : any;
  }
  static const char* const kKeyless[] = {"INFO",   "TIME",   "ECHO",     "CLUSTER", "CONFIG",
                                         "DEBUG",  "CLIENT", "COMMAND", "DBSIZE",  "AUTH",    "HELLO",
                                         "SELECT", "WAIT",   "LASTSAVE", "READONLY", "READWRITE", "ROLE",
                                         "SCAN",   "KEYS",   "RANDOMKEY", "PUBLISH", "MULTI",   "EXEC",
                                         "DISCARD", "ASKING"};
  for (const char* k : kKeyless) {
    if (name == k) return any;
  }
  return command.size() > 1 ? Keyed(command[1]) : any;
}

}  // namespace journey::storage
