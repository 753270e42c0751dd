// window aggregate: keyed sliding or tumbling event-time windows with incremental aggregation.
// Every record updates one accumulator (its key's slice); a window's result merges its slices
// when the watermark passes its end. All of it (accumulators, what is registered to fire) is
// keyed state of the instance's key groups, in the job's state backend.
//
//   struct sum_price {                       // Flink's AggregateFunction, with merge
//     using accumulator = int64_t;
//     using result = int64_t;
//     accumulator create_accumulator() const { return 0; }
//     void add(const bid& b, accumulator& acc) const { acc += b.price; }
//     void merge(accumulator& into, const accumulator& from) const { into += from; }
//     result get_result(const accumulator& acc) const { return acc; }
//   };
//   bids.key_by([](const bid& b) { return b.auction; })
//       .window(eddy::sliding(10s, 2s))
//       .aggregate(sum_price{});                // -> stream<window_result<uint64_t, int64_t>>
//
// Results carry event time end - 1. Records whose every window has fired and whose allowed
// lateness has passed are late: dead letters, counted, or sent to a side output
// (window_spec::on_late, side_output.hpp), never silently dropped. A record within the allowed
// lateness updates its fired windows at once (a late firing, `late_update = true`).
#pragma once

#include <eddy/operators/internal/keyed_snapshot.hpp>
#include <eddy/operators/internal/keyed_store.hpp>
#include <eddy/operators/internal/logic_base.hpp>
#include <eddy/operators/internal/window_late.hpp>
#include <eddy/operators/internal/window_slices.hpp>
#include <eddy/operators/internal/window_state.hpp>
#include <eddy/operators/window.hpp>
#include <eddy/state/key_group_range.hpp>
#include <eddy/state/key_hash.hpp>
#include <eddy/state/keyed_state_store.hpp>

#include <optional>
#include <stdexcept>
#include <utility>

namespace eddy::internal {

/// Per-instance logic of a keyed window aggregate.
template <class T, class K, class KeyF, class Agg>
class window_aggregate_logic final
    : public one_input_logic<T, window_result<K, typename Agg::result>> {
public:
  using acc_t = typename Agg::accumulator;
  using result_t = window_result<K, typename Agg::result>;
  using function_t = window_state_function<T, Agg>;
  using state_t = typename function_t::state_t;
  using command = typename function_t::command;

  window_aggregate_logic(task& t, const instance_wiring& w, KeyF key, Agg agg, window_spec spec)
      : one_input_logic<T, result_t>(t, w)
      , key_(std::move(key))
      , function_{std::move(agg), window_geometry{spec}, spec.allowed_lateness}
      , spec_(spec)
      , geometry_(spec)
      , slices_(geometry_.slice_length())
      , key_groups_(t.channels().key_groups)
      , store_(open_keyed_store<K>(t, w))
      , windows_(declared(store_.template declare_aggregating<command>("windows", function_))) {
    if (spec.on_late == late_policy::side_output)
      late_out_ = this->template make_side_output<T>(t, w, 1);
  }

  void on_watermark(task& t, timestamp wm) override {
    due_.fire_due(wm, [&](int64_t entry, uint32_t kg, const K& key) {
      if (!t.failed())
        visit(t, key, kg, wm, entry);
    });
    backend_ok(t, store_);
  }

  /// Checkpoints: the window state per key group. The fire index is not state: it is rebuilt.
  void snapshot(task&, checkpoint_id, instance_state& out) override {
    snapshot_keyed<K>(store_, nullptr, out);
  }

  /// Recovery: the window state of the key groups in `in`, then the fire index rebuilt from it.
  void restore(task& t, checkpoint_id, instance_state&& in) override {
    restore_keyed<K>(store_, nullptr, in);
    rebuild_fire_index();
    backend_ok(t, store_);
  }

private:
  /// Puts every key with window state in the fire index at the time its state says it is due
  /// (window_key_state::scheduled): the one entry of the key that a visit acts on. The entries a
  /// visit would skip as stale are left out; keys due at the same time fire in the index's
  /// canonical order, as they did before the snapshot.
  void rebuild_fire_index() {
    auto range = store_.range();
    for (auto kg = range.first; kg < range.end; ++kg)
      for (const auto& key : store_.keys(windows_, kg)) {
        if (!store_.set_current_key(key, kg))
          continue;
        if (const auto* s = windows_.accumulator(); s != nullptr && s->scheduled != no_time)
          due_.add(s->scheduled, kg, key);
      }
  }

  void on_batch(task& t, batch<T>& in) override {
    if (in.times.empty() && !in.items.empty()) {
      t.fail("window operator " + t.origin() +
             " received records without event times: give the source with_event_time(...)");
      return;
    }
    auto wm = t.watermark();
    guarded_loop(t, in.items.size(), in.items,
                 [&](size_t i) { add(t, in.items[i], in.times[i], wm); });
    backend_ok(t, store_);
  }

  void add(task& t, const T& x, timestamp time, timestamp wm) {
    auto key = key_(x);
    auto hash = state::key_hash<K>{}(key);
    auto kg = key_group_of(hash, key_groups_);
    auto slice = slices_(time);
    auto [first_end, last_end] = geometry_.window_ends_of_slice(slice);
    auto lateness = spec_.allowed_lateness;
    bool watermarked = wm != min_time;
    if (watermarked && last_end - 1 + lateness <= wm) {
      late(t, x, time, wm);
      return;
    }
    command c;
    c.kind = command::add;
    c.record = &x;
    c.slice = slice;
    if (!make_current(t, store_, key, hash, kg))
      return;
    windows_.add(c);
    if (c.schedule_at != no_time)
      due_.add(c.schedule_at, kg, key);
    if (!watermarked || first_end - 1 > wm)
      return; // the usual case: none of its windows is due yet
    // A late record (within the allowed lateness): windows that fired already fire again with
    // it (late firings); windows that are due and never fired for this key fire now.
    const auto* s = windows_.accumulator();
    auto last_fired = s != nullptr ? s->last_fired : min_time;
    for (auto e = first_end; e <= last_end && e <= last_fired && s != nullptr;
         e += geometry_.slide())
      if (e - 1 + lateness > wm)
        if (auto merged = function_.merge_window(*s, e))
          emit(key, e, *merged, true);
    visit(t, key, kg, wm, no_time);
  }

  /// Fires the key's due windows and drops what no window needs; `entry` is the index time
  /// that asked for it (no_time: the operator itself).
  void visit(task& t, const K& key, uint32_t kg, timestamp wm, int64_t entry) {
    command c;
    c.kind = command::visit;
    c.watermark = wm;
    c.entry = entry;
    fired_.clear();
    c.fired = &fired_;
    if (!make_current(t, store_, key, kg))
      return;
    windows_.add(c); // also on a key whose windows have all gone (a stale entry): now_empty
    if (c.now_empty)
      windows_.clear();
    else if (c.schedule_at != no_time && c.schedule_at != entry)
      due_.add(c.schedule_at, kg, key);
    for (auto& [end, acc] : fired_) {
      try {
        emit(key, end, acc, false);
      } catch (const std::exception& e) {
        t.user_error(e.what(), "<window [" + std::to_string(end - geometry_.size()) + ", " +
                                   std::to_string(end) + ") of key " + render(key) + ">");
      }
    }
  }

  void emit(const K& key, int64_t end, const acc_t& acc, bool late_update) {
    this->out_.emit(result_t{key, end - geometry_.size(), end, function_.agg.get_result(acc),
                             late_update, false},
                    end - 1);
  }

  void late(task& t, const T& x, timestamp time, timestamp wm) {
    window_late(t, spec_, late_out_.get(), x, time, wm);
  }

  // -- description ----------------------------------------------------------------------------

  /// The user's key function.
  KeyF key_;
  /// The user's aggregate, with the window geometry, as the state's command function.
  function_t function_;
  /// The windows.
  window_spec spec_;
  /// Where records and windows fall.
  window_geometry geometry_;
  /// The slice of each record's time.
  slice_finder slices_;
  /// Key groups of the job.
  uint32_t key_groups_;

  // -- state ------------------------------------------------------------------------------------

  /// The instance's keyed state: one window state per key.
  state::keyed_state_store<K> store_;
  /// The handle of the window state.
  state::aggregating_state<command, state_t, state_t> windows_;
  /// When each key is next due (its next window's end, or a slice's end of lateness).
  window_fire_index<K> due_;
  /// The windows a visit fired (reused).
  std::vector<std::pair<int64_t, acc_t>> fired_;
  /// The side output of late records (late_policy::side_output).
  std::unique_ptr<output<T>> late_out_;
};

} // namespace eddy::internal
