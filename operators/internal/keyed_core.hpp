// What every keyed operator instance with a user function, keyed state and timers shares: the
// keyed process function (one input), the keyed co-process function and broadcast process
// function (two inputs) and the joins built on them. It owns the user's function object, the
// instance's keyed state store, its timers and the context the function sees, and does the per
// record and per timer bookkeeping (current key, TTL clock, processing-time wake-ups, dead letters
// for throwing timers). Checkpoints take its store and timers per key group
// (keyed_snapshot.hpp); everything else it holds is scratch or rebuilt.
#pragma once

#include <eddy/actors/atoms.hpp>
#include <eddy/operators/internal/keyed_snapshot.hpp>
#include <eddy/operators/internal/keyed_store.hpp>
#include <eddy/operators/internal/logic_base.hpp>
#include <eddy/operators/keyed_context.hpp>
#include <eddy/state/key_group_range.hpp>
#include <eddy/state/key_hash.hpp>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

namespace eddy::internal {

template <class F, class Ctx, class = void>
struct has_open_ctx : std::false_type {};
template <class F, class Ctx>
struct has_open_ctx<F, Ctx, std::void_t<decltype(std::declval<F&>().open(std::declval<Ctx&>()))>>
    : std::true_type {};

template <class F, class Ctx, class = void>
struct has_on_timer : std::false_type {};
template <class F, class Ctx>
struct has_on_timer<
    F, Ctx, std::void_t<decltype(std::declval<F&>().on_timer(timestamp{}, std::declval<Ctx&>()))>>
    : std::true_type {};

/// True when `F` has `attach(task&, output<Out>*)`: the operators built on this core (joins) use
/// it to reach their task's dead letters and metrics, and their output.
template <class F, class Out, class = void>
struct has_attach : std::false_type {};
template <class F, class Out>
struct has_attach<F, Out,
                  std::void_t<decltype(std::declval<F&>().attach(
                      std::declval<task&>(), std::declval<output<Out>*>()))>> : std::true_type {};

/// The keyed part of a keyed operator instance: function `F` with context `Ctx` (a
/// keyed_context<K, Out> or a class derived from it), state and timers of key type `K`.
template <class K, class Out, class F, class Ctx = keyed_context<K, Out>>
class keyed_core {
public:
  using context = Ctx;

  keyed_core(task& t, const instance_wiring& w, output<Out>* out, F f)
      : f_(std::move(f))
      , key_groups_(t.channels().key_groups)
      , clock_(w.processing_clock)
      , store_(open_keyed_store<K>(t, w))
      , ctx_(out, &store_, &timers_, clock_) {
    if constexpr (has_attach<F, Out>::value)
      f_.attach(t, out);
  }

  /// Calls the function's `open(ctx)`, if it has one (after the derived operator completed the
  /// context).
  void open() {
    if constexpr (has_open_ctx<F, context>::value)
      f_.open(ctx_);
  }

  /// The handler of the processing-time wake-up.
  caf::message_handler timer_handlers(task& t) {
    return caf::message_handler{[this, &t](timer_atom) {
      wake_armed_ = false;
      fire_processing_timers(t);
      t.emitted_outside_batch();
    }};
  }

  /// Fires the event-time timers the watermark `wm` passed.
  void fire_event_timers(task& t, timestamp wm) {
    if constexpr (has_on_timer<F, context>::value) {
      timers_.fire_due(state::time_domain::event, wm,
                       [&](const state::timer<K>& x) { on_timer(t, x, x.time, wm); });
      backend_ok(t, store_);
    }
  }

  /// Before a batch: the TTL clock, and processing-time timers that are due.
  void begin_batch(task& t) {
    // State TTLs run on processing time, read once per batch through the job's clock.
    store_.set_time(clock_());
    fire_processing_timers(t);
  }

  /// After a batch: the backend's health and the next processing-time wake-up.
  void end_batch(task& t) {
    if (backend_ok(t, store_))
      arm_processing_wake(t);
  }

  /// Runs `call(const T&)` on every record of `in` with the record's key (`key(record)`) current
  /// and the context set to its time: the loop of every keyed input.
  template <class T, class KeyF, class Call>
  void keyed_batch(task& t, batch<T>& in, const KeyF& key, Call&& call) {
    begin_batch(t);
    auto wm = t.watermark();
    bool timed = !in.times.empty();
    guarded_loop(t, in.items.size(), in.items, [&](size_t i) {
      if (enter(t, key(std::as_const(in.items[i])), timed ? in.times[i] : min_time, wm))
        call(std::as_const(in.items[i]));
    });
    end_batch(t);
  }

  /// Makes `key` current for a record with event time `time`; false (the task failed) when the
  /// key is not this instance's.
  bool enter(task& t, K key, timestamp time, timestamp wm) {
    current_ = std::move(key);
    auto hash = state::key_hash<K>{}(current_);
    auto kg = key_group_of(hash, key_groups_);
    if (!make_current(t, store_, current_, hash, kg))
      return false;
    ctx_.set(&current_, kg, time, wm);
    return true;
  }

  /// Checkpoint: every key group of the store and the timers. The rest of the core is scratch
  /// (the current key, the context) or follows from the timers (the wake-up).
  void snapshot_keyed_state(instance_state& out) const { snapshot_keyed(store_, &timers_, out); }

  /// Recovery: the store and timers of the key groups in `in`, and a wake-up for the earliest
  /// restored processing-time timer, so it fires without waiting for a batch.
  void restore_keyed_state(task& t, const instance_state& in) {
    restore_keyed(store_, &timers_, in);
    arm_processing_wake(t);
  }

protected:
  void fire_processing_timers(task& t) {
    if constexpr (has_on_timer<F, context>::value) {
      if (timers_.size(state::time_domain::processing) == 0)
        return;
      auto now = clock_();
      store_.set_time(now);
      timers_.fire_due(state::time_domain::processing, now, [&](const state::timer<K>& x) {
        on_timer(t, x, t.watermark() == min_time ? min_time : t.watermark() + 1, t.watermark());
      });
      arm_processing_wake(t);
    }
  }

  /// Calls the user's on_timer for `x`; results are stamped `time`. Throws become dead letters.
  void on_timer(task& t, const state::timer<K>& x, timestamp time, timestamp wm) {
    if constexpr (has_on_timer<F, context>::value) {
      current_ = x.key;
      if (t.failed() || !make_current(t, store_, current_, x.kg))
        return;
      ctx_.set(&current_, x.kg, time, wm);
      try {
        f_.on_timer(x.time, ctx_);
      } catch (const std::exception& e) {
        t.user_error(e.what(),
                     "<timer " + std::to_string(x.time) + " of key " + render(x.key) + ">");
      } catch (...) {
        t.user_error("unknown exception", "<timer of key " + render(x.key) + ">");
      }
    }
  }

  /// Wakes the task when the earliest processing-time timer is due.
  void arm_processing_wake(task& t) {
    internal::arm_processing_wake(t, timers_, clock_, wake_armed_);
  }

  /// The user's function, one copy per instance.
  F f_;
  /// Key groups of the job.
  uint32_t key_groups_;
  /// Processing time in ms.
  std::function<int64_t()> clock_;
  /// The instance's keyed state.
  state::keyed_state_store<K> store_;
  /// The instance's timers.
  state::timer_service<K> timers_;
  /// What the user function sees.
  context ctx_;
  /// The key being processed.
  K current_{};
  /// A wake-up for processing-time timers is scheduled.
  bool wake_armed_ = false;
};

} // namespace eddy::internal
