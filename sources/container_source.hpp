// A source that emits the elements of an in-memory container, for tests and small jobs.
//
//   std::vector<int> xs{1, 2, 3};
//   auto s = job.source(eddy::from_container(xs));
//   auto t = job.source(eddy::from_container(xs, [](const int& x) { return eddy::timestamp{x}; }));
//
// With parallelism p, instance k emits the elements at positions k, k + p, ...; with an event
// time function it also emits watermarks (the largest time seen so far).
#pragma once

#include <eddy/operators/source.hpp>

#include <functional>
#include <memory>
#include <vector>

namespace eddy {

/// Emits the elements of a vector.
template <class T>
class container_source {
public:
  using value_type = T;
  using time_fn = std::function<timestamp(const T&)>;

  explicit container_source(std::vector<T> xs, time_fn time = {})
      : xs_(std::make_shared<const std::vector<T>>(std::move(xs)))
      , time_(std::move(time)) {}

  [[nodiscard]] bool timed() const noexcept { return static_cast<bool>(time_); }

  void open(uint32_t instance, uint32_t parallelism) {
    next_ = instance;
    step_ = parallelism;
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
    auto max_t = watermark_;
    for (size_t k = 0; k < ctx.batch_size() && next_ < xs_->size(); ++k, next_ += step_) {
      const auto& x = (*xs_)[next_];
      if (time_) {
        auto t = time_(x);
        max_t = std::max(max_t, t);
        ctx.emit(x, t);
      } else {
        ctx.emit(x);
      }
    }
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
