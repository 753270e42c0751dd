// process (and flat_map): a user function that sees each record and emits any number of
// results through a collector, with the record's event time and the current watermark; an
// optional second function runs once when the input ends, to emit final results.
//
//   struct stats { double sum = 0; long n = 0; };
//   readings.key_by([](const reading& r) { return r.mote; })
//     .process<summary>([m = std::unordered_map<int, stats>{}](const reading& r,
//                                                            eddy::collector<summary>& out) mutable
//                                                            {
//       auto& s = m[r.mote];
//       s.sum += r.value, ++s.n;
//       out.emit(summary{r.mote, s.sum / s.n});
//     });
//
// Each instance has its own copy of the function object, so a mutable lambda keeps per-instance
// state (keyed state that survives failures comes with checkpoints).
#pragma once

#include <eddy/operators/collector.hpp>
#include <eddy/operators/internal/logic_base.hpp>

namespace eddy::internal {

/// Does nothing at the end of the input.
struct no_end {
  template <class Collector>
  void operator()(Collector&) const noexcept {}
};

/// Per-instance logic of process and flat_map.
template <class In, class Out, class F, class End = no_end>
class process_logic final : public one_input_logic<In, Out> {
public:
  process_logic(task& t, const instance_wiring& w, F f, End end = {})
      : one_input_logic<In, Out>(t, w)
      , f_(std::move(f))
      , end_(std::move(end))
      , collector_(&this->out_) {}

  void on_end(task& t) override {
    // Results at the end of input are stamped with the earliest time still on time.
    auto wm = t.watermark();
    collector_.set(wm == min_time || wm == max_time ? wm : wm + 1, wm);
    try {
      end_(collector_);
    } catch (const std::exception& e) {
      t.user_error(e.what(), "<end of input>");
    } catch (...) {
      t.user_error("unknown exception", "<end of input>");
    }
  }

private:
  void on_batch(task& t, batch<In>& in) override {
    auto wm = t.watermark();
    bool timed = !in.times.empty();
    guarded_loop(t, in.items.size(), in.items, [&](size_t i) {
      collector_.set(timed ? in.times[i] : min_time, wm);
      f_(std::as_const(in.items[i]), collector_);
    });
  }

  /// The user's function, one copy per instance.
  F f_;
  /// The user's end-of-input function.
  End end_;
  /// What the functions emit into.
  collector<Out> collector_;
};

} // namespace eddy::internal
