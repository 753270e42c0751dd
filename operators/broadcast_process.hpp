// The broadcast state pattern: a low-rate stream (rules, parameters, model versions) reaches every
// instance of a keyed operator, which keeps it in a broadcast_map_state (broadcast_state.hpp) that
// its keyed records read. Flink's KeyedBroadcastProcessFunction.
//
//   struct check_amounts {
//     void process_element(const payment& p,
//                          eddy::keyed_broadcast_context<uint64_t, alert, std::string, rule>& ctx)
//                          {
//       if (const rule* r = ctx.broadcast_state().get("max-amount"); r && p.amount > r->limit)
//         ctx.emit(alert{p.account, p.amount});            // ctx: keyed state, timers as usual
//     }
//     void process_broadcast(const rule_update& u,
//                            eddy::broadcast_context<std::string, rule, alert>& ctx) {
//       ctx.state().put(u.name, u.rule);                   // the same on every instance
//     }
//   };
//   payments.key_by([](const payment& p) { return p.account; })
//       .connect(rule_updates.broadcast_state<std::string, rule>("rules"))
//       .process<alert>(check_amounts{});
//
// Optional: `open(ctx)` (declare keyed state) and `on_timer(t, ctx)` with the keyed context.
//
// Ordering, as in Flink: every instance sees the broadcast records of one upstream instance in
// the same order, so with a broadcast input of parallelism 1 (or updates that commute) the state
// is identical everywhere. Broadcast and keyed records are NOT ordered relative to each other: a
// keyed record may be processed before or after a rule sent "earlier". When that matters, buffer
// keyed records in keyed state and decide in an event-time timer: the watermark is the minimum
// over both inputs, so once it passes t every broadcast record up to t has arrived.
#pragma once

#include <eddy/operators/broadcast_state.hpp>
#include <eddy/operators/internal/keyed_core.hpp>
#include <eddy/operators/internal/two_input.hpp>
#include <eddy/operators/keyed_context.hpp>
#include <eddy/operators/stream.hpp>

#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace eddy {

/// What the keyed input's function sees: a keyed context plus the broadcast state, read-only.
template <class Key, class Out, class K, class V>
class keyed_broadcast_context : public keyed_context<Key, Out> {
public:
  using keyed_context<Key, Out>::keyed_context;

  /// The broadcast state (written by the broadcast input only).
  [[nodiscard]] const broadcast_map_state<K, V>& broadcast_state() const noexcept {
    return *broadcast_;
  }

  /// Set by the runtime.
  void set_broadcast(const broadcast_map_state<K, V>* b) noexcept { broadcast_ = b; }

private:
  /// The instance's broadcast state.
  const broadcast_map_state<K, V>* broadcast_ = nullptr;
};

/// What the broadcast input's function sees: the broadcast state, writable, and where results go.
template <class K, class V, class Out>
class broadcast_context {
public:
  broadcast_context(output<Out>* out, broadcast_map_state<K, V>* state) noexcept
      : out_(out)
      , state_(state) {}

  /// The broadcast state: every instance applies the same updates.
  [[nodiscard]] broadcast_map_state<K, V>& state() noexcept { return *state_; }

  /// Event time of the current broadcast record.
  [[nodiscard]] timestamp time() const noexcept { return time_; }

  /// The operator's current watermark.
  [[nodiscard]] timestamp watermark() const noexcept { return watermark_; }

  /// Emits `x` with the current event time (every instance emits it: once per instance).
  void emit(Out x) { out_->emit(std::move(x), time_); }

  /// Set by the runtime before each record.
  void set(timestamp time, timestamp watermark) noexcept {
    time_ = time;
    watermark_ = watermark;
  }

private:
  output<Out>* out_;
  broadcast_map_state<K, V>* state_;
  timestamp time_ = min_time;
  timestamp watermark_ = min_time;
};

namespace internal {

/// True when `F` has process_element(const T&, KCtx&) and process_broadcast(const R&, BCtx&).
template <class F, class T, class KCtx, class R, class BCtx, class = void>
struct has_broadcast_process : std::false_type {};
template <class F, class T, class KCtx, class R, class BCtx>
struct has_broadcast_process<F, T, KCtx, R, BCtx,
                             std::void_t<decltype(std::declval<F&>().process_element(
                                             std::declval<const T&>(), std::declval<KCtx&>())),
                                         decltype(std::declval<F&>().process_broadcast(
                                             std::declval<const R&>(), std::declval<BCtx&>()))>>
    : std::true_type {};

/// Per-instance logic of a keyed broadcast process function.
template <class T, class Key, class KeyF, class R, class K, class V, class Out, class F>
class keyed_broadcast_logic final
    : public two_input_logic<T, R, Out>,
      private keyed_core<Key, Out, F, keyed_broadcast_context<Key, Out, K, V>> {
public:
  using core = keyed_core<Key, Out, F, keyed_broadcast_context<Key, Out, K, V>>;

  keyed_broadcast_logic(task& t, const instance_wiring& w, KeyF key, F f, std::string name)
      : two_input_logic<T, R, Out>(t, w)
      , core(t, w, &this->out_, std::move(f))
      , key_(std::move(key))
      , broadcast_(std::move(name))
      , bctx_(&this->out_, &broadcast_) {
    this->ctx_.set_broadcast(&broadcast_);
    core::open();
  }

  caf::message_handler handlers(task& t) override {
    return two_input_logic<T, R, Out>::handlers(t).or_else(core::timer_handlers(t));
  }

  void on_watermark(task& t, timestamp wm) override { core::fire_event_timers(t, wm); }

  /// Checkpoints: the keyed state and timers per key group, and the broadcast state as the
  /// instance's operator state (its bytes, with their CRC-32C).
  void snapshot(task&, checkpoint_id, instance_state& out) override {
    core::snapshot_keyed_state(out);
    auto bytes = broadcast_.write_bytes();
    out.operator_state.assign(bytes.data(), bytes.size());
  }

  /// Recovery. Every instance held the same broadcast state, and each gets back its own copy (the
  /// operator state of its index; after a change of parallelism, an instance beyond the old count
  /// gets instance 0's).
  void restore(task& t, checkpoint_id, instance_state&& in) override {
    core::restore_keyed_state(t, in);
    if (in.operator_state.empty())
      return;
    std::vector<char> bytes(in.operator_state.begin(), in.operator_state.end());
    if (auto err = broadcast_.read_bytes(bytes))
      throw std::runtime_error(describe(err));
  }

  /// The instance's broadcast state (for snapshots).
  [[nodiscard]] const broadcast_map_state<K, V>& broadcast() const noexcept { return broadcast_; }

private:
  void on_batch1(task& t, batch<T>& in) override {
    core::keyed_batch(t, in, key_, [this](const T& x) { this->f_.process_element(x, this->ctx_); });
  }

  void on_batch2(task& t, batch<R>& in) override {
    // The same bookkeeping as a keyed batch: the TTL clock, and processing-time timers that are
    // due, also through stretches of broadcast records only.
    core::begin_batch(t);
    auto wm = t.watermark();
    bool timed = !in.times.empty();
    guarded_loop(t, in.items.size(), in.items, [&](size_t i) {
      bctx_.set(timed ? in.times[i] : min_time, wm);
      this->f_.process_broadcast(std::as_const(in.items[i]), bctx_);
    });
    core::end_batch(t);
  }

  /// The keyed input's key function.
  KeyF key_;
  /// The broadcast state.
  broadcast_map_state<K, V> broadcast_;
  /// What process_broadcast sees.
  broadcast_context<K, V, Out> bctx_;
};

} // namespace internal

/// A stream of `R` to broadcast into a broadcast state `K -> V` named `name`.
template <class R, class K, class V>
class broadcast_stream {
public:
  broadcast_stream(stream<R> records, std::string name)
      : records_(std::move(records))
      , name_(std::move(name)) {}

  /// The broadcast records (partitioned to every instance).
  [[nodiscard]] const stream<R>& records() const noexcept { return records_; }

  /// The state's name.
  [[nodiscard]] const std::string& name() const noexcept { return name_; }

private:
  stream<R> records_;
  std::string name_;
};

/// A keyed stream of `T` connected with a broadcast stream of `R`.
template <class T, class KeyF, class R, class K, class V>
class broadcast_connected_stream {
public:
  using key_type = std::decay_t<std::invoke_result_t<const KeyF&, const T&>>;

  broadcast_connected_stream(keyed_stream<T, KeyF> keyed, broadcast_stream<R, K, V> broadcast)
      : keyed_(std::move(keyed))
      , broadcast_(std::move(broadcast)) {
    auto& g = *keyed_.graph();
    if (&g != broadcast_.records().graph().get())
      g.mistakes.push_back("connect: the keyed stream and the broadcast stream belong to "
                           "different jobs; build both from one eddy::job");
  }

  /// `f.process_element(const T&, keyed_broadcast_context<key_type, Out, K, V>&)` per keyed
  /// record, `f.process_broadcast(const R&, broadcast_context<K, V, Out>&)` per broadcast record
  /// on every instance; optional `open(ctx)` and `on_timer(t, ctx)` with the keyed context.
  template <class Out, class F>
  stream<Out> process(F f) const {
    using kctx = keyed_broadcast_context<key_type, Out, K, V>;
    using bctx = broadcast_context<K, V, Out>;
    static_assert(internal::has_broadcast_process<F, T, kctx, R, bctx>::value,
                  "broadcast process: the function needs process_element(const T&, "
                  "eddy::keyed_broadcast_context<Key, Out, K, V>&) and process_broadcast(const R&, "
                  "eddy::broadcast_context<K, V, Out>&)");
    static_assert(std::is_copy_constructible_v<F>,
                  "process: the function must be copyable (one copy per instance)");
    auto id = internal::add_two_input_node<T, Out>(
        *keyed_.graph(), "broadcast_process", keyed_.edges(), broadcast_.records().edges(),
        [key = keyed_.key_function(), f,
         name = broadcast_.name()](task& t, const internal::instance_wiring& w) {
          return std::make_unique<
              internal::keyed_broadcast_logic<T, key_type, KeyF, R, K, V, Out, F>>(t, w, key, f,
                                                                                   name);
        },
        &internal::register_batch<Out>);
    keyed_.graph()->nodes[id].replicated_state = true;
    return stream<Out>{keyed_.graph(), {id}};
  }

private:
  keyed_stream<T, KeyF> keyed_;
  broadcast_stream<R, K, V> broadcast_;
};

// -- stream and keyed_stream members ------------------------------------------------------------

template <class T>
template <class K, class V>
broadcast_stream<T, K, V> stream<T>::broadcast_state(std::string name) const {
  return broadcast_stream<T, K, V>{broadcast(), std::move(name)};
}

template <class T, class KeyF>
template <class R, class K, class V>
broadcast_connected_stream<T, KeyF, R, K, V>
keyed_stream<T, KeyF>::connect(const broadcast_stream<R, K, V>& other) const {
  return broadcast_connected_stream<T, KeyF, R, K, V>{*this, other};
}

} // namespace eddy
