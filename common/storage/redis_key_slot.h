// Redis Cluster routing facts: the hash slot of a key (CRC16 with {hash tags}) and which
// argument of a command is the key that routes it.
#pragma once

#include <cstdint>
#include <optional>

#include "absl/strings/string_view.h"
#include "common/storage/redis_client.h"

namespace journey::storage {

inline constexpr int kClusterSlots = 16384;

// CLUSTER KEYSLOT: CRC16-XMODEM of the key, or of the part between the first '{' and the
// next '}' when that part is not empty, modulo 16384.
uint16_t ClusterKeySlot(absl::string_view key);

// How a command must be sent on a cluster.
struct CommandRoute {
  enum class Kind {
    kKeyed,      // to the master of `slot`
    kAnyNode,    // no key (PING, INFO, TIME, ...): any master
    kAllMasters  // every master: shared state (SCRIPT/FUNCTION LOAD, FLUSHALL, FLUSHDB) and PING
  };
  Kind kind = Kind::kAnyNode;
  uint16_t slot = 0;
};

// The route of one command. Multi-key commands route by their first key (Redis rejects
// keys of several slots with CROSSSLOT anyway). MULTI/EXEC are handled by the client.
CommandRoute RouteOf(const RedisCommand& command);

}  // namespace journey::storage
