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
#include <eddy/operators/stream.hpp>
#include <eddy/operators/windowed_stream.hpp>

#include <type_traits>
#include <utility>

namespace eddy {

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

  /// Cuts the stream into event-time windows per key (see windowed_stream.hpp).
  [[nodiscard]] windowed_stream<T, KeyF> window(window_spec spec) const {
    return windowed_stream<T, KeyF>{*this, key_, spec};
  }

private:
  /// The key function.
  KeyF key_;
};

} // namespace eddy
