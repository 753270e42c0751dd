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
#pragma once

#include <eddy/operators/source.hpp>
#include <eddy/sources/internal/pacing.hpp>

#include <chrono>
#include <cstdint>
#include <functional>

namespace eddy {

/// Generates `count` records from a function of their index.
template <class T>
class generator {
public:
  using value_type = T;
  using make_fn = std::function<T(uint64_t)>;
  using time_fn = std::function<timestamp(const T&)>;

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
  /// Records emitted by this instance.
  uint64_t emitted_ = 0;
  /// When pacing started.
  std::chrono::steady_clock::time_point start_;
  /// Largest event time emitted.
  timestamp watermark_ = min_time;
};

} // namespace eddy
