// keyed process: a user function per record of a keyed stream, with keyed state in the job's
// state backend and timers per key (see keyed_context.hpp for what the function sees).
//
//   struct count_logins {
//     eddy::state::value_state<int64_t> n;
//     void open(eddy::keyed_context<std::string, int64_t>& ctx) {
//       n = *ctx.state().declare_value<int64_t>("n");
//     }
//     void operator()(const login& l, eddy::keyed_context<std::string, int64_t>& ctx) {
//       n.update((n.value() ? *n.value() : 0) + 1);
//       ctx.emit(*n.value());
//     }
//   };
//   logins.key_by([](const login& l) { return l.user; }).process<int64_t>(count_logins{});
//
// State declared with a TTL (`declare_value<V>(name, state::state_ttl::after_ms(60'000))`)
// expires on processing time (the job's processing clock, read once per batch), as in Flink.
//
// Optional members of the function object: `open(ctx)` (once per instance, to declare state),
// `on_timer(timestamp, ctx)` (a timer of the current key fired). An instance owns the key groups
// `key_group_range::of(instance, parallelism, key_groups)` and only their state: its state store
// and timers are what checkpoints snapshot per key group.
#pragma once

#include <eddy/actors/atoms.hpp>
#include <eddy/operators/internal/keyed_store.hpp>
#include <eddy/operators/internal/logic_base.hpp>
#include <eddy/operators/keyed_context.hpp>
#include <eddy/state/key_group_range.hpp>
#include <eddy/state/key_hash.hpp>

#include <stdexcept>
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

/// Per-instance logic of a keyed process function.
template <class In, class K, class KeyF, class Out, class F>
class keyed_process_logic final : public one_input_logic<In, Out> {
public:
  using context = keyed_context<K, Out>;

  keyed_process_logic(task& t, const instance_wiring& w, KeyF key, F f)
      : one_input_logic<In, Out>(t, w)
      , key_(std::move(key))
      , f_(std::move(f))
      , key_groups_(t.channels().key_groups)
      , clock_(w.processing_clock)
      , store_(open_keyed_store<K>(t, w))
      , ctx_(&this->out_, &store_, &timers_, clock_) {
    if constexpr (has_open_ctx<F, context>::value)
      f_.open(ctx_);
  }

  caf::message_handler handlers(task& t) override {
    return one_input_logic<In, Out>::handlers(t).or_else(caf::message_handler{
        [this, &t](timer_atom) {
          wake_armed_ = false;
          fire_processing_timers(t);
        },
    });
  }

  void on_watermark(task& t, timestamp wm) override {
    if constexpr (has_on_timer<F, context>::value) {
      timers_.fire_due(state::time_domain::event, wm,
                       [&](const state::timer<K>& x) { on_timer(t, x, x.time, wm); });
      backend_ok(t, store_);
    }
  }

private:
  void on_batch(task& t, batch<In>& in) override {
    // State TTLs run on processing time, read once per batch through the job's clock.
    store_.set_time(clock_());
    fire_processing_timers(t);
    auto wm = t.watermark();
    bool timed = !in.times.empty();
    guarded_loop(t, in.items.size(), in.items, [&](size_t i) {
      current_ = key_(std::as_const(in.items[i]));
      auto kg = key_group_of(state::key_hash<K>{}(current_), key_groups_);
      if (!make_current(t, store_, current_, kg))
        return;
      ctx_.set(&current_, kg, timed ? in.times[i] : min_time, wm);
      f_(std::as_const(in.items[i]), ctx_);
    });
    if (backend_ok(t, store_))
      arm_processing_wake(t);
  }

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
    auto* next = timers_.next(state::time_domain::processing);
    if (!next || wake_armed_)
      return;
    wake_armed_ = true;
    auto delay = std::max<int64_t>(0, next->time - clock_());
    t.delayed_send(&t, std::chrono::milliseconds{delay}, timer_atom::value);
  }

  /// The user's key function.
  KeyF key_;
  /// The user's process function, one copy per instance.
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
