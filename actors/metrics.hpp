// Per-instance metrics of a running job.
//
// Every operator instance owns one `instance_metrics`; its task actor updates it once per batch
// (relaxed atomics, so reading it while the job runs is cheap and safe). `job::metrics()` returns
// snapshots while the job runs and `job_report` holds the final ones.
//
//   for (const auto& m : report.metrics)
//     std::cout << m.op << '#' << m.instance << ": " << m.records_out << " out\n";
#pragma once

#include <caf/meta/type_name.hpp>

#include <atomic>
#include <cstdint>
#include <string>

namespace eddy {

/// A copy of one instance's counters at one moment.
struct metrics_snapshot {
  /// Operator name.
  std::string op;
  /// Instance index within the operator, 0-based.
  uint32_t instance = 0;
  /// Records received.
  uint64_t records_in = 0;
  /// Records emitted.
  uint64_t records_out = 0;
  /// Batches received.
  uint64_t batches_in = 0;
  /// Batches sent.
  uint64_t batches_out = 0;
  /// Records sent to the dead-letter output.
  uint64_t dead_letters = 0;
  /// Batches sent and not yet credited back by the receivers (now).
  uint64_t in_flight = 0;
  /// Most batches ever in flight at once, over all output channels.
  uint64_t peak_in_flight = 0;
  /// Most batches ever queued inside this instance (unsent output plus deferred input).
  uint64_t peak_queued = 0;
  /// Nanoseconds spent unable to send for lack of credit.
  uint64_t credit_wait_ns = 0;
  /// Records later than an event-time operator allows (dead-lettered or only counted).
  uint64_t late_records = 0;
  /// Times an in-flight log outgrew its limit (a failure of its receiver then restarts the job).
  uint64_t log_overflows = 0;
  /// Records received twice (after a recovery) and dropped.
  uint64_t duplicates_dropped = 0;
  /// Records sent again from the in-flight log to a replaced receiver (not in records_out).
  uint64_t records_replayed = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, metrics_snapshot& x) {
  return f(caf::meta::type_name("eddy.metrics_snapshot"), x.op, x.instance, x.records_in,
           x.records_out, x.batches_in, x.batches_out, x.dead_letters, x.in_flight,
           x.peak_in_flight, x.peak_queued, x.credit_wait_ns, x.late_records, x.log_overflows,
           x.duplicates_dropped, x.records_replayed);
}

/// The live counters of one instance. Written by its task actor only; read by anyone.
class instance_metrics {
public:
  // -- constructors ---------------------------------------------------------------------------

  instance_metrics(std::string op, uint32_t instance)
      : op_(std::move(op))
      , instance_(instance) {}

  // -- updates (the owning task only) ---------------------------------------------------------

  void add(std::atomic<uint64_t>& counter, uint64_t n) noexcept {
    counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }

  void raise(std::atomic<uint64_t>& peak, uint64_t value) noexcept {
    if (value > peak.load(std::memory_order_relaxed))
      peak.store(value, std::memory_order_relaxed);
  }

  // -- properties -----------------------------------------------------------------------------

  [[nodiscard]] const std::string& op() const noexcept { return op_; }

  [[nodiscard]] uint32_t instance() const noexcept { return instance_; }

  /// A consistent-enough copy of the counters (each counter is read atomically).
  [[nodiscard]] metrics_snapshot snapshot() const {
    auto get = [](const std::atomic<uint64_t>& x) { return x.load(std::memory_order_relaxed); };
    metrics_snapshot s;
    s.op = op_;
    s.instance = instance_;
    s.records_in = get(records_in);
    s.records_out = get(records_out);
    s.batches_in = get(batches_in);
    s.batches_out = get(batches_out);
    s.dead_letters = get(dead_letters);
    s.in_flight = get(in_flight);
    s.peak_in_flight = get(peak_in_flight);
    s.peak_queued = get(peak_queued);
    s.credit_wait_ns = get(credit_wait_ns);
    s.late_records = get(late_records);
    s.log_overflows = get(log_overflows);
    s.duplicates_dropped = get(duplicates_dropped);
    s.records_replayed = get(records_replayed);
    return s;
  }

  // -- counters -------------------------------------------------------------------------------

  /// Records received.
  std::atomic<uint64_t> records_in{0};
  /// Records emitted.
  std::atomic<uint64_t> records_out{0};
  /// Batches received.
  std::atomic<uint64_t> batches_in{0};
  /// Batches sent.
  std::atomic<uint64_t> batches_out{0};
  /// Records sent to the dead-letter output.
  std::atomic<uint64_t> dead_letters{0};
  /// Batches in flight now.
  std::atomic<uint64_t> in_flight{0};
  /// Peak of `in_flight`.
  std::atomic<uint64_t> peak_in_flight{0};
  /// Peak of batches queued inside the instance.
  std::atomic<uint64_t> peak_queued{0};
  /// Nanoseconds blocked on credit.
  std::atomic<uint64_t> credit_wait_ns{0};
  /// Records later than an event-time operator allows.
  std::atomic<uint64_t> late_records{0};
  /// In-flight logs that outgrew their limit.
  std::atomic<uint64_t> log_overflows{0};
  /// Records received twice and dropped.
  std::atomic<uint64_t> duplicates_dropped{0};
  /// Records sent again to a replaced receiver.
  std::atomic<uint64_t> records_replayed{0};

private:
  /// Operator name.
  std::string op_;
  /// Instance index.
  uint32_t instance_;
};

} // namespace eddy
