// Window triggers: when a window of the general window operator (window_operator.hpp) emits its
// result and when it drops its contents, as Flink's Trigger. A window's trigger sees each record
// added, the timers it registered, and keeps a small state of its own per window.
//
//   auto per_minute = clicks.key_by(&click_user)
//                         .window(eddy::tumbling(1h))
//                         .trigger(eddy::early_count_trigger{1'000})   // a partial result per 1000
//                         .aggregate(eddy::count_of<click>{});          // and the final one
//   auto batches = clicks.key_by(&click_user).count_window(100);       // count_trigger inside
//
// A trigger of your own is a copyable object with these members (see event_time_trigger):
//
//   using state = S;   // per-window state: default-constructible, in keyed state (state/codec.hpp)
//   template <class T>
//   trigger_result on_element(const T&, timestamp t, const time_window&, S&, trigger_context&);
//   trigger_result on_event_time(timestamp t, const time_window&, S&, trigger_context&);
//   trigger_result on_processing_time(int64_t t, const time_window&, S&, trigger_context&);
//   void clear(const time_window&, S&, trigger_context&);     // the window goes: delete timers
//   void merge(S& into, const S& from, const time_window& merged, trigger_context&); // sessions
//
// Timers are per key: a trigger's timer calls on_event_time (or on_processing_time) for every
// window of the key, so a trigger checks that the time is its own (as event_time_trigger does).
// For the same reason deleting a timer only says it is no longer needed: another window of the
// key may have registered the same time, so the timer stays and fires for whoever still waits.
// Result flags follow the watermark: a firing before the window's end is `early`, a firing after
// one at its end is a `late_update`.
#pragma once

#include <eddy/actors/messages.hpp>
#include <eddy/operators/window.hpp>

#include <algorithm>
#include <cstdint>

namespace eddy {

/// What a trigger asks for.
enum class trigger_result : uint8_t {
  /// Nothing.
  keep,
  /// Emit the window's result; keep its contents.
  fire,
  /// Drop the window's contents without emitting.
  purge,
  /// Emit the result, then drop the contents.
  fire_and_purge,
};

/// What a trigger can do besides answering: timers of the current key, and the clocks.
class trigger_context {
public:
  virtual ~trigger_context() = default;
  /// Calls on_event_time(t) once the watermark reaches `t`.
  virtual void register_event_time_timer(timestamp t) = 0;
  virtual void delete_event_time_timer(timestamp t) = 0;
  /// Calls on_processing_time(t) once the job's processing clock reaches `t`.
  virtual void register_processing_time_timer(int64_t t) = 0;
  virtual void delete_processing_time_timer(int64_t t) = 0;
  /// The operator's watermark.
  [[nodiscard]] virtual timestamp watermark() const = 0;
  /// The job's processing time (ms; injectable, see job_config::processing_clock).
  [[nodiscard]] virtual int64_t processing_time() const = 0;
};

/// A trigger state for triggers that need none.
struct no_trigger_state {};

/// Fires once the watermark passes the window's end (again for each record within the allowed
/// lateness): the default for tumbling, sliding and session windows.
struct event_time_trigger {
  using state = no_trigger_state;

  template <class T>
  trigger_result on_element(const T&, timestamp, const time_window& w, state&,
                            trigger_context& ctx) const {
    if (w.max_timestamp() <= ctx.watermark())
      return trigger_result::fire; // a late record within the allowed lateness
    ctx.register_event_time_timer(w.max_timestamp());
    return trigger_result::keep;
  }
  trigger_result on_event_time(timestamp t, const time_window& w, state&, trigger_context&) const {
    return t == w.max_timestamp() ? trigger_result::fire : trigger_result::keep;
  }
  trigger_result on_processing_time(int64_t, const time_window&, state&, trigger_context&) const {
    return trigger_result::keep;
  }
  void clear(const time_window& w, state&, trigger_context& ctx) const {
    ctx.delete_event_time_timer(w.max_timestamp());
  }
  void merge(state&, const state&, const time_window& merged, trigger_context& ctx) const {
    if (merged.max_timestamp() > ctx.watermark())
      ctx.register_event_time_timer(merged.max_timestamp());
  }
};

/// Fires (and, with `purge`, drops the contents) every `count` records: count windows.
struct count_trigger {
  using state = int64_t;
  /// Records per firing. Must be positive.
  int64_t count = 1;
  /// Drop the window's contents when it fires (tumbling count windows), or keep them (sliding
  /// count windows, with a count_evictor).
  bool purge = true;

  template <class T>
  trigger_result on_element(const T&, timestamp, const time_window&, state& n,
                            trigger_context&) const {
    if (++n < count)
      return trigger_result::keep;
    n = 0;
    return purge ? trigger_result::fire_and_purge : trigger_result::fire;
  }
  trigger_result on_event_time(timestamp, const time_window&, state&, trigger_context&) const {
    return trigger_result::keep;
  }
  trigger_result on_processing_time(int64_t, const time_window&, state&, trigger_context&) const {
    return trigger_result::keep;
  }
  void clear(const time_window&, state& n, trigger_context&) const { n = 0; }
  void merge(state& into, const state& from, const time_window&, trigger_context&) const {
    into += from;
  }
};

/// An event-time trigger that also fires early, every `count` records of the window, for long
/// windows whose users cannot wait for the end.
struct early_count_trigger {
  using state = int64_t;
  /// Records per early firing. Must be positive.
  int64_t count = 1;

  template <class T>
  trigger_result on_element(const T& x, timestamp t, const time_window& w, state& n,
                            trigger_context& ctx) const {
    auto r = event_time_trigger{}.on_element(x, t, w, none, ctx);
    if (r != trigger_result::keep || ++n < count)
      return r;
    n = 0;
    return trigger_result::fire;
  }
  trigger_result on_event_time(timestamp t, const time_window& w, state& n,
                               trigger_context& ctx) const {
    auto r = event_time_trigger{}.on_event_time(t, w, none, ctx);
    if (r == trigger_result::fire)
      n = 0;
    return r;
  }
  trigger_result on_processing_time(int64_t, const time_window&, state&, trigger_context&) const {
    return trigger_result::keep;
  }
  void clear(const time_window& w, state&, trigger_context& ctx) const {
    event_time_trigger{}.clear(w, none, ctx);
  }
  void merge(state& into, const state& from, const time_window& merged,
             trigger_context& ctx) const {
    into += from;
    event_time_trigger{}.merge(none, none, merged, ctx);
  }

private:
  /// The state of the event-time part (it has none).
  static inline no_trigger_state none{};
};

/// An event-time trigger that also fires early every `interval_ms` of processing time while the
/// window holds records.
struct early_interval_trigger {
  /// The processing time of the pending early firing, or 0.
  using state = int64_t;
  /// Processing time between early firings. Must be positive.
  int64_t interval_ms = 1'000;

  template <class T>
  trigger_result on_element(const T& x, timestamp t, const time_window& w, state& next,
                            trigger_context& ctx) const {
    auto r = event_time_trigger{}.on_element(x, t, w, none, ctx);
    if (r == trigger_result::keep && next == 0) {
      next = ctx.processing_time() + interval_ms;
      ctx.register_processing_time_timer(next);
    }
    return r;
  }
  trigger_result on_event_time(timestamp t, const time_window& w, state&,
                               trigger_context& ctx) const {
    return event_time_trigger{}.on_event_time(t, w, none, ctx);
  }
  trigger_result on_processing_time(int64_t t, const time_window& w, state& next,
                                    trigger_context& ctx) const {
    if (next == 0 || t != next || w.max_timestamp() <= ctx.watermark())
      return trigger_result::keep;
    // After a stall, the next firing is an interval from now, not a burst of missed ones.
    next = std::max(t, ctx.processing_time()) + interval_ms;
    ctx.register_processing_time_timer(next);
    return trigger_result::fire;
  }
  void clear(const time_window& w, state& next, trigger_context& ctx) const {
    event_time_trigger{}.clear(w, none, ctx);
    if (next != 0)
      ctx.delete_processing_time_timer(next);
    next = 0;
  }
  void merge(state& into, const state& from, const time_window& merged,
             trigger_context& ctx) const {
    if (into == 0 || (from != 0 && from < into))
      into = from;
    event_time_trigger{}.merge(none, none, merged, ctx);
  }

private:
  /// The state of the event-time part (it has none).
  static inline no_trigger_state none{};
};

} // namespace eddy
