// window operator: the general keyed window operator, for every window that the sliced fast path
// (window_aggregate.hpp) does not cover: session windows (merging), global and count windows,
// custom triggers (early firings), evictors, and full-window `process` functions that see all of
// a window's records, its metadata and a state of their own per window.
//
//   struct top_bidder {                         // a full-window process function
//     using window_state = int64_t;             // optional: kept with the window, across firings
//     void operator()(const uint64_t& auction, const std::vector<bid>& bids,
//                     eddy::window_context<bid, int64_t>& ctx) {
//       ctx.emit(*std::max_element(bids.begin(), bids.end(), by_price));
//       ++ctx.window_state();                   // how often this window fired
//     }
//   };
//   bids.key_by(&bid_auction).window(eddy::session(30s)).process<bid>(top_bidder{});
//
// Per key, the operator keeps a list of live windows in one value of keyed state (the job's state
// backend): each with its contents (an accumulator, or the records when the window has an evictor
// or a process function), its trigger's state and the process function's window state. Timers
// (the triggers' and the cleanup of each window when its allowed lateness has passed) are keyed
// timers: all of it is per key group, in the form the checkpoint issue snapshots. Results carry
// event time end - 1 (for global windows: the newest record's time since the last purge). When
// sessions merge, the merged window keeps the first one's window state. A merged session that
// took a window which had fired reports its next firings as late updates.
#pragma once

#include <eddy/actors/atoms.hpp>
#include <eddy/operators/internal/keyed_snapshot.hpp>
#include <eddy/operators/internal/keyed_store.hpp>
#include <eddy/operators/internal/logic_base.hpp>
#include <eddy/operators/internal/window_late.hpp>
#include <eddy/operators/internal/window_slices.hpp>
#include <eddy/operators/window.hpp>
#include <eddy/operators/window_evictor.hpp>
#include <eddy/operators/window_trigger.hpp>
#include <eddy/state/codec.hpp>
#include <eddy/state/key_hash.hpp>
#include <eddy/state/keyed_state_store.hpp>
#include <eddy/state/timer_service.hpp>

#include <algorithm>
#include <functional>
#include <type_traits>
#include <utility>
#include <vector>

namespace eddy {

/// No state per window (a process function without `using window_state = ...`).
struct no_window_state {};

/// What a full-window process function sees besides the key and the records.
template <class Out, class WindowState = no_window_state>
class window_context {
public:
  using emit_fn = std::function<void(Out&&)>;

  /// The window.
  [[nodiscard]] const time_window& window() const noexcept { return *window_; }
  /// The operator's watermark.
  [[nodiscard]] timestamp watermark() const noexcept { return watermark_; }
  /// True for an early firing (before the window's end).
  [[nodiscard]] bool early() const noexcept { return early_; }
  /// True for a late firing (an update after the window fired at its end).
  [[nodiscard]] bool late_update() const noexcept { return late_; }
  /// This window's own state, kept until the window goes (after its allowed lateness).
  [[nodiscard]] WindowState& window_state() noexcept { return *state_; }
  /// Emits `x` (event time: the window's end - 1, or the newest record's for global windows).
  void emit(Out x) { emit_(std::move(x)); }

  /// Set by the operator before each firing.
  void set(const time_window* w, timestamp wm, bool early, bool late, WindowState* s,
           emit_fn emit) {
    window_ = w;
    watermark_ = wm;
    early_ = early;
    late_ = late;
    state_ = s;
    emit_ = std::move(emit);
  }

private:
  const time_window* window_ = nullptr;
  timestamp watermark_ = min_time;
  bool early_ = false;
  bool late_ = false;
  WindowState* state_ = nullptr;
  emit_fn emit_;
};

} // namespace eddy

namespace eddy::internal {

template <class F, class = void>
struct window_state_of {
  using type = no_window_state;
};
template <class F>
struct window_state_of<F, std::void_t<typename F::window_state>> {
  using type = typename F::window_state;
};

/// The records of one window, with their event times, in arrival order.
template <class T>
struct window_buffer {
  std::vector<T> items;
  std::vector<timestamp> times;
};

/// One live window of one key.
template <class Contents, class TriggerState, class WindowState>
struct window_entry {
  time_window window;
  /// An accumulator or a window_buffer.
  Contents contents{};
  TriggerState trigger{};
  WindowState user{};
  /// The newest event time added.
  timestamp newest = min_time;
  /// Holds no record since it was made or purged.
  bool empty = true;
  /// Fired once the watermark had reached its end: later firings are late updates.
  bool fired_on_time = false;
};

/// How the operator changes a key's windows in place: a function run on the state value.
template <class S>
struct mutate_command {
  void* ctx = nullptr;
  void (*fn)(void*, S&) = nullptr;
};

/// The aggregate function that runs mutate commands (one state access per record or timer).
template <class S>
struct mutate_function {
  [[nodiscard]] S create_accumulator() const { return {}; }
  void add(const mutate_command<S>& c, S& s) const { c.fn(c.ctx, s); }
  [[nodiscard]] const S& get_result(const S& s) const { return s; }
};

// -- what a window computes: three policies --------------------------------------------------

/// An incremental aggregate without an evictor: the window keeps an accumulator.
template <class T, class K, class Agg>
struct aggregate_policy {
  using contents = typename Agg::accumulator;
  using out = window_result<K, typename Agg::result>;
  using window_state = no_window_state;
  Agg agg;

  [[nodiscard]] contents make() const { return agg.create_accumulator(); }
  void add(contents& c, const T& x, timestamp) const { agg.add(x, c); }
  void merge(contents& into, contents& from) const { agg.merge(into, from); }
  template <class Emit>
  void fire(const K& key, const time_window& w, contents& c, window_state&, bool late, bool early,
            timestamp, Emit&& emit) {
    emit(out{key, w.start, w.end, agg.get_result(c), late, early});
  }
};

/// Appends a window buffer to another.
template <class T>
void append(window_buffer<T>& into, window_buffer<T>& from) {
  std::move(from.items.begin(), from.items.end(), std::back_inserter(into.items));
  into.times.insert(into.times.end(), from.times.begin(), from.times.end());
}

/// What the policies that keep a window's records share: making, adding and merging buffers.
template <class T>
struct buffering_policy {
  using contents = window_buffer<T>;

  [[nodiscard]] contents make() const { return {}; }
  void add(contents& c, const T& x, timestamp t) const {
    c.items.push_back(x);
    c.times.push_back(t);
  }
  void merge(contents& into, contents& from) const { append(into, from); }
};

/// An aggregate over what an evictor leaves: the window keeps its records.
template <class T, class K, class Agg, class Evictor>
struct evicting_aggregate_policy : buffering_policy<T> {
  using contents = window_buffer<T>;
  using out = window_result<K, typename Agg::result>;
  using window_state = no_window_state;
  Agg agg;
  Evictor evictor;

  evicting_aggregate_policy(Agg a, Evictor e)
      : agg(std::move(a))
      , evictor(std::move(e)) {}
  template <class Emit>
  void fire(const K& key, const time_window& w, contents& c, window_state&, bool late, bool early,
            timestamp, Emit&& emit) {
    evictor.evict_before(c.items, c.times, w);
    auto acc = agg.create_accumulator();
    for (const auto& x : c.items)
      agg.add(x, acc);
    emit(out{key, w.start, w.end, agg.get_result(acc), late, early});
    evictor.evict_after(c.items, c.times, w);
  }
};

/// A full-window process function (with an evictor or no_evictor): the window keeps its records.
template <class T, class K, class Out, class F, class Evictor>
struct process_policy : buffering_policy<T> {
  using contents = window_buffer<T>;
  using out = Out;
  using window_state = typename window_state_of<F>::type;
  F f;
  Evictor evictor;
  window_context<Out, window_state> ctx;

  process_policy(F fn, Evictor e)
      : f(std::move(fn))
      , evictor(std::move(e)) {}
  template <class Emit>
  void fire(const K& key, const time_window& w, contents& c, window_state& s, bool late, bool early,
            timestamp wm, Emit&& emit) {
    if constexpr (!std::is_same_v<Evictor, no_evictor>)
      evictor.evict_before(c.items, c.times, w);
    ctx.set(&w, wm, early, late, &s, [&emit](Out&& x) { emit(std::move(x)); });
    f(key, std::as_const(c.items), ctx);
    if constexpr (!std::is_same_v<Evictor, no_evictor>)
      evictor.evict_after(c.items, c.times, w);
  }
};

// -- the operator ------------------------------------------------------------------------------

/// Per-instance logic of the general keyed window operator.
template <class T, class K, class KeyF, class Trigger, class Policy>
class window_operator_logic final : public one_input_logic<T, typename Policy::out>,
                                    private trigger_context {
public:
  using out_t = typename Policy::out;
  using entry = window_entry<typename Policy::contents, typename Trigger::state,
                             typename Policy::window_state>;
  using entries = std::vector<entry>;
  using command = mutate_command<entries>;

  window_operator_logic(task& t, const instance_wiring& w, KeyF key, Trigger trigger, Policy policy,
                        window_spec spec)
      : one_input_logic<T, out_t>(t, w)
      , key_(std::move(key))
      , trigger_(std::move(trigger))
      , policy_(std::move(policy))
      , spec_(spec)
      , key_groups_(t.channels().key_groups)
      , clock_(w.processing_clock)
      , store_(open_keyed_store<K>(t, w))
      , windows_(declared(
            store_.template declare_aggregating<command>("windows", mutate_function<entries>{}))) {
    if (spec.on_late == late_policy::side_output)
      late_out_ = this->template make_side_output<T>(t, w, 1);
  }

  caf::message_handler handlers(task& t) override {
    return one_input_logic<T, out_t>::handlers(t).or_else(caf::message_handler{
        [this, &t](timer_atom) {
          wake_armed_ = false;
          fire_processing_timers(t);
          t.emitted_outside_batch();
        },
    });
  }

  void on_watermark(task& t, timestamp wm) override {
    timers_.fire_due(state::time_domain::event, wm, [&](const state::timer<K>& x) {
      visit(t, x, wm, state::time_domain::event,
            [&](entry& e) { return trigger_.on_event_time(x.time, e.window, e.trigger, *this); });
    });
    backend_ok(t, store_);
  }

  /// Checkpoints: the windows and timers per key group; everything else is description or
  /// scratch of the key being processed.
  void snapshot(task&, checkpoint_id, instance_state& out) override {
    snapshot_keyed(store_, &timers_, out);
  }

  /// Recovery: the windows and timers of the key groups in `in`, and a wake-up for the earliest
  /// restored processing-time timer.
  void restore(task& t, checkpoint_id, instance_state&& in) override {
    restore_keyed(store_, &timers_, in);
    arm_processing_wake(t);
  }

private:
  // -- records ---------------------------------------------------------------------------------

  void on_batch(task& t, batch<T>& in) override {
    store_.set_time(clock_());
    fire_processing_timers(t);
    bool timed = !in.times.empty();
    if (!timed && !in.items.empty() && spec_.kind != window_kind::global) {
      t.fail("window operator " + t.origin() +
             " received records without event times: give the source with_event_time(...)");
      return;
    }
    auto wm = t.watermark();
    guarded_loop(t, in.items.size(), in.items,
                 [&](size_t i) { add(t, in.items[i], timed ? in.times[i] : min_time, wm); });
    if (backend_ok(t, store_))
      arm_processing_wake(t);
  }

  void add(task& t, const T& x, timestamp time, timestamp wm) {
    assigned_.clear();
    assign(time);
    current_ = key_(x);
    auto hash = state::key_hash<K>{}(current_);
    kg_ = key_group_of(hash, key_groups_);
    if (!make_current(t, store_, current_, hash, kg_))
      return;
    // Windows whose allowed lateness has passed take no record; a record with none left is late.
    // A session record is late only when its own window is and it touches no live session (which
    // it would extend, as Flink checks the merged window).
    if (spec_.kind != window_kind::global && wm != min_time)
      assigned_.erase(std::remove_if(assigned_.begin(), assigned_.end(),
                                     [&](const time_window& w) {
                                       return cleanup_time(w) <= wm && !touches_live(w);
                                     }),
                      assigned_.end());
    if (assigned_.empty()) {
      late(t, x, time, wm);
      return;
    }
    wm_ = wm;
    mutate(t, [&](entries& es) {
      for (const auto& w : assigned_) {
        auto i = place(es, w);
        auto& e = es[i];
        try {
          policy_.add(e.contents, x, time);
        } catch (...) {
          if (e.empty) // made for this record: no timer knows it, so it must not stay
            es.erase(es.begin() + static_cast<std::ptrdiff_t>(i));
          throw;
        }
        e.empty = false;
        e.newest = std::max(e.newest, time);
        if (spec_.kind != window_kind::global)
          timers_.register_timer(kg_, current_, cleanup_time(e.window), state::time_domain::event);
        act(t, e, trigger_.on_element(x, time, e.window, e.trigger, *this));
      }
      if (spec_.kind == window_kind::global)
        drop_idle(es);
    });
  }

  /// Whether session window `w` touches a live session of the current key.
  [[nodiscard]] bool touches_live(const time_window& w) const {
    if (spec_.kind != window_kind::session)
      return false;
    const auto* es = windows_.accumulator();
    return es != nullptr && std::any_of(es->begin(), es->end(), [&](const entry& e) {
             return e.window.start <= w.end && e.window.end >= w.start;
           });
  }

  /// The windows holding event time `t` (into assigned_).
  void assign(timestamp t) {
    switch (spec_.kind) {
    case window_kind::sliding: {
      auto first = floor_div(t - spec_.size, spec_.slide) + 1;
      auto last = floor_div(t, spec_.slide);
      for (auto k = first; k <= last; ++k)
        assigned_.push_back({k * spec_.slide, k * spec_.slide + spec_.size});
      break;
    }
    case window_kind::session:
      assigned_.push_back({t, t + spec_.size});
      break;
    case window_kind::global:
      assigned_.push_back({min_time, max_time});
      break;
    }
  }

  /// The position of window `w` in `es` (kept in order of start), made if new; session windows
  /// merge with every window they touch.
  size_t place(entries& es, const time_window& w) {
    if (spec_.kind == window_kind::session) {
      // The windows that touch [w.start, w.end] are consecutive.
      auto touches = [&](const entry& e) {
        return e.window.start <= w.end && e.window.end >= w.start;
      };
      auto first = std::find_if(es.begin(), es.end(), touches);
      if (first != es.end())
        return merge_into(es, first, std::find_if_not(first, es.end(), touches), w);
    }
    auto it = std::lower_bound(es.begin(), es.end(), w.start,
                               [](const entry& e, timestamp s) { return e.window.start < s; });
    if (it == es.end() || !(it->window == w)) {
      it = es.insert(it, entry{});
      it->window = w;
      it->contents = policy_.make();
    }
    return static_cast<size_t>(it - es.begin());
  }

  /// Merges the session windows [first, last) and the new window `w` into `*first`; returns its
  /// position. The record's trigger call on the merged window (on_element) registers its end.
  size_t merge_into(entries& es, typename entries::iterator first, typename entries::iterator last,
                    const time_window& w) {
    time_window merged{std::min(w.start, first->window.start),
                       std::max(w.end, std::prev(last)->window.end)};
    for (auto it = std::next(first); it != last; ++it) {
      policy_.merge(first->contents, it->contents);
      trigger_.merge(first->trigger, it->trigger, merged, *this);
      first->newest = std::max(first->newest, it->newest);
      first->empty = first->empty && it->empty;
      first->fired_on_time = first->fired_on_time || it->fired_on_time;
    }
    auto pos = static_cast<size_t>(first - es.begin());
    es.erase(std::next(first), last);
    es[pos].window = merged;
    return pos;
  }

  // -- timers ----------------------------------------------------------------------------------

  /// Runs `on(entry) -> trigger_result` on every window of timer `x`'s key, then, for an
  /// event-time timer, drops the windows whose allowed lateness ends at or before its time (timers
  /// fire in order of time, so later windows still get their own turn).
  template <class On>
  void visit(task& t, const state::timer<K>& x, timestamp wm, state::time_domain d, On&& on) {
    current_ = x.key;
    kg_ = x.kg;
    wm_ = wm;
    if (t.failed() || !make_current(t, store_, current_, kg_) || windows_.accumulator() == nullptr)
      return;
    mutate(t, [&](entries& es) {
      for (auto& e : es)
        act(t, e, guarded(t, e, [&] { return on(e); }));
      if (spec_.kind == window_kind::global) {
        drop_idle(es);
        return;
      }
      if (d != state::time_domain::event)
        return;
      auto gone = [&](entry& e) {
        if (cleanup_time(e.window) > x.time)
          return false;
        guarded(t, e, [&] {
          trigger_.clear(e.window, e.trigger, *this);
          return trigger_result::keep;
        });
        return true;
      };
      es.erase(std::remove_if(es.begin(), es.end(), gone), es.end());
    });
  }

  /// Asks a user trigger `ask()`; a throw is the window's dead letter and the answer is keep.
  template <class Ask>
  trigger_result guarded(task& t, const entry& e, Ask&& ask) {
    try {
      return ask();
    } catch (const std::exception& ex) {
      t.user_error(std::string{"window trigger threw: "} + ex.what(), describe_window(e.window));
    } catch (...) {
      t.user_error("window trigger threw", describe_window(e.window));
    }
    return trigger_result::keep;
  }

  /// Global windows: drops the windows a purge left as they were made (no records, trigger
  /// state as new, no window state), so a key whose count windows all fired keeps nothing.
  void drop_idle(entries& es) const {
    if constexpr (std::is_same_v<typename Policy::window_state, no_window_state>)
      es.erase(std::remove_if(es.begin(), es.end(),
                              [](const entry& e) { return e.empty && is_default(e.trigger); }),
               es.end());
  }

  template <class S>
  [[nodiscard]] static bool is_default(const S& s) {
    if constexpr (std::is_empty_v<S>)
      return true;
    else if constexpr (std::is_arithmetic_v<S>)
      return s == S{};
    else
      return false;
  }

  void fire_processing_timers(task& t) {
    if (timers_.size(state::time_domain::processing) == 0)
      return;
    auto now = clock_();
    store_.set_time(now);
    timers_.fire_due(state::time_domain::processing, now, [&](const state::timer<K>& x) {
      visit(t, x, t.watermark(), state::time_domain::processing, [&](entry& e) {
        return trigger_.on_processing_time(x.time, e.window, e.trigger, *this);
      });
    });
    arm_processing_wake(t);
  }

  /// Wakes the task when the earliest processing-time timer is due.
  void arm_processing_wake(task& t) {
    internal::arm_processing_wake(t, timers_, clock_, wake_armed_);
  }

  // -- firing ----------------------------------------------------------------------------------

  /// Does what the trigger asked of window `e`. A throwing user function is the window's dead
  /// letter; the job goes on.
  void act(task& t, entry& e, trigger_result r) {
    if (r == trigger_result::keep)
      return;
    if ((r == trigger_result::fire || r == trigger_result::fire_and_purge) && !e.empty) {
      bool timed_window = spec_.kind != window_kind::global;
      bool early = timed_window && wm_ < e.window.max_timestamp();
      auto time = timed_window ? e.window.max_timestamp() : e.newest;
      try {
        policy_.fire(current_, e.window, e.contents, e.user, e.fired_on_time, early, wm_,
                     [&](out_t&& y) { this->out_.emit(std::move(y), time); });
      } catch (const std::exception& ex) {
        t.user_error(ex.what(), describe_window(e.window));
      } catch (...) {
        t.user_error("unknown exception", describe_window(e.window));
      }
      if (timed_window && !early)
        e.fired_on_time = true;
    }
    if (r == trigger_result::purge || r == trigger_result::fire_and_purge) {
      e.contents = policy_.make();
      e.empty = true;
      e.newest = min_time;
    }
  }

  /// Runs `f(entries&)` on the current key's windows, in place; drops the key's state when no
  /// window is left.
  template <class F>
  void mutate(task&, F&& f) {
    command c;
    c.ctx = &f;
    c.fn = [](void* ctx, entries& es) { (*static_cast<F*>(ctx))(es); };
    windows_.add(c);
    if (const auto* es = windows_.accumulator(); es != nullptr && es->empty())
      windows_.clear();
  }

  /// When window `w` goes: its end plus the allowed lateness (saturating, as in Flink).
  [[nodiscard]] timestamp cleanup_time(const time_window& w) const noexcept {
    auto end = w.max_timestamp();
    return end > max_time - spec_.allowed_lateness ? max_time : end + spec_.allowed_lateness;
  }

  [[nodiscard]] std::string describe_window(const time_window& w) const {
    return "<window [" + std::to_string(w.start) + ", " + std::to_string(w.end) + ") of key " +
           render(current_) + ">";
  }

  void late(task& t, const T& x, timestamp time, timestamp wm) {
    window_late(t, spec_, late_out_.get(), x, time, wm);
  }

  // -- trigger_context -------------------------------------------------------------------------

  void register_event_time_timer(timestamp t) override {
    timers_.register_timer(kg_, current_, t, state::time_domain::event);
  }
  // Timers are per key, shared by its windows: a timer one window deletes may be another's. So
  // deleting leaves the timer; when it fires, the triggers ignore a time that is not theirs.
  void delete_event_time_timer(timestamp) override {}
  void register_processing_time_timer(int64_t t) override {
    timers_.register_timer(kg_, current_, t, state::time_domain::processing);
  }
  void delete_processing_time_timer(int64_t) override {}
  [[nodiscard]] timestamp watermark() const override { return wm_; }
  [[nodiscard]] int64_t processing_time() const override { return clock_(); }

  // -- description -----------------------------------------------------------------------------

  KeyF key_;
  Trigger trigger_;
  Policy policy_;
  window_spec spec_;
  uint32_t key_groups_;
  std::function<int64_t()> clock_;

  // -- state -----------------------------------------------------------------------------------

  state::keyed_state_store<K> store_;
  state::aggregating_state<command, entries, entries> windows_;
  state::timer_service<K> timers_;
  std::unique_ptr<output<T>> late_out_;

  // -- the key being processed -----------------------------------------------------------------

  K current_{};
  uint32_t kg_ = 0;
  timestamp wm_ = min_time;
  std::vector<time_window> assigned_;
  bool wake_armed_ = false;
};

} // namespace eddy::internal

namespace eddy::state {

/// A window's records in key-group bytes.
template <class T>
struct codec<eddy::internal::window_buffer<T>> {
  static void write(byte_writer& out, const eddy::internal::window_buffer<T>& x) {
    codec<std::vector<T>>::write(out, x.items);
    codec<std::vector<timestamp>>::write(out, x.times);
  }
  [[nodiscard]] static bool read(byte_reader& in, eddy::internal::window_buffer<T>& x) {
    return codec<std::vector<T>>::read(in, x.items) &&
           codec<std::vector<timestamp>>::read(in, x.times) && x.items.size() == x.times.size();
  }
};

/// One live window in key-group bytes.
template <class C, class TS, class WS>
struct codec<eddy::internal::window_entry<C, TS, WS>> {
  static void write(byte_writer& out, const eddy::internal::window_entry<C, TS, WS>& x) {
    out.write_raw(x.window.start);
    out.write_raw(x.window.end);
    codec<C>::write(out, x.contents);
    codec<TS>::write(out, x.trigger);
    codec<WS>::write(out, x.user);
    out.write_raw(x.newest);
    codec<bool>::write(out, x.empty);
    codec<bool>::write(out, x.fired_on_time);
  }
  [[nodiscard]] static bool read(byte_reader& in, eddy::internal::window_entry<C, TS, WS>& x) {
    return in.read_raw(x.window.start) && in.read_raw(x.window.end) &&
           codec<C>::read(in, x.contents) && codec<TS>::read(in, x.trigger) &&
           codec<WS>::read(in, x.user) && in.read_raw(x.newest) && codec<bool>::read(in, x.empty) &&
           codec<bool>::read(in, x.fired_on_time);
  }
};

} // namespace eddy::state
