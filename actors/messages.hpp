// The messages that travel on eddy's edges.
//
// Data moves in `batch<T>`s, never one record per message. Control messages travel in band,
// ordered with the data of the same channel: watermarks, checkpoint barriers, end of stream.
// Credits travel upstream and are what bounds memory (see output.hpp).
//
//   eddy::batch<int> b;
//   b.items = {1, 2, 3};
//   b.times = {10, 11, 12};   // optional event times, one per record
//   self->send(downstream, std::move(b));
//
// Every type here has an `inspect` overload, so a batch crosses a process boundary through CAF's
// middleman when T has one too.
#pragma once

#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace eddy {

/// Event time, in milliseconds.
using timestamp = int64_t;

/// The smallest event time: the watermark before anything has been seen.
inline constexpr timestamp min_time = std::numeric_limits<timestamp>::min();

/// The largest event time: the watermark that closes every window at the end of a stream.
inline constexpr timestamp max_time = std::numeric_limits<timestamp>::max();

/// Records on one channel, with optional per-record event times.
template <class T>
struct batch {
  /// Index of the receiving task's input this batch arrives on.
  uint32_t input = 0;
  /// Sender-side channel id, returned in credit messages.
  uint32_t origin = 0;
  /// The records.
  std::vector<T> items;
  /// Event time of each record, or empty when the stream carries no event times.
  std::vector<timestamp> times;
  /// Sent before it was full (linger time, low rate): the receiver passes its own partial
  /// output on at once instead of waiting to fill batches, so latency does not add up per hop.
  bool urgent = false;
  /// The channel's sequence number of the first record: records are numbered from 0 on each
  /// channel, across recoveries, so a receiver drops what it has seen when a replacement sender
  /// sends it again (batch boundaries may differ).
  uint64_t seq = 0;
  /// The sender's incarnation: 0, then one more each time it is replaced alone. A receiver
  /// drops what an earlier incarnation sent once a later one has spoken.
  uint32_t epoch = 0;
};

template <class Inspector, class T>
typename Inspector::result_type inspect(Inspector& f, batch<T>& x) {
  return f(caf::meta::type_name("eddy.batch"), x.input, x.origin, x.items, x.times, x.urgent, x.seq,
           x.epoch);
}

/// What an in-band control message means.
enum class control_kind : uint8_t {
  /// No record with an event time at or below `value` follows on this channel.
  watermark = 0,
  /// Checkpoint barrier `value` (aligned on by multi-input tasks in the checkpointing issue).
  barrier = 1,
  /// The channel is finished: nothing follows.
  end_of_stream = 2,
  /// The sender's idleness (value 1: idle, 0: active again), as Flink's WatermarkStatus: an idle
  /// input does not hold the receiver's watermark back. A batch on an idle input makes it active.
  idle = 3,
};

/// An in-band control message, ordered with the data of its channel.
struct control {
  /// Index of the receiving task's input.
  uint32_t input = 0;
  /// Sender-side channel id.
  uint32_t origin = 0;
  /// What this message means.
  control_kind kind = control_kind::watermark;
  /// The watermark's time, the barrier's checkpoint id, or 1 / 0 for idle / active.
  int64_t value = 0;
  /// The sender's incarnation (see batch::epoch).
  uint32_t epoch = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, control& x) {
  return f(caf::meta::type_name("eddy.control"), x.input, x.origin, x.kind, x.value, x.epoch);
}

/// Upstream: the receiver of channel `origin` accepts `amount` more batches.
struct credit {
  /// Sender-side channel id the credit is for.
  uint32_t origin = 0;
  /// Number of batches granted.
  uint32_t amount = 0;
  /// The receiver's incarnation: credit of a receiver that was replaced since is ignored.
  uint32_t epoch = 0;
  /// The most records the receiver wants per batch from now on (buffer debloating, see
  /// batch_sizer); 0: no change.
  uint32_t limit = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, credit& x) {
  return f(caf::meta::type_name("eddy.credit"), x.origin, x.amount, x.epoch, x.limit);
}

/// A record that could not be processed, with where it came from and why.
struct dead_letter {
  /// Operator name and instance, or file and line, the record came from.
  std::string origin;
  /// Why it was rejected: the parse error or the user function's exception message.
  std::string reason;
  /// The record itself, rendered as text.
  std::string record;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, dead_letter& x) {
  return f(caf::meta::type_name("eddy.dead_letter"), x.origin, x.reason, x.record);
}

inline bool operator==(const dead_letter& x, const dead_letter& y) {
  return x.origin == y.origin && x.reason == y.reason && x.record == y.record;
}

} // namespace eddy
