// Two streams connected into one two-input operator: what `stream::connect` returns.
//
//   a.connect(b).process<alert>(f);          // f.process1(const A&, collector<alert>&),
//                                            // f.process2(const B&, collector<alert>&)
//   a.key_by(ka).connect(b.key_by(kb))       // keys of the same type
//    .process<alert>(g);                     // g.process1(const A&, keyed_context<K, alert>&),
//                                            // g.process2(const B&, ...), shared keyed state
//
// Either side may be a union of streams; both may have the same record type (the operator tells
// the inputs apart by their edges). See co_process.hpp for the functions, broadcast_process.hpp
// for `keyed.connect(rules.broadcast_state<K, V>("rules"))`.
#pragma once

#include <eddy/operators/stream.hpp>

#include <eddy/operators/co_process.hpp>
#include <eddy/operators/internal/two_input.hpp>

#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace eddy {

/// Two streams, of `A` and of `B`, into one operator.
template <class A, class B>
class connected_streams {
public:
  connected_streams(stream<A> first, stream<B> second)
      : first_(std::move(first))
      , second_(std::move(second)) {
    internal::same_job(*first_.graph(), second_.graph().get(), "connect");
  }

  /// `f.process1(const A&, collector<Out>&)` per record of the first stream and
  /// `f.process2(const B&, collector<Out>&)` per record of the second.
  template <class Out, class F>
  stream<Out> process(F f) const {
    static_assert(internal::has_process<F, A, B, collector<Out>>::value,
                  "connect(...).process: the function needs process1(const A&, "
                  "eddy::collector<Out>&) and process2(const B&, eddy::collector<Out>&)");
    return internal::two_input_node<A, Out>(
        first_.graph(), "co_process", first_.edges(), second_.edges(),
        [f](task& t, const internal::instance_wiring& w) {
          return std::make_unique<internal::co_process_logic<A, B, Out, F>>(t, w, f);
        });
  }

private:
  stream<A> first_;
  stream<B> second_;
};

/// Two keyed streams with keys of the same type, into one keyed operator.
template <class A, class KeyA, class B, class KeyB>
class keyed_connected_streams {
public:
  using key_type = std::decay_t<std::invoke_result_t<const KeyA&, const A&>>;

  static_assert(std::is_same_v<key_type, std::decay_t<std::invoke_result_t<const KeyB&, const B&>>>,
                "connect: both keyed streams need keys of the same type (records of a key meet at "
                "one instance only when both sides hash the same key type); convert one key "
                "function's result");

  keyed_connected_streams(keyed_stream<A, KeyA> first, keyed_stream<B, KeyB> second)
      : first_(std::move(first))
      , second_(std::move(second)) {
    internal::same_job(*first_.graph(), second_.graph().get(), "connect");
  }

  /// `f.process1(const A&, keyed_context<key_type, Out>&)` and `f.process2(const B&, ...)`, with
  /// the keyed state and timers of the record's key shared by both; optional `open(ctx)` and
  /// `on_timer(t, ctx)`.
  template <class Out, class F>
  stream<Out> process(F f) const {
    using ctx = keyed_context<key_type, Out>;
    static_assert(internal::has_process<F, A, B, ctx>::value,
                  "connect(...).process: on keyed streams the function needs process1(const A&, "
                  "eddy::keyed_context<Key, Out>&) and process2(const B&, "
                  "eddy::keyed_context<Key, Out>&)");
    static_assert(std::is_copy_constructible_v<F>,
                  "process: the function must be copyable (one copy per instance)");
    return internal::two_input_node<A, Out>(
        first_.graph(), "keyed_co_process", first_.edges(), second_.edges(),
        [ka = first_.key_function(), kb = second_.key_function(),
         f](task& t, const internal::instance_wiring& w) {
          return std::make_unique<
              internal::keyed_co_process_logic<A, B, key_type, KeyA, KeyB, Out, F>>(t, w, ka, kb,
                                                                                    f);
        });
  }

private:
  keyed_stream<A, KeyA> first_;
  keyed_stream<B, KeyB> second_;
};

// -- stream and keyed_stream members ------------------------------------------------------------

template <class T>
template <class U>
connected_streams<T, U> stream<T>::connect(const stream<U>& other) const {
  return connected_streams<T, U>{*this, other};
}

template <class T, class KeyF>
template <class U, class KeyU>
keyed_connected_streams<T, KeyF, U, KeyU>
keyed_stream<T, KeyF>::connect(const keyed_stream<U, KeyU>& other) const {
  return keyed_connected_streams<T, KeyF, U, KeyU>{*this, other};
}

} // namespace eddy
