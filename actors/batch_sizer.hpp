// Buffer debloating: a receiver sizes its senders' batches so that what is in flight to it takes
// about `channel_config::debloat_target` to process.
//
// Credits bound a channel to `initial_credit` batches, but a batch of 512 KiB can take seconds
// to consume behind a slow operator, and an aligned checkpoint barrier waits behind all of it.
// As Flink's buffer debloating, the receiver measures how many records it consumes per second
// and grants each credit with a batch limit: rate x target / (channels x credits) records, so the
// whole backlog in front of it drains in about the target time, whatever the operator's speed.
// At full speed the limit lies far above the configured batch size and changes nothing.
//
//   eddy::batch_sizer sizer{cfg.debloat_target, /*channels=*/2, cfg.initial_credit};
//   auto limit = sizer.consumed(batch.items.size(), std::chrono::steady_clock::now());
//   send(upstream, eddy::credit{origin, 1, epoch, limit});   // 0: no measurement yet
#pragma once

#include <caf/timespan.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace eddy {

/// The fewest records a debloated batch holds. Low on purpose: the limit makes a channel carry
/// about credits / target batches per second (200 at the defaults) however slow its receiver,
/// so a small batch costs nothing where the floor applies, and a higher floor would keep seconds
/// of a very slow operator's work in flight.
inline constexpr uint32_t debloat_min_batch = 8;
/// What a sender starts with before its receiver has measured anything (the configured batch
/// size when that is smaller).
inline constexpr uint32_t debloat_start_batch = 64;

/// Measures a receiver's consumption rate and turns it into the batch limit its credits carry.
class batch_sizer {
public:
  using clock = std::chrono::steady_clock;

  /// Off.
  batch_sizer() noexcept = default;

  /// `target` 0 turns debloating off (`consumed` returns 0). `channels`: the receiver's input
  /// channels, which share its rate; `credits`: the batches each may have in flight.
  batch_sizer(caf::timespan target, size_t channels, uint32_t credits) noexcept
      : target_s_(std::chrono::duration<double>(target).count())
      , share_(static_cast<double>(std::max<size_t>(channels, 1)) *
               std::max<uint32_t>(credits, 1)) {}

  /// `n` records were consumed by `now`. Returns the batch limit to grant, 0 while there is no
  /// measurement (or debloating is off). The rate follows a drop at once and a rise smoothly,
  /// and the limit at most doubles per sample: a receiver that is fast before backpressure
  /// reaches it does not invite batches its later pace cannot drain in time.
  uint32_t consumed(size_t n, clock::time_point now) noexcept;

  /// Records per second, smoothed; negative before the first sample.
  [[nodiscard]] double rate() const noexcept { return rate_; }

private:
  /// A sample spans at least this many seconds.
  static constexpr double sample_s = 0.001;
  /// Weight of a new sample in the moving average.
  static constexpr double smoothing = 0.3;
  double target_s_ = 0;
  double share_ = 1;
  bool started_ = false;
  clock::time_point since_{};
  uint64_t records_ = 0;
  double rate_ = -1;
  /// The limit granted, 0 before the first sample (the senders then use debloat_start_batch).
  uint32_t limit_ = 0;
};

} // namespace eddy
