// Tuning of the channels between tasks: batch size, linger time, credits, key groups.
//
//   eddy::channel_config cfg;
//   cfg.batch_size = 1024;                          // records per batch
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
  /// Records per batch: a full buffer is sent at once. Default: 4096.
  size_t batch_size = 4096;
  /// A partial batch is sent after this long, so latency stays low at low rates. Default: 1 ms.
  caf::timespan linger = std::chrono::milliseconds{1};
  /// Batches a receiver accepts per channel before the sender must wait. Default: 4.
  uint32_t initial_credit = 4;
  /// Key groups of hash partitioning: the most instances a keyed operator can have. Default: 128.
  uint32_t key_groups = 128;
};

} // namespace eddy
