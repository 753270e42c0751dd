// A stream partitioned by key: what `stream<T>::key_by` returns. Any operator can follow it (each
// instance then sees every record of its keys); keyed operators also use the key itself:
//
//   auto counts = logins.key_by([](const login& l) { return l.user; })
//                       .process<int64_t>(count_logins{});     // keyed state and timers
//   auto plain = logins.key_by([](const login& l) { return l.user; })
//                      .process<int64_t>([](const login& l, eddy::collector<int64_t>& out) {
//                        out.emit(l.attempts);                 // a plain process function
//                      });
//
// `process<Out>(f)` is keyed when `f` takes `(const T&, keyed_context<Key, Out>&)` (see
// keyed_process.hpp) and a plain process function when it takes `(const T&, collector<Out>&)`.
#pragma once

#include <eddy/operators/keyed_process.hpp>
#include <eddy/operators/pattern_operator.hpp>
#include <eddy/operators/stream.hpp>
#include <eddy/operators/windowed_stream.hpp>

#include <functional>
#include <string>
#include <type_traits>
#include <utility>

namespace eddy {

namespace internal {

/// Whether sink `S` takes the key of a keyed stream of `T` (`with_stream_key(f)`).
template <class S, class T, class = void>
struct takes_stream_key : std::false_type {};
template <class S, class T>
struct takes_stream_key<S, T,
                        std::void_t<decltype(std::declval<const S&>().with_stream_key(
                            std::declval<std::function<std::string(const T&)>>()))>>
    : std::true_type {};

} // namespace internal

template <class T, class KeyF>
class pattern_stream;
template <class A, class KeyA, class B, class KeyB>
class keyed_connected_streams;
template <class T, class KeyF, class R, class K, class V>
class broadcast_connected_stream;
template <class A, class KeyA, class B, class KeyB>
class interval_join_builder;

/// A stream of `T` partitioned by the key function `KeyF`.
template <class T, class KeyF>
class keyed_stream : public stream<T> {
public:
  /// The key type.
  using key_type = std::decay_t<std::invoke_result_t<const KeyF&, const T&>>;

  keyed_stream(stream<T> partitioned, KeyF key)
      : stream<T>(std::move(partitioned))
      , key_(std::move(key)) {}

  /// The key function.
  [[nodiscard]] const KeyF& key_function() const noexcept { return key_; }

  /// A keyed process function `f(const T&, keyed_context<key_type, Out>&)` with keyed state and
  /// timers; or, for `f(const T&, collector<Out>&)`, a plain process function (with an optional
  /// end function) as on any stream.
  template <class Out, class F, class... End>
  stream<Out> process(F f, End... end) const {
    if constexpr (std::is_invocable_v<F&, const T&, keyed_context<key_type, Out>&>) {
      static_assert(sizeof...(End) == 0,
                    "process: a keyed process function has no end function; event-time timers "
                    "fire at the end of the input instead (register one at max_time - 1)");
      static_assert(std::is_copy_constructible_v<F>,
                    "process: the keyed process function must be copyable (one copy per instance)");
      return this->template then<Out>(
          "keyed_process", [key = key_, f](task& t, const internal::instance_wiring& w) {
            return std::make_unique<internal::keyed_process_logic<T, key_type, KeyF, Out, F>>(
                t, w, key, f);
          });
    } else {
      return stream<T>::template process<Out>(std::move(f), std::move(end)...);
    }
  }

  /// Ends the pipeline in `s` as on any stream; a sink that can use the stream's key (one with
  /// `with_stream_key(f)`, as Kafka's: the record's Kafka key unless `.key` or `.partition`
  /// says otherwise) gets it as text, for keys that are strings or numbers.
  template <class S>
  sink_ref sink(S s) const {
    if constexpr (internal::takes_stream_key<S, T>::value &&
                  (std::is_arithmetic_v<key_type> ||
                   std::is_convertible_v<const key_type&, std::string>))
      s = s.with_stream_key([key = key_](const T& x) -> std::string {
        if constexpr (std::is_arithmetic_v<key_type>)
          return std::to_string(std::invoke(key, x));
        else
          return std::string(std::invoke(key, x));
      });
    return stream<T>::sink(std::move(s));
  }

  // -- two inputs -------------------------------------------------------------------------------

  using stream<T>::connect;

  /// With another keyed stream (keys of the same type): a keyed co-process function whose two
  /// inputs share the keyed state and timers of a key (see connected_stream.hpp).
  template <class U, class KeyU>
  keyed_connected_streams<T, KeyF, U, KeyU> connect(const keyed_stream<U, KeyU>& other) const;

  /// With a broadcast stream (`rules.broadcast_state<K, V>("rules")`): a keyed function that
  /// also reads the broadcast state, which the broadcast records write (broadcast_process.hpp).
  template <class R, class K, class V>
  broadcast_connected_stream<T, KeyF, R, K, V>
  connect(const broadcast_stream<R, K, V>& other) const;

  /// Joins each record `a` with the records `b` of `other` of the same key whose event time is
  /// within `.between(lower, upper)` of a's (see interval_join.hpp).
  template <class U, class KeyU>
  interval_join_builder<T, KeyF, U, KeyU> interval_join(const keyed_stream<U, KeyU>& other) const;

  /// Cuts the stream into event-time windows per key (see windowed_stream.hpp).
  [[nodiscard]] windowed_stream<T, KeyF> window(window_spec spec) const {
    return windowed_stream<T, KeyF>{*this, key_, spec};
  }

  /// Windows of `size` records per key, in arrival order: one result per `size` records (a
  /// key's last, incomplete window never fires, as in Flink).
  [[nodiscard]] windowed_stream<T, KeyF, count_trigger> count_window(int64_t size) const {
    check_count(size, size);
    return window(global_window()).trigger(count_trigger{size, true});
  }

  /// Windows of the last `size` records per key, every `slide` records.
  [[nodiscard]] windowed_stream<T, KeyF, count_trigger, count_evictor>
  count_window(int64_t size, int64_t slide) const {
    check_count(size, slide);
    return window(global_window())
        .trigger(count_trigger{slide, false})
        .evictor(count_evictor{size});
  }

  /// Finds pattern `p` in each key's events, in event-time order; finish with `select` (see
  /// pattern_operator.hpp).
  [[nodiscard]] pattern_stream<T, KeyF> pattern(const ::eddy::pattern<T>& p) const {
    return pattern_stream<T, KeyF>{*this, key_, p};
  }

private:
  void check_count(int64_t size, int64_t slide) const {
    if (size <= 0 || slide <= 0)
      this->graph()->mistakes.push_back("count_window: size and slide must be positive, got " +
                                        std::to_string(size) + " and " + std::to_string(slide));
  }

  /// The key function.
  KeyF key_;
};

} // namespace eddy

// Two-input operators (they define connect, broadcast_state, join and interval_join).
#include <eddy/operators/broadcast_process.hpp>
#include <eddy/operators/connected_stream.hpp>
#include <eddy/operators/interval_join.hpp>
#include <eddy/operators/window_join.hpp>
