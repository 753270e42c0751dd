// A seeded generator source: record i is a pure function of i, so parallel instances produce
// disjoint parts of the same stream (instance k of p makes i = k, k + p, k + 2p, ...).
//
//   auto bids = job.source(eddy::generator<bid>(50'000'000, [](uint64_t i) { return make_bid(i);
//   })); auto paced = job.source(eddy::generator<bid>(n, make_bid).at_rate(1'000'000));  //
//   events/s auto timed = job.source(eddy::generator<bid>(n, make_bid)
//                             .with_event_time([](const bid& b) { return b.date_time; }));
//
// At full speed each call fills one batch in place and hands it downstream without copying.
// With a rate the source emits what is due by the wall clock and sleeps (without blocking a
// thread) until the next record is due. With event times it also emits watermarks (the largest
// time seen minus the allowed out-of-orderness).
//
// Replayable (operators/source.hpp): its position is the next index and the largest event time
// emitted, valid for the same parallelism. A paced generator resumed from a position starts its
// pacing afresh there: the record after the position is due at once, the rest at the rate.
#pragma once

#include <eddy/operators/source.hpp>
#include <eddy/sources/internal/pacing.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>

namespace eddy {

/// Where a generator instance is: what `position()` returns and `seek` takes.
struct generator_position {
  /// The next index the instance makes.
  uint64_t next = 0;
  /// The largest event time emitted (min_time: none, or untimed).
  timestamp watermark = min_time;
  /// The instances of the generator when the position was taken.
  uint64_t parallelism = 1;
};

/// Generates `count` records from a function of their index.
template <class T>
class generator {
public:
  using value_type = T;
  using make_fn = std::function<T(uint64_t)>;
  using time_fn = std::function<timestamp(const T&)>;
  using position_type = generator_position;

  generator(uint64_t count, make_fn make)
      : count_(count)
      , make_(std::move(make)) {}

  /// Emits about `events_per_second` records per second (over all instances); 0: full speed.
  generator at_rate(double events_per_second) const {
    auto copy = *this;
    copy.rate_ = events_per_second;
    return copy;
  }

  /// Stamps each record with `f(record)` and emits watermarks: the largest time seen, minus
  /// `out_of_orderness`, minus 1 (a later record with the largest time is still on time).
  generator with_event_time(time_fn f, timestamp out_of_orderness = 0) const {
    auto copy = *this;
    copy.time_ = std::move(f);
    copy.lag_ = out_of_orderness;
    return copy;
  }

  [[nodiscard]] bool timed() const noexcept { return static_cast<bool>(time_); }

  void open(uint32_t instance, uint32_t parallelism) {
    next_ = instance;
    step_ = parallelism;
    if (rate_ > 0)
      rate_ /= parallelism;
  }

  /// Where the next `produce` continues.
  [[nodiscard]] position_type position() const noexcept { return {next_, watermark_, step_}; }

  /// Continues from `pos` (after `open`, before the first `produce`). Throws when `pos` was taken
  /// with another parallelism or belongs to another instance: the indices would not line up.
  void seek(const position_type& pos) {
    if (pos.parallelism != step_ || pos.next < next_ || (pos.next - next_) % step_ != 0)
      throw std::runtime_error(
          "generator: the position (next index " + std::to_string(pos.next) + " of " +
          std::to_string(pos.parallelism) + " instances) does not belong to instance " +
          std::to_string(next_ % step_) + " of " + std::to_string(step_) +
          ": restore a generator with the parallelism it had at the checkpoint");
    next_ = pos.next;
    watermark_ = pos.watermark;
    emitted_ = 0; // pacing starts afresh with the next produce
  }

  produce_result produce(source_context<T>& ctx) {
    if (next_ >= count_)
      return {produce_result::done, {}};
    auto n = ctx.batch_size();
    if (rate_ > 0) {
      auto now = std::chrono::steady_clock::now();
      if (emitted_ == 0)
        start_ = now;
      auto elapsed = std::chrono::duration<double>(now - start_).count();
      internal::pacing pace{rate_};
      auto due = pace.due(elapsed);
      if (due <= emitted_) {
        auto wait = pace.wait_for_next(emitted_, elapsed);
        return {produce_result::wait,
                std::chrono::duration_cast<caf::timespan>(std::chrono::duration<double>(wait))};
      }
      n = std::min<uint64_t>(n, due - emitted_);
    }
    batch<T> b;
    b.items.reserve(n);
    if (time_)
      b.times.reserve(n);
    auto max_t = watermark_;
    for (uint64_t k = 0; k < n && next_ < count_; ++k, next_ += step_) {
      b.items.emplace_back(make_(next_));
      if (time_) {
        auto t = time_(b.items.back());
        b.times.push_back(t);
        max_t = std::max(max_t, t);
      }
    }
    emitted_ += b.items.size();
    b.urgent = rate_ > 0; // a paced source sends what is due now, full or not
    ctx.emit_batch(std::move(b));
    if (time_ && max_t != watermark_) {
      watermark_ = max_t;
      ctx.watermark(max_t - lag_ - 1);
    }
    return {next_ < count_ ? produce_result::more : produce_result::done, {}};
  }

private:
  /// Records over all instances.
  uint64_t count_;
  /// Record i.
  make_fn make_;
  /// Event time of a record, if any.
  time_fn time_;
  /// Allowed out-of-orderness of event times.
  timestamp lag_ = 0;
  /// Records per second of this instance; 0 for full speed.
  double rate_ = 0;
  /// Next index this instance makes.
  uint64_t next_ = 0;
  /// Distance between this instance's indices.
  uint64_t step_ = 1;
  /// Records emitted by this instance since pacing started (at the first produce, or a seek).
  uint64_t emitted_ = 0;
  /// When pacing started.
  std::chrono::steady_clock::time_point start_;
  /// Largest event time emitted.
  timestamp watermark_ = min_time;
};

} // namespace eddy
