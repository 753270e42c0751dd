// interval join: each record `a` of one keyed stream meets every record `b` of another with the
// same key and b.time in [a.time + lower, a.time + upper] (Flink's intervalJoin).
//
//   using namespace std::chrono_literals;
//   auto matched = clicks.key_by([](const click& c) { return c.user; })
//                      .interval_join(views.key_by([](const view& v) { return v.user; }))
//                      .between(-5s, 10s)               // or .between(-5'000, 10'000) in ms
//                      .process<visit>([](const click& c, const view& v) { return visit{c, v}; });
//
// The function is `f(const A&, const B&) -> Out` or `f(const A&, const B&, collector<Out>&)`
// (any number of results per pair); results carry event time max(a.time, b.time). Both sides are
// buffered in keyed state (the job's state backend), per key and event time, and dropped by
// event-time timers once the watermark has passed the last time a partner could still come:
// a.time + upper for `a`, b.time - lower for `b`. A record at or behind the watermark is late
// (its partners may be gone already): it is counted (`late_records`) and sent to a late-data side
// output of its input (`.side_output_left_late_data(tag)`, `.side_output_right_late_data(tag)`,
// then `joined.side_output(tag)`), or else to the dead letters (`.on_late(late_policy::count)`
// only counts). A throwing function sends the
// pair to the dead letters and the join goes on.
#pragma once

#include <eddy/operators/stream.hpp>

#include <eddy/operators/co_process.hpp>
#include <eddy/operators/collector.hpp>
#include <eddy/operators/internal/join_support.hpp>
#include <eddy/operators/internal/keyed_store.hpp>
#include <eddy/operators/internal/two_input.hpp>
#include <eddy/operators/window.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace eddy {

namespace internal {

/// The interval join as the function of a keyed co-process operator.
template <class A, class B, class K, class Out, class F>
class interval_join_function : public two_sided_join_base<Out, A, B> {
public:
  using context = keyed_context<K, Out>;

  interval_join_function(F f, int64_t lower, int64_t upper, late_policy on_late,
                         join_state_observer observer)
      : f_(std::move(f))
      , lower_(lower)
      , upper_(upper)
      , on_late_(on_late)
      , observer_(std::move(observer)) {}

  void open(context& ctx) {
    left_ = declared(ctx.state().template declare_map<int64_t, std::vector<A>>("join.left"));
    right_ = declared(ctx.state().template declare_map<int64_t, std::vector<B>>("join.right"));
  }

  void process1(const A& a, context& ctx) {
    auto ta = ctx.time();
    if (late(a, this->late_left_, ctx))
      return;
    append(left_, ta, a);
    ctx.register_event_time_timer(ta + upper_);
    right_.for_each([&](const int64_t& tb, const std::vector<B>& bs) {
      if (tb >= ta + lower_ && tb <= ta + upper_)
        for (const auto& b : bs)
          join_pair<Out>(*this->task_, this->out_, f_, a, b, std::max(ta, tb), ctx.watermark());
    });
  }

  void process2(const B& b, context& ctx) {
    auto tb = ctx.time();
    if (late(b, this->late_right_, ctx))
      return;
    append(right_, tb, b);
    ctx.register_event_time_timer(tb - lower_);
    left_.for_each([&](const int64_t& ta, const std::vector<A>& as) {
      if (tb >= ta + lower_ && tb <= ta + upper_)
        for (const auto& a : as)
          join_pair<Out>(*this->task_, this->out_, f_, a, b, std::max(ta, tb), ctx.watermark());
    });
  }

  /// Cleanup: the records at `t - upper` (left) and `t + lower` (right) can meet nothing more.
  void on_timer(timestamp t, context& ctx) {
    left_.remove(t - upper_);
    right_.remove(t + lower_);
    if (observer_)
      observer_(this->task_->instance(), ctx.state().approximate_entries());
  }

private:
  template <class T>
  bool late(const T& x, output<T>* side, const context& ctx) {
    if (this->untimed(x, ctx.time(), "an interval join"))
      return true;
    if (ctx.watermark() == min_time || ctx.time() > ctx.watermark())
      return false;
    late_record(*this->task_, on_late_, side, x, ctx.time(), ctx.watermark(), "the interval join");
    return true;
  }

  template <class T>
  static void append(const state::map_state<int64_t, std::vector<T>>& side, int64_t time,
                     const T& x) {
    const auto* old = side.get(time);
    std::vector<T> xs = old != nullptr ? std::vector<T>(*old) : std::vector<T>();
    xs.push_back(x);
    side.put(time, std::move(xs));
  }

  /// The user's join function.
  F f_;
  /// b.time - a.time is within [lower_, upper_].
  int64_t lower_;
  int64_t upper_;
  /// What late records do.
  late_policy on_late_;
  /// The diagnostic hook, or empty.
  join_state_observer observer_;
  /// Buffered records per key, by event time.
  state::map_state<int64_t, std::vector<A>> left_;
  state::map_state<int64_t, std::vector<B>> right_;
};

} // namespace internal

/// Two keyed streams to interval-join: `.between(lower, upper)` then `.process<Out>(f)`.
template <class A, class KeyA, class B, class KeyB>
class interval_join_builder {
public:
  using key_type = std::decay_t<std::invoke_result_t<const KeyA&, const A&>>;

  static_assert(std::is_same_v<key_type, std::decay_t<std::invoke_result_t<const KeyB&, const B&>>>,
                "interval_join: both keyed streams need keys of the same type; convert one key "
                "function's result");

  interval_join_builder(keyed_stream<A, KeyA> left, keyed_stream<B, KeyB> right)
      : left_(std::move(left))
      , right_(std::move(right)) {
    internal::same_job(*left_.graph(), right_.graph().get(), "interval_join");
  }

  /// A record `b` joins `a` when b.time is in [a.time + lower, a.time + upper] (ms, inclusive).
  interval_join_builder& between(timestamp lower, timestamp upper) {
    lower_ = lower;
    upper_ = upper;
    bounded_ = true;
    return *this;
  }

  /// The same, as durations.
  interval_join_builder& between(std::chrono::milliseconds lower, std::chrono::milliseconds upper) {
    return between(lower.count(), upper.count());
  }

  /// What late records do (always counted as `late_records`). Default: dead letters.
  /// late_policy::side_output needs a tag (below).
  interval_join_builder& on_late(late_policy p) {
    on_late_ = p;
    return *this;
  }

  /// Late records of the first (left) input go to side output `tag`, taken from the joined
  /// stream with `.side_output(tag)` (Flink's sideOutputLeftLateData). Late records of an input
  /// without a tag go where on_late says.
  interval_join_builder& side_output_left_late_data(const output_tag<A>& tag) {
    late_tags_.left = tag.name();
    return *this;
  }

  /// The same for the second (right) input (Flink's sideOutputRightLateData).
  interval_join_builder& side_output_right_late_data(const output_tag<B>& tag) {
    late_tags_.right = tag.name();
    return *this;
  }

  /// Calls `f(instance, entries)` after each cleanup (a diagnostic hook). Default: none.
  interval_join_builder& observe_state(join_state_observer f) {
    observer_ = std::move(f);
    return *this;
  }

  /// Joins with `f(const A&, const B&) -> Out` or `f(const A&, const B&, collector<Out>&)`.
  template <class Out, class F>
  stream<Out> process(F f) const {
    static_assert(std::is_invocable_v<F&, const A&, const B&, collector<Out>&> ||
                      std::is_invocable_r_v<Out, F&, const A&, const B&>,
                  "interval_join: the function must take (const A&, const B&) and return Out, or "
                  "take (const A&, const B&, eddy::collector<Out>&)");
    auto& g = *left_.graph();
    if (!bounded_)
      g.mistakes.push_back("interval_join: say which pairs meet with .between(lower, upper) "
                           "before .process");
    else if (lower_ > upper_)
      g.mistakes.push_back("interval_join: between(" + std::to_string(lower_) + ", " +
                           std::to_string(upper_) +
                           ") has its lower bound above its upper bound: swap them");
    late_tags_.check(g, on_late_, "interval_join");
    using function = internal::interval_join_function<A, B, key_type, Out, F>;
    auto s = internal::two_input_node<A, Out>(
        left_.graph(), "interval_join", left_.edges(), right_.edges(),
        [ka = left_.key_function(), kb = right_.key_function(),
         fn = function{f, lower_, upper_, on_late_, observer_},
         ports = std::pair{late_tags_.left_port(), late_tags_.right_port()}](
            task& t, const internal::instance_wiring& w) {
          return std::make_unique<
              internal::keyed_co_process_logic<A, B, key_type, KeyA, KeyB, Out, function>>(
              t, w, ka, kb, fn, ports);
        });
    s.graph()->nodes.back().needs_event_time = true;
    late_tags_.template declare<A, B>(g, g.nodes.size() - 1);
    return s;
  }

private:
  keyed_stream<A, KeyA> left_;
  keyed_stream<B, KeyB> right_;
  timestamp lower_ = 0;
  timestamp upper_ = 0;
  bool bounded_ = false;
  late_policy on_late_ = late_policy::dead_letter;
  internal::join_late_tags late_tags_;
  join_state_observer observer_;
};

template <class T, class KeyF>
template <class U, class KeyU>
interval_join_builder<T, KeyF, U, KeyU>
keyed_stream<T, KeyF>::interval_join(const keyed_stream<U, KeyU>& other) const {
  return interval_join_builder<T, KeyF, U, KeyU>{*this, other};
}

} // namespace eddy
