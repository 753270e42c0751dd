// A keyed stream cut into event-time windows: what `keyed_stream::window(spec)` returns, to be
// finished with an aggregation.
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
#pragma once

#include <eddy/operators/stream.hpp>
#include <eddy/operators/window.hpp>
#include <eddy/operators/window_aggregate.hpp>

#include <optional>
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

/// A keyed stream of `T` (key function `KeyF`) in event-time windows.
template <class T, class KeyF>
class windowed_stream {
public:
  using key_type = std::decay_t<std::invoke_result_t<const KeyF&, const T&>>;

  windowed_stream(stream<T> input, KeyF key, window_spec spec)
      : input_(std::move(input))
      , key_(std::move(key))
      , spec_(spec) {
    if (spec_.size <= 0 || spec_.slide <= 0)
      input_.graph()->mistakes.push_back(
          "window: size and slide must be positive (e.g. eddy::sliding(10s, 2s)), got size " +
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
    return *this;
  }

  /// Aggregates each window incrementally with `agg` (create_accumulator, add, merge, get_result;
  /// see window_aggregate.hpp): one `window_result<key_type, Agg::result>` per non-empty window.
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
    auto s = input_.template then<out_t>(
        "window", [key = key_, agg, spec = spec_](task& t, const internal::instance_wiring& w) {
          return std::make_unique<internal::window_aggregate_logic<T, key_type, KeyF, Agg>>(
              t, w, key, agg, spec);
        });
    s.graph()->nodes.back().needs_event_time = true;
    return s;
  }

  /// Reduces each window's records with `f(const T&, const T&) -> T`.
  template <class F>
  stream<window_result<key_type, T>> reduce(F f) const {
    static_assert(std::is_invocable_r_v<T, const F&, const T&, const T&>,
                  "reduce: the function must take (const T&, const T&) and return T");
    return aggregate(internal::reduce_aggregate<T, F>{std::move(f)});
  }

private:
  /// The keyed input.
  stream<T> input_;
  /// The key function.
  KeyF key_;
  /// The windows.
  window_spec spec_;
};

} // namespace eddy
