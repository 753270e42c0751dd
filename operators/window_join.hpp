// window join: every pair (a, b) with the same key in the same event-time window (Flink's
// `a.join(b).where(...).equalTo(...).window(...).apply(...)`).
//
//   using namespace std::chrono_literals;
//   auto sellers = persons.join(auctions)
//                      .where([](const person& p) { return p.id; })
//                      .equal_to([](const auction& a) { return a.seller; })
//                      .window(eddy::tumbling(10s))      // or eddy::sliding(10s, 2s)
//                      .apply<new_seller>([](const person& p, const auction& a) {
//                        return new_seller{p.id, p.name, a.id};
//                      });
//
// Both keys must have the same type. Results carry event time end - 1, emitted when the watermark
// passes the window's end; a window emits nothing unless both sides have a record in it. Records
// are buffered per key with their slice (gcd(size, slide), window_slices.hpp) in keyed list state
// (the job's state backend: an append per record), and dropped once the last window holding
// their slice has fired. A record
// whose every window has fired, allowed lateness included, is late: counted (`late_records`) and
// sent to a late-data side output of its input (`.side_output_left_late_data(tag)`,
// `.side_output_right_late_data(tag)`), or else to the dead letters unless the spec says
// `late_policy::count`. With `.allowed_lateness(d)` records stay d ms after their last window
// fired, and a record within it joins at once with the other side's records of each of its
// windows that fired: the pairs those windows missed, each emitted once (Flink fires the whole
// window again). A throwing function sends the pair to the dead letters; the window goes on with
// the next pair.
#pragma once

#include <eddy/operators/stream.hpp>

#include <eddy/operators/co_process.hpp>
#include <eddy/operators/internal/join_support.hpp>
#include <eddy/operators/internal/keyed_store.hpp>
#include <eddy/operators/internal/two_input.hpp>
#include <eddy/operators/internal/window_slices.hpp>
#include <eddy/operators/window.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace eddy {

namespace internal {

/// The window join as the function of a keyed co-process operator.
template <class A, class B, class K, class Out, class F>
class window_join_function : public two_sided_join_base<Out, A, B> {
public:
  using context = keyed_context<K, Out>;

  window_join_function(F f, window_spec spec, join_state_observer observer)
      : f_(std::move(f))
      , geometry_(spec)
      , lateness_(spec.allowed_lateness)
      , on_late_(spec.on_late)
      , observer_(std::move(observer)) {}

  void open(context& ctx) {
    left_ = declared(ctx.state().template declare_list<std::pair<int64_t, A>>("join.left"));
    right_ = declared(ctx.state().template declare_list<std::pair<int64_t, B>>("join.right"));
  }

  void process1(const A& a, context& ctx) {
    if (add(left_, this->late_left_, a, ctx))
      join_late<true>(a, right_, right_buf_, ctx);
  }

  void process2(const B& b, context& ctx) {
    if (add(right_, this->late_right_, b, ctx))
      join_late<false>(b, left_, left_buf_, ctx);
  }

  /// At t: the window ending at t + 1 fires (every pair of its slices), then the records whose
  /// every window has fired and whose allowed lateness has passed go (a timer at a window's
  /// end - 1 + lateness, which may be no window's end, only cleans up).
  void on_timer(timestamp t, context& ctx) {
    auto end = t + 1;
    bool fires = geometry_.is_window_end(end);
    take(left_, left_buf_, as_, end, t, fires);
    take(right_, right_buf_, bs_, end, t, fires);
    for (const auto& a : as_)
      for (const auto& b : bs_)
        join_pair<Out>(*this->task_, this->out_, f_, a, b, t, ctx.watermark());
    if (observer_)
      observer_(this->task_->instance(), ctx.state().approximate_entries());
  }

private:
  /// Buffers `x` and registers the timers of its windows; false when it is late (too late for
  /// every window, allowed lateness included) or has no time. True with a window of `x` that has
  /// fired already (a record within the allowed lateness): the caller joins it at once.
  template <class T>
  bool add(const state::list_state<std::pair<int64_t, T>>& side, output<T>* late_out, const T& x,
           context& ctx) {
    auto time = ctx.time();
    auto wm = ctx.watermark();
    if (this->untimed(x, time, "a window join"))
      return false;
    auto [first_end, last_end] = geometry_.window_ends_of(time);
    if (wm != min_time && saturating_add(last_end - 1, lateness_) <= wm) {
      late_record(*this->task_, on_late_, late_out, x, time, wm,
                  "every window of the join and its allowed lateness");
      return false;
    }
    side.add(std::pair<int64_t, T>{geometry_.slice_of(time), x});
    if (lateness_ > 0) // the records stay until the lateness of their last window has passed
      ctx.register_event_time_timer(saturating_add(last_end - 1, lateness_));
    // A small cache of (key, window end) registered lately spares most timer-set lookups: a
    // timer it remembers either exists or has fired, and then no record registers it again
    // (its window's end is behind the watermark).
    auto& seen = registered_[state::key_hash<K>{}(ctx.key()) % registered_.size()];
    for (auto e = first_end; e <= last_end; e += geometry_.slide())
      if ((wm == min_time || e - 1 > wm) && !(seen.first == e && seen.second == ctx.key())) {
        ctx.register_event_time_timer(e - 1);
        seen = {e, ctx.key()};
      }
    return wm != min_time && first_end - 1 <= wm;
  }

  /// Joins `x`, a record within the allowed lateness, with the records of the other side in
  /// each of its windows that fired already: the pairs those firings could not have made. (Flink
  /// fires such a window again with all of its pairs; here no pair is emitted twice.) `Left`:
  /// `x` is of the first input.
  template <bool Left, class T, class U>
  void join_late(const T& x, const state::list_state<std::pair<int64_t, U>>& other,
                 std::vector<std::pair<int64_t, U>>& buf, context& ctx) {
    auto wm = ctx.watermark();
    if (!other.get(buf))
      return;
    auto [first_end, last_end] = geometry_.window_ends_of(ctx.time());
    for (auto e = first_end; e <= last_end && e - 1 <= wm; e += geometry_.slide()) {
      if (saturating_add(e - 1, lateness_) <= wm)
        continue; // that window's lateness has passed
      auto [s0, s1] = geometry_.slices_of_window(e);
      for (const auto& entry : buf) {
        if (entry.first < s0 || entry.first > s1)
          continue;
        if constexpr (Left)
          join_pair<Out>(*this->task_, this->out_, f_, x, entry.second, e - 1, wm);
        else
          join_pair<Out>(*this->task_, this->out_, f_, entry.second, x, e - 1, wm);
      }
    }
    buf.clear();
  }

  /// At time `t`: copies the records of the window ending at `end` from `side` to `out` (when
  /// `fires`), and drops from `side` the records whose last window has fired and whose allowed
  /// lateness has passed by `t`.
  template <class T>
  void take(const state::list_state<std::pair<int64_t, T>>& side,
            std::vector<std::pair<int64_t, T>>& buf, std::vector<T>& out, int64_t end, timestamp t,
            bool fires) {
    out.clear();
    if (!side.get(buf))
      return;
    auto [first, last] = geometry_.slices_of_window(end);
    size_t kept = 0;
    for (size_t i = 0; i < buf.size(); ++i) {
      auto slice = buf[i].first;
      if (fires && slice >= first && slice <= last)
        out.push_back(buf[i].second);
      if (saturating_add(geometry_.window_ends_of_slice(slice).second - 1, lateness_) > t) {
        if (kept != i)
          buf[kept] = std::move(buf[i]);
        ++kept;
      }
    }
    if (kept == buf.size())
      return; // every record is still needed
    if (kept == 0) {
      side.clear();
      return;
    }
    buf.resize(kept);
    side.update(std::move(buf));
    buf = {};
  }

  /// The user's join function.
  F f_;
  /// Where records and windows fall.
  window_geometry geometry_;
  /// How long after a window fired its records still join (ms).
  int64_t lateness_;
  /// What late records do.
  late_policy on_late_;
  /// The diagnostic hook, or empty.
  join_state_observer observer_;
  /// Buffered records per key, with their slices, in arrival order.
  state::list_state<std::pair<int64_t, A>> left_;
  state::list_state<std::pair<int64_t, B>> right_;
  /// The records of the window firing, and the lists they come from (reused).
  std::vector<A> as_;
  std::vector<B> bs_;
  std::vector<std::pair<int64_t, A>> left_buf_;
  std::vector<std::pair<int64_t, B>> right_buf_;
  /// The window end last registered per slot of key hashes (min_time: none).
  std::vector<std::pair<int64_t, K>> registered_ =
      std::vector<std::pair<int64_t, K>>(1024, std::pair<int64_t, K>{min_time, K{}});
};

} // namespace internal

/// Two keyed sides in event-time windows, to be joined with `apply<Out>(f)`.
template <class A, class B, class KeyA, class KeyB>
class windowed_join {
public:
  using key_type = std::decay_t<std::invoke_result_t<const KeyA&, const A&>>;

  windowed_join(stream<A> left, stream<B> right, KeyA ka, KeyB kb, window_spec spec)
      : left_(std::move(left))
      , right_(std::move(right))
      , ka_(std::move(ka))
      , kb_(std::move(kb))
      , spec_(spec) {
    auto& g = *left_.graph();
    if (spec_.kind != window_kind::sliding)
      g.mistakes.push_back("join: window joins take tumbling or sliding windows (eddy::tumbling, "
                           "eddy::sliding), not session or global ones");
    else if (spec_.size <= 0 || spec_.slide <= 0)
      g.mistakes.push_back("join: window size and slide must be positive (e.g. "
                           "eddy::tumbling(10s)), got size " +
                           std::to_string(spec_.size) + " ms and slide " +
                           std::to_string(spec_.slide) + " ms");
    if (spec_.allowed_lateness < 0)
      g.mistakes.push_back("join: allowed lateness must not be negative, got " +
                           std::to_string(spec_.allowed_lateness) + " ms");
  }

  /// What late records do (always counted as `late_records`). Default: the spec's (dead letters).
  /// late_policy::side_output needs a tag (below).
  windowed_join& on_late(late_policy p) {
    spec_.on_late = p;
    return *this;
  }

  /// How long after a window fired its records still join (ms): a record that comes within it
  /// joins at once with the other side's records of that window, emitting the pairs the window
  /// missed (each pair once). Default: the spec's (none).
  windowed_join& allowed_lateness(std::chrono::milliseconds d) {
    spec_.allowed_lateness = d.count();
    if (d.count() < 0)
      left_.graph()->mistakes.push_back("join: allowed lateness must not be negative, got " +
                                        std::to_string(d.count()) + " ms");
    return *this;
  }

  /// Records of the first input too late for every window (allowed lateness included) go to
  /// side output `tag`, taken from the joined stream with `.side_output(tag)`. Late records of an
  /// input without a tag go where on_late says.
  windowed_join& side_output_left_late_data(const output_tag<A>& tag) {
    late_tags_.left = tag.name();
    return *this;
  }

  /// The same for the second input.
  windowed_join& side_output_right_late_data(const output_tag<B>& tag) {
    late_tags_.right = tag.name();
    return *this;
  }

  /// Calls `f(instance, entries)` after each window fired (a diagnostic hook). Default: none.
  windowed_join& observe_state(join_state_observer f) {
    observer_ = std::move(f);
    return *this;
  }

  /// `f(const A&, const B&) -> Out` for every pair of a key in a window, or
  /// `f(const A&, const B&, collector<Out>&)` for any number of results per pair.
  template <class Out, class F>
  stream<Out> apply(F f) const {
    static_assert(std::is_invocable_v<F&, const A&, const B&, collector<Out>&> ||
                      std::is_invocable_r_v<Out, F&, const A&, const B&>,
                  "join: the function must take (const A&, const B&) and return Out, or take "
                  "(const A&, const B&, eddy::collector<Out>&)");
    auto& g = *left_.graph();
    late_tags_.check(g, spec_.on_late, "join");
    using function = internal::window_join_function<A, B, key_type, Out, F>;
    auto left = left_.key_by(ka_);
    auto right = right_.key_by(kb_);
    auto s = internal::two_input_node<A, Out>(
        left_.graph(), "window_join", left.edges(), right.edges(),
        [ka = ka_, kb = kb_, fn = function{f, spec_, observer_},
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
  stream<A> left_;
  stream<B> right_;
  KeyA ka_;
  KeyB kb_;
  window_spec spec_;
  internal::join_late_tags late_tags_;
  join_state_observer observer_;
};

/// `a.join(b).where(ka).equal_to(kb)`: both key functions, before the window.
template <class A, class B, class KeyA>
class join_where {
public:
  join_where(stream<A> left, stream<B> right, KeyA ka)
      : left_(std::move(left))
      , right_(std::move(right))
      , ka_(std::move(ka)) {}

  /// The key of the second stream's records, of the same type as the first's.
  template <class KeyB>
  auto equal_to(KeyB kb) const {
    static_assert(std::is_invocable_v<const KeyB&, const B&>,
                  "join: equal_to's key function must take const B& (the second stream's record)");
    using ka_t = std::decay_t<std::invoke_result_t<const KeyA&, const A&>>;
    using kb_t = std::decay_t<std::invoke_result_t<const KeyB&, const B&>>;
    static_assert(std::is_same_v<ka_t, kb_t>,
                  "join: where and equal_to must return keys of the same type; convert one");
    struct equal {
      stream<A> left;
      stream<B> right;
      KeyA ka;
      KeyB kb;
      /// The windows the pairs meet in.
      windowed_join<A, B, KeyA, KeyB> window(window_spec spec) const {
        return windowed_join<A, B, KeyA, KeyB>{left, right, ka, kb, spec};
      }
    };
    return equal{left_, right_, ka_, std::move(kb)};
  }

private:
  stream<A> left_;
  stream<B> right_;
  KeyA ka_;
};

/// `a.join(b)`: what `stream::join` returns; say the keys with `.where(ka).equal_to(kb)`.
template <class A, class B>
class join_builder {
public:
  join_builder(stream<A> left, stream<B> right)
      : left_(std::move(left))
      , right_(std::move(right)) {
    internal::same_job(*left_.graph(), right_.graph().get(), "join");
  }

  /// The key of the first stream's records.
  template <class KeyA>
  join_where<A, B, KeyA> where(KeyA ka) const {
    static_assert(std::is_invocable_v<const KeyA&, const A&>,
                  "join: where's key function must take const A& (the first stream's record)");
    return join_where<A, B, KeyA>{left_, right_, std::move(ka)};
  }

private:
  stream<A> left_;
  stream<B> right_;
};

template <class T>
template <class U>
join_builder<T, U> stream<T>::join(const stream<U>& other) const {
  return join_builder<T, U>{*this, other};
}

} // namespace eddy
