// What a keyed process function sees: the current key, its keyed state, the record's event time,
// the watermark, timers per key, and where results go.
//
//   struct sessions {
//     eddy::state::value_state<int64_t> count;       // declared once per instance, in open()
//     void open(eddy::keyed_context<std::string, alert>& ctx) {
//       count = *ctx.state().declare_value<int64_t>("count");     // caf::expected
//     }
//     void operator()(const login& l, eddy::keyed_context<std::string, alert>& ctx) {
//       auto n = (count.value() ? *count.value() : 0) + 1;
//       count.update(n);
//       ctx.register_event_time_timer(ctx.time() + 60'000);   // a minute of event time later
//     }
//     void on_timer(eddy::timestamp t, eddy::keyed_context<std::string, alert>& ctx) {
//       if (count.value() && *count.value() >= 3) ctx.emit(alert{ctx.key(), *count.value()}, t);
//       count.clear();
//     }
//   };
//
// State handles are scoped to the current key: the runtime sets it before each record and each
// timer. Timers are per key and fire once, in order: event-time timers when the watermark
// reaches them (all remaining ones at the end of the input), processing-time timers when the
// job's processing clock (`job_config::processing_clock`, injectable for tests) reaches them.
#pragma once

#include <eddy/actors/messages.hpp>
#include <eddy/actors/output.hpp>
#include <eddy/state/keyed_state_store.hpp>
#include <eddy/state/timer_service.hpp>

#include <functional>

namespace eddy {

/// The context of a keyed process function with key type `K` and output type `Out`.
template <class K, class Out>
class keyed_context {
public:
  using store_type = state::keyed_state_store<K>;

  keyed_context(output<Out>* out, store_type* store, state::timer_service<K>* timers,
                std::function<int64_t()> clock) noexcept
      : out_(out)
      , store_(store)
      , timers_(timers)
      , clock_(std::move(clock)) {}

  // -- the current record or timer ------------------------------------------------------------

  /// The current key.
  [[nodiscard]] const K& key() const noexcept { return *key_; }

  /// Event time of the current record, or the time of the firing timer.
  [[nodiscard]] timestamp time() const noexcept { return time_; }

  /// The operator's current watermark.
  [[nodiscard]] timestamp watermark() const noexcept { return watermark_; }

  /// The job's processing time in ms (the injectable clock).
  [[nodiscard]] int64_t processing_time() const { return clock_(); }

  // -- results --------------------------------------------------------------------------------

  /// Emits `x` with the current event time.
  void emit(Out x) { out_->emit(std::move(x), time_); }

  /// Emits `x` with event time `t`.
  void emit(Out x, timestamp t) { out_->emit(std::move(x), t); }

  // -- state and timers -----------------------------------------------------------------------

  /// This instance's keyed state: declare handles here (in `open`), use them per record.
  [[nodiscard]] store_type& state() noexcept { return *store_; }

  /// Fires `on_timer` for the current key once the watermark reaches `t`.
  void register_event_time_timer(timestamp t) {
    timers_->register_timer(kg_, *key_, t, state::time_domain::event);
  }

  /// Removes the current key's event-time timer at `t`, if any.
  void delete_event_time_timer(timestamp t) {
    timers_->delete_timer(kg_, *key_, t, state::time_domain::event);
  }

  /// Fires `on_timer` for the current key once processing time reaches `t`.
  void register_processing_time_timer(int64_t t) {
    timers_->register_timer(kg_, *key_, t, state::time_domain::processing);
  }

  /// Removes the current key's processing-time timer at `t`, if any.
  void delete_processing_time_timer(int64_t t) {
    timers_->delete_timer(kg_, *key_, t, state::time_domain::processing);
  }

  /// Set by the runtime before each record and timer.
  void set(const K* key, uint32_t kg, timestamp time, timestamp watermark) noexcept {
    key_ = key;
    kg_ = kg;
    time_ = time;
    watermark_ = watermark;
  }

private:
  /// Where results go.
  output<Out>* out_;
  /// The instance's keyed state.
  store_type* store_;
  /// The instance's timers.
  state::timer_service<K>* timers_;
  /// Processing time.
  std::function<int64_t()> clock_;
  /// The current key and its key group.
  const K* key_ = nullptr;
  uint32_t kg_ = 0;
  /// Event time of the current record or timer.
  timestamp time_ = min_time;
  /// Current watermark.
  timestamp watermark_ = min_time;
};

} // namespace eddy
