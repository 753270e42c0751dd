// Tuning of the channels between tasks: batch size, linger time, credits, key groups.
//
//   eddy::channel_config cfg;
//   cfg.batch_size = 1024;                          // records per batch (0: by batch_bytes)
//   cfg.linger = std::chrono::microseconds{500};    // flush a partial batch after this long
#pragma once

#include <caf/timespan.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace eddy {

/// How channels batch and pace records. Shared by every channel of a job unless an operator
/// overrides it.
struct channel_config {
  /// Records per batch: a full buffer is sent at once. 0 sizes batches by `batch_bytes`.
  /// Default: 0.
  size_t batch_size = 0;
  /// With batch_size 0: about this many bytes of records per batch (sizeof the record type,
  /// so 16,384 records of 32 bytes), between 64 and 65,536 records. Default: 512 KiB.
  size_t batch_bytes = 512 * 1024;
  /// A partial batch is sent after this long, so latency stays low at low rates. Default: 1 ms.
  caf::timespan linger = std::chrono::milliseconds{1};
  /// Batches a receiver accepts per channel before the sender must wait. Default: 4.
  uint32_t initial_credit = 4;
  /// Buffer debloating (as Flink's): a receiver sizes its senders' batches so that what is in
  /// flight to it takes about this long to consume, so a checkpoint barrier does not wait
  /// seconds behind a slow operator. Batches start at 64 records (or the configured size, if
  /// smaller) and stay between 8 and the configured size; at full speed they are the configured
  /// size. 0 turns it off: batches are always the configured size. Default: 20 ms.
  caf::timespan debloat_target = std::chrono::milliseconds{20};
  /// Key groups of hash partitioning: the most instances a keyed operator can have. Default: 128.
  uint32_t key_groups = 128;
  /// A source instance that has emitted nothing for this long declares itself idle, in band
  /// (as Flink's WatermarkStatus): its consumers stop waiting for its watermark, so an idle
  /// partition does not stall event time, while an input that is merely backpressured is never
  /// taken for idle. Its next record makes it active again (and may be late). Sources can also
  /// call `source_context::mark_idle()`. Default: 0 (only explicit marks).
  caf::timespan idle_timeout{0};
};

/// Records per batch of `T` on a channel configured by `cfg`.
template <class T>
[[nodiscard]] size_t records_per_batch(const channel_config& cfg) noexcept {
  if (cfg.batch_size != 0)
    return cfg.batch_size;
  auto n = cfg.batch_bytes / sizeof(T);
  return n < 64 ? 64 : (n > 65536 ? 65536 : n);
}

} // namespace eddy
