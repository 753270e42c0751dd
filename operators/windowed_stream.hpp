// A keyed stream cut into windows: what `keyed_stream::window(spec)` (and `count_window`)
// returns, to be finished with an aggregation or a full-window process function.
//
//   using namespace std::chrono_literals;
//   auto per_auction = bids.key_by([](const bid& b) { return b.auction; })
//                          .window(eddy::sliding(10s, 2s))
//                          .allowed_lateness(1s)
//                          .aggregate(eddy::count_of<bid>{});
//   auto highest = bids.key_by([](const bid& b) { return b.auction; })
//                      .window(eddy::tumbling(1min))
//                      .reduce([](const bid& a, const bid& b) { return a.price >= b.price ? a : b;
//                      });
//   auto sessions = clicks.key_by(&click_user).window(eddy::session(30min))
//                         .aggregate(eddy::count_of<click>{});
//   auto early = bids.key_by(&bid_auction).window(eddy::tumbling(1h))
//                    .trigger(eddy::early_count_trigger{1000})   // partial results, `early`
//                    .aggregate(eddy::count_of<bid>{});
//   auto tops = bids.key_by(&bid_auction).window(eddy::tumbling(1min))
//                   .process<bid>(top_bidder{});                // every record of the window
//
// Tumbling and sliding windows with the default trigger, no evictor and an aggregate run on the
// sliced fast path (window_aggregate.hpp); everything else on the general window operator
// (window_operator.hpp), which keeps each live window of a key on its own.
#pragma once

#include <eddy/operators/stream.hpp>
#include <eddy/operators/window.hpp>
#include <eddy/operators/window_aggregate.hpp>
#include <eddy/operators/window_evictor.hpp>
#include <eddy/operators/window_operator.hpp>
#include <eddy/operators/window_trigger.hpp>

#include <optional>
#include <string>
#include <type_traits>
#include <utility>

namespace eddy {

namespace internal {

/// A reduce function as an aggregate: the accumulator is the reduced record so far.
template <class T, class F>
struct reduce_aggregate {
  using accumulator = std::optional<T>;
  using result = T;
  F f;
  accumulator create_accumulator() const { return std::nullopt; }
  void add(const T& x, accumulator& acc) const { acc = acc ? f(std::as_const(*acc), x) : x; }
  void merge(accumulator& into, const accumulator& from) const {
    if (from)
      into = into ? f(std::as_const(*into), *from) : *from;
  }
  result get_result(const accumulator& acc) const { return *acc; }
};

} // namespace internal

/// A keyed stream of `T` (key function `KeyF`) in windows, with a trigger and an evictor.
template <class T, class KeyF, class Trigger = event_time_trigger, class Evictor = no_evictor>
class windowed_stream {
public:
  using key_type = std::decay_t<std::invoke_result_t<const KeyF&, const T&>>;

  windowed_stream(stream<T> input, KeyF key, window_spec spec, Trigger trigger = {},
                  Evictor evictor = {}, std::string late_tag = {}, bool custom_trigger = false)
      : input_(std::move(input))
      , key_(std::move(key))
      , spec_(spec)
      , trigger_(std::move(trigger))
      , evictor_(std::move(evictor))
      , late_tag_(std::move(late_tag))
      , custom_trigger_(custom_trigger) {
    bool bad = false;
    switch (spec_.kind) {
    case window_kind::sliding:
      bad = spec_.size <= 0 || spec_.slide <= 0;
      break;
    case window_kind::session:
      bad = spec_.size <= 0;
      break;
    case window_kind::global:
      break;
    }
    if (bad)
      input_.graph()->mistakes.push_back(
          "window: size, slide and session gap must be positive (e.g. eddy::sliding(10s, 2s) or "
          "eddy::session(30s)), got size " +
          std::to_string(spec_.size) + " ms and slide " + std::to_string(spec_.slide) + " ms");
  }

  /// Records up to `lateness` behind the watermark still update their windows (late firings).
  /// Default: 0.
  windowed_stream& allowed_lateness(std::chrono::milliseconds lateness) {
    spec_.allowed_lateness = lateness.count();
    if (lateness.count() < 0)
      input_.graph()->mistakes.push_back("window: allowed_lateness must not be negative");
    return *this;
  }

  /// What happens to records later than the allowed lateness. Default: dead letters.
  windowed_stream& on_late(late_policy p) {
    spec_.on_late = p;
    if (p == late_policy::side_output && late_tag_.empty())
      input_.graph()->mistakes.push_back(
          "window: on_late(late_policy::side_output) needs a tag: call "
          "side_output_late_data(eddy::output_tag<T>{\"late\"}) instead");
    return *this;
  }

  /// Records later than the allowed lateness go, as they are, to the side output `tag`, which
  /// the result stream gives back: `result.side_output(tag)` (see side_output.hpp).
  windowed_stream& side_output_late_data(const output_tag<T>& tag) {
    late_tag_ = tag.name();
    spec_.on_late = late_policy::side_output;
    return *this;
  }

  /// When windows fire (see window_trigger.hpp). Default: at their end in event time (global
  /// windows: never, so give them one).
  template <class Tr>
  windowed_stream<T, KeyF, Tr, Evictor> trigger(Tr t) const {
    return {input_, key_, spec_, std::move(t), evictor_, late_tag_, true};
  }

  /// Which records a window keeps when it fires (see window_evictor.hpp).
  template <class Ev>
  windowed_stream<T, KeyF, Trigger, Ev> evictor(Ev e) const {
    return {input_, key_, spec_, trigger_, std::move(e), late_tag_, custom_trigger_};
  }

  /// Aggregates each window with `agg` (create_accumulator, add, merge, get_result; see
  /// window_aggregate.hpp): a `window_result<key_type, Agg::result>` per firing of a window that
  /// holds records.
  template <class Agg>
  stream<window_result<key_type, typename Agg::result>> aggregate(Agg agg) const {
    using acc_t = typename Agg::accumulator;
    static_assert(std::is_invocable_r_v<acc_t, decltype(&Agg::create_accumulator), const Agg&>,
                  "aggregate: the aggregate needs `accumulator create_accumulator() const`");
    static_assert(std::is_invocable_v<decltype(&Agg::add), const Agg&, const T&, acc_t&>,
                  "aggregate: the aggregate needs `void add(const T&, accumulator&) const`");
    static_assert(
        std::is_invocable_v<decltype(&Agg::merge), const Agg&, acc_t&, const acc_t&>,
        "aggregate: the aggregate needs `void merge(accumulator&, const accumulator&) const`");
    using out_t = window_result<key_type, typename Agg::result>;
    if constexpr (std::is_same_v<Evictor, no_evictor> &&
                  std::is_same_v<Trigger, event_time_trigger>) {
      if (spec_.kind == window_kind::sliding && !custom_trigger_)
        return finish<out_t>(
            [key = key_, agg, spec = spec_](task& t, const internal::instance_wiring& w) {
              return std::make_unique<internal::window_aggregate_logic<T, key_type, KeyF, Agg>>(
                  t, w, key, agg, spec);
            });
    }
    if constexpr (std::is_same_v<Evictor, no_evictor>)
      return general<out_t>(internal::aggregate_policy<T, key_type, Agg>{std::move(agg)});
    else
      return general<out_t>(
          internal::evicting_aggregate_policy<T, key_type, Agg, Evictor>{std::move(agg), evictor_});
  }

  /// Reduces each window's records with `f(const T&, const T&) -> T`.
  template <class F>
  stream<window_result<key_type, T>> reduce(F f) const {
    static_assert(std::is_invocable_r_v<T, const F&, const T&, const T&>,
                  "reduce: the function must take (const T&, const T&) and return T");
    return aggregate(internal::reduce_aggregate<T, F>{std::move(f)});
  }

  /// A full-window process function `f(const key_type&, const std::vector<T>& records,
  /// window_context<Out, S>& ctx)`, called when a window fires with all its records (what the
  /// evictor left); `ctx` gives the window, whether the firing is early or late, and a state of
  /// the window's own when `F` declares `using window_state = S;` (see window_operator.hpp).
  template <class Out, class F>
  stream<Out> process(F f) const {
    using policy_t = internal::process_policy<T, key_type, Out, F, Evictor>;
    static_assert(std::is_invocable_v<F&, const key_type&, const std::vector<T>&,
                                      window_context<Out, typename policy_t::window_state>&>,
                  "process: the function must take (const Key&, const std::vector<T>&, "
                  "eddy::window_context<Out, WindowState>&)");
    return general<Out>(policy_t{std::move(f), evictor_});
  }

private:
  template <class Out, class Policy>
  stream<Out> general(Policy policy) const {
    if (spec_.kind == window_kind::global && !custom_trigger_)
      input_.graph()->mistakes.push_back(
          "window: a global window never fires by itself: give it a trigger, e.g. "
          ".trigger(eddy::count_trigger{100}), or use count_window(100)");
    return finish<Out>([key = key_, trigger = trigger_, policy = std::move(policy),
                        spec = spec_](task& t, const internal::instance_wiring& w) {
      return std::make_unique<internal::window_operator_logic<T, key_type, KeyF, Trigger, Policy>>(
          t, w, key, trigger, policy, spec);
    });
  }

  template <class Out, class Make>
  stream<Out> finish(Make make) const {
    auto s = input_.template then<Out>("window", std::move(make));
    auto& g = *s.graph();
    g.nodes.back().needs_event_time = spec_.kind != window_kind::global;
    if (spec_.on_late == late_policy::side_output)
      internal::declare_side_output<T>(g, g.nodes.size() - 1, late_tag_);
    return s;
  }

  /// The keyed input.
  stream<T> input_;
  /// The key function.
  KeyF key_;
  /// The windows.
  window_spec spec_;
  /// When windows fire.
  Trigger trigger_;
  /// What windows keep.
  Evictor evictor_;
  /// The side output of late records, if asked for.
  std::string late_tag_;
  /// The user chose the trigger (even if it is the default type).
  bool custom_trigger_ = false;
};

} // namespace eddy
