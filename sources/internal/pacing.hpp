// The arithmetic of a paced source: record i (0-based, per instance) is due `i / rate` seconds
// after the start, so records leave when they are due, neither early nor a period late.
#pragma once

#include <cstdint>

namespace eddy::internal {

/// Records due and time to wait, for `rate` records per second.
struct pacing {
  /// Records per second (> 0).
  double rate = 0;

  /// How many records are due `elapsed` seconds after the start (record 0 is due at once).
  [[nodiscard]] uint64_t due(double elapsed) const noexcept {
    return static_cast<uint64_t>(elapsed * rate) + 1;
  }

  /// Seconds from `elapsed` until the next record (index `emitted`) is due; 0 when it is.
  [[nodiscard]] double wait_for_next(uint64_t emitted, double elapsed) const noexcept {
    auto at = static_cast<double>(emitted) / rate;
    return at > elapsed ? at - elapsed : 0.0;
  }
};

} // namespace eddy::internal
