// How records of one operator are spread over the instances of the next.
//
//   forward    instance i sends to instance i (same parallelism on both sides)
//   rebalance  round-robin over all downstream instances, one batch at a time
//   hash       key -> key group (a fixed number, 128 by default) -> instance, so every record of
//              a key reaches the same instance and state can move per key group later
//   broadcast  every record to every downstream instance
//
//   uint32_t kg = eddy::key_group_of(eddy::hash_key(mote_id), 128);
//   uint32_t instance = eddy::instance_of(kg, 128, parallelism);
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace eddy {

/// How an edge spreads records over the downstream instances.
enum class partitioning : uint8_t { forward, rebalance, hash, broadcast };

/// Human-readable name of a partitioning.
[[nodiscard]] inline const char* to_string(partitioning x) noexcept {
  switch (x) {
  case partitioning::forward:
    return "forward";
  case partitioning::rebalance:
    return "rebalance";
  case partitioning::hash:
    return "hash";
  default:
    return "broadcast";
  }
}

/// Default number of key groups: the most instances a keyed operator can ever be scaled to.
inline constexpr uint32_t default_key_groups = 128;

/// A 64-bit finalizer (MurmurHash3's fmix64) that spreads any hash over all bits.
[[nodiscard]] constexpr uint64_t mix64(uint64_t z) noexcept {
  z ^= z >> 33;
  z *= 0xff51afd7ed558ccdULL;
  z ^= z >> 33;
  z *= 0xc4ceb9fe1a85ec53ULL;
  z ^= z >> 33;
  return z;
}

/// The hash of a key as eddy partitions it: std::hash, then mixed.
template <class Key>
[[nodiscard]] uint64_t hash_key(const Key& key) {
  return mix64(static_cast<uint64_t>(std::hash<Key>{}(key)));
}

/// The key group a key hash belongs to. Every record of a keyed edge computes it: with a power
/// of two key groups (the default 128) it is a mask, not a 64-bit division.
[[nodiscard]] constexpr uint32_t key_group_of(uint64_t hash, uint32_t key_groups) noexcept {
  if ((key_groups & (key_groups - 1)) == 0)
    return static_cast<uint32_t>(hash & (key_groups - 1));
  return static_cast<uint32_t>(hash % key_groups);
}

/// The instance (of `parallelism`) that owns key group `kg`: contiguous ranges, as in Flink.
[[nodiscard]] constexpr uint32_t instance_of(uint32_t kg, uint32_t key_groups,
                                             uint32_t parallelism) noexcept {
  auto scaled = uint64_t{kg} * parallelism;
  if (key_groups != 0 && (key_groups & (key_groups - 1)) == 0)
    return static_cast<uint32_t>(scaled >> __builtin_ctz(key_groups));
  return static_cast<uint32_t>(scaled / key_groups);
}

} // namespace eddy
