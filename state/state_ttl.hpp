// state_ttl: time-to-live of a keyed state's entries, measured on the store's clock.
//
// An entry expires `ttl_ms` after its last write (Flink's OnCreateAndWrite), on the time the
// operator passes in with `store.set_time(now_ms)`: event time, or processing time read through
// the runtime, so tests and replays drive it deterministically. Expired entries are never
// returned (Flink's NeverReturnExpired). In memory they are removed when read and a few per state
// access by an incremental sweep (Flink's incremental cleanup); in RocksDB by a compaction filter
// (Flink's RocksDB cleanup); on both, all at once by `store.cleanup()`.
//
//   auto ttl = eddy::state::state_ttl::after_ms(60'000);
//   auto seen = store.declare_value<int64_t>("last_seen", ttl);
//   store.set_time(record_time);
//   store.set_current_key(user);
//   seen->update(record_time);   // gone one minute (of store time) after the last update
#pragma once

#include <caf/timespan.hpp>

#include <chrono>
#include <cstdint>
#include <limits>

namespace eddy::state {

/// How long the entries of one state live after their last write.
struct state_ttl {
  /// Lifetime of an entry after its last write, in milliseconds of store time. Default: 0.
  int64_t ttl_ms = 0;
  /// Whether entries expire at all. Default: false (entries live until cleared).
  bool enabled = false;
  /// Slots the in-memory backend's incremental sweep checks per access of the state (RocksDB
  /// drops expired entries in compactions instead). Default: 5 (Flink's cleanup size).
  uint32_t cleanup_per_access = 5;

  /// A TTL of `ms` milliseconds.
  [[nodiscard]] static constexpr state_ttl after_ms(int64_t ms) noexcept { return {ms, true, 5}; }

  /// A TTL of `d`, rounded down to milliseconds.
  [[nodiscard]] static state_ttl after(caf::timespan d) noexcept {
    return after_ms(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
  }

  /// Sets how many entries the incremental sweep checks per access.
  [[nodiscard]] constexpr state_ttl with_cleanup_per_access(uint32_t n) const noexcept {
    auto x = *this;
    x.cleanup_per_access = n;
    return x;
  }

  /// True when an entry last written at `written` has expired at store time `now`.
  [[nodiscard]] constexpr bool expired(int64_t written, int64_t now) const noexcept {
    // Written in the future (a clock set back) counts as fresh; no overflow for any times.
    return enabled && now > written &&
           static_cast<uint64_t>(now) - static_cast<uint64_t>(written) >=
               static_cast<uint64_t>(ttl_ms);
  }

  /// TTLs are equal when they expire the same entries.
  friend constexpr bool operator==(const state_ttl& x, const state_ttl& y) noexcept {
    return x.enabled == y.enabled && (!x.enabled || x.ttl_ms == y.ttl_ms);
  }
};

} // namespace eddy::state
