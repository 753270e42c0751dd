// A source that emits the elements of an in-memory container, for tests and small jobs.
//
//   std::vector<int> xs{1, 2, 3};
//   auto s = job.source(eddy::from_container(xs));
//   auto t = job.source(eddy::from_container(xs, [](const int& x) { return eddy::timestamp{x}; }));
//
// With parallelism p, instance k emits the elements at positions k, k + p, ...; with an event
// time function it also emits watermarks (the largest time seen so far). Replayable
// (operators/source.hpp): its position is the next element and the largest time emitted, valid for
// the same parallelism.
#pragma once

#include <eddy/operators/source.hpp>

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace eddy {

/// Where a container source instance is: what `position()` returns and `seek` takes.
struct container_position {
  /// The next element the instance emits.
  uint64_t next = 0;
  /// The largest event time emitted (min_time: none, or untimed).
  timestamp watermark = min_time;
  /// The instances of the source when the position was taken.
  uint64_t parallelism = 1;
};

/// Emits the elements of a vector.
template <class T>
class container_source {
public:
  using value_type = T;
  using time_fn = std::function<timestamp(const T&)>;
  using position_type = container_position;

  explicit container_source(std::vector<T> xs, time_fn time = {})
      : xs_(std::make_shared<const std::vector<T>>(std::move(xs)))
      , time_(std::move(time)) {}

  [[nodiscard]] bool timed() const noexcept { return static_cast<bool>(time_); }

  void open(uint32_t instance, uint32_t parallelism) {
    next_ = instance;
    step_ = parallelism;
  }

  /// Where the next `produce` continues.
  [[nodiscard]] position_type position() const noexcept { return {next_, watermark_, step_}; }

  /// Continues from `pos` (after `open`, before the first `produce`). Throws when `pos` was taken
  /// with another parallelism or belongs to another instance.
  void seek(const position_type& pos) {
    if (pos.parallelism != step_ || pos.next < next_ || (pos.next - next_) % step_ != 0)
      throw std::runtime_error("container source: the position (element " +
                               std::to_string(pos.next) + " of " + std::to_string(pos.parallelism) +
                               " instances) does not belong to instance " +
                               std::to_string(next_ % step_) + " of " + std::to_string(step_) +
                               ": restore it with the parallelism it had at the checkpoint");
    next_ = pos.next;
    watermark_ = pos.watermark;
  }

  produce_result produce(source_context<T>& ctx) {
    if (!time_ && step_ == 1) {
      // Untimed, one instance: copy a slice as one batch.
      auto n = std::min(ctx.batch_size(), xs_->size() - std::min(next_, xs_->size()));
      batch<T> b;
      b.items.assign(xs_->begin() + static_cast<std::ptrdiff_t>(next_),
                     xs_->begin() + static_cast<std::ptrdiff_t>(next_ + n));
      next_ += n;
      ctx.emit_batch(std::move(b));
      return {next_ < xs_->size() ? produce_result::more : produce_result::done, {}};
    }
    // One batch, handed on whole (without copying again when one channel takes it).
    auto max_t = watermark_;
    auto n = ctx.batch_size();
    batch<T> b;
    b.items.reserve(std::min(n, (xs_->size() - std::min(next_, xs_->size())) / step_ + 1));
    if (time_)
      b.times.reserve(b.items.capacity());
    for (size_t k = 0; k < n && next_ < xs_->size(); ++k, next_ += step_) {
      const auto& x = (*xs_)[next_];
      b.items.push_back(x);
      if (time_) {
        auto t = time_(x);
        max_t = std::max(max_t, t);
        b.times.push_back(t);
      }
    }
    ctx.emit_batch(std::move(b));
    if (max_t != watermark_)
      ctx.watermark((watermark_ = max_t) - 1);
    return {next_ < xs_->size() ? produce_result::more : produce_result::done, {}};
  }

private:
  /// The elements, shared by all instances.
  std::shared_ptr<const std::vector<T>> xs_;
  /// Event time of an element, if any.
  time_fn time_;
  /// Next position this instance emits.
  size_t next_ = 0;
  /// Distance between this instance's positions.
  size_t step_ = 1;
  /// Largest event time emitted.
  timestamp watermark_ = min_time;
};

/// A source of the elements of `xs`.
template <class T>
container_source<T> from_container(std::vector<T> xs) {
  return container_source<T>{std::move(xs)};
}

/// A source of the elements of `xs`, stamped with `time(x)`.
template <class T, class F>
container_source<T> from_container(std::vector<T> xs, F time) {
  return container_source<T>{std::move(xs), std::function<timestamp(const T&)>(std::move(time))};
}

} // namespace eddy
