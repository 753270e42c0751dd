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
// whose every window has fired is late: counted (`late_records`) and, unless the spec says
// `late_policy::count`, sent to the dead letters. A throwing function sends the pair to the dead
// letters; the window goes on with the next pair. Allowed lateness is not supported yet.
#pragma once

#include <eddy/operators/stream.hpp>

#include <eddy/operators/co_process.hpp>
#include <eddy/operators/internal/join_support.hpp>
#include <eddy/operators/internal/keyed_store.hpp>
#include <eddy/operators/internal/two_input.hpp>
#include <eddy/operators/internal/window_slices.hpp>
#include <eddy/operators/window.hpp>

#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace eddy {

namespace internal {

/// The window join as the function of a keyed co-process operator.
template <class A, class B, class K, class Out, class F>
class window_join_function : public join_function_base<Out> {
public:
  using context = keyed_context<K, Out>;

  window_join_function(F f, window_spec spec, join_state_observer observer)
      : f_(std::move(f))
      , geometry_(spec)
      , on_late_(spec.on_late)
      , observer_(std::move(observer)) {}

  void open(context& ctx) {
    left_ = declared(ctx.state().template declare_list<std::pair<int64_t, A>>("join.left"));
    right_ = declared(ctx.state().template declare_list<std::pair<int64_t, B>>("join.right"));
  }

  void process1(const A& a, context& ctx) { add(left_, a, ctx); }

  void process2(const B& b, context& ctx) { add(right_, b, ctx); }

  /// The window ending at t + 1 fires: every pair of its slices, then the records no later
  /// window needs go.
  void on_timer(timestamp t, context& ctx) {
    auto end = t + 1;
    take(left_, left_buf_, as_, end);
    take(right_, right_buf_, bs_, end);
    for (const auto& a : as_)
      for (const auto& b : bs_)
        join_pair<Out>(*this->task_, this->out_, f_, a, b, t, ctx.watermark());
    if (observer_)
      observer_(this->task_->instance(), ctx.state().approximate_entries());
  }

private:
  template <class T>
  void add(const state::list_state<std::pair<int64_t, T>>& side, const T& x, context& ctx) {
    auto time = ctx.time();
    auto wm = ctx.watermark();
    if (this->untimed(x, time, "a window join"))
      return;
    auto [first_end, last_end] = geometry_.window_ends_of(time);
    if (wm != min_time && last_end - 1 <= wm) {
      late_record(*this->task_, on_late_, x, time, wm, "every window of the join");
      return;
    }
    side.add(std::pair<int64_t, T>{geometry_.slice_of(time), x});
    // A small cache of (key, window end) registered lately spares most timer-set lookups: a
    // timer it remembers either exists or has fired, and then no record registers it again
    // (its window's end is behind the watermark).
    auto& seen = registered_[state::key_hash<K>{}(ctx.key()) % registered_.size()];
    for (auto e = first_end; e <= last_end; e += geometry_.slide())
      if ((wm == min_time || e - 1 > wm) && !(seen.first == e && seen.second == ctx.key())) {
        ctx.register_event_time_timer(e - 1);
        seen = {e, ctx.key()};
      }
  }

  /// Copies the records of the window ending at `end` from `side` to `out`, and drops from
  /// `side` the records of slices that no later window holds.
  template <class T>
  void take(const state::list_state<std::pair<int64_t, T>>& side,
            std::vector<std::pair<int64_t, T>>& buf, std::vector<T>& out, int64_t end) {
    out.clear();
    if (!side.get(buf))
      return;
    auto [first, last] = geometry_.slices_of_window(end);
    size_t kept = 0;
    for (size_t i = 0; i < buf.size(); ++i) {
      auto slice = buf[i].first;
      if (slice >= first && slice <= last)
        out.push_back(buf[i].second);
      if (geometry_.window_ends_of_slice(slice).second > end) {
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
    if (spec_.allowed_lateness != 0)
      g.mistakes.push_back("join: window joins do not support allowed lateness yet; use a window "
                           "spec without it (late records are counted and dead-lettered)");
  }

  /// What late records do (always counted as `late_records`). Default: the spec's (dead letters).
  windowed_join& on_late(late_policy p) {
    spec_.on_late = p;
    if (p == late_policy::side_output)
      left_.graph()->mistakes.push_back(
          "join: late records go to dead letters or are counted (late_policy::dead_letter or "
          "late_policy::count); a join has no late-data side output yet");
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
    using function = internal::window_join_function<A, B, key_type, Out, F>;
    auto left = left_.key_by(ka_);
    auto right = right_.key_by(kb_);
    auto s = internal::two_input_node<A, Out>(
        left_.graph(), "window_join", left.edges(), right.edges(),
        [ka = ka_, kb = kb_,
         fn = function{f, spec_, observer_}](task& t, const internal::instance_wiring& w) {
          return std::make_unique<
              internal::keyed_co_process_logic<A, B, key_type, KeyA, KeyB, Out, function>>(t, w, ka,
                                                                                           kb, fn);
        });
    s.graph()->nodes.back().needs_event_time = true;
    return s;
  }

private:
  stream<A> left_;
  stream<B> right_;
  KeyA ka_;
  KeyB kb_;
  window_spec spec_;
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
