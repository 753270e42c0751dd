// What the joins (interval_join.hpp, window_join.hpp) share: calling the user's function on a
// pair with throws turned into dead letters, counting late records, and the diagnostic hook that
// reports how much state a join instance holds.
#pragma once

#include <eddy/actors/task.hpp>
#include <eddy/operators/collector.hpp>
#include <eddy/operators/internal/logic_base.hpp>
#include <eddy/operators/window.hpp>

#include <exception>
#include <functional>
#include <string>
#include <type_traits>

namespace eddy {

/// Called by a join after each cleanup with its instance and the entries its state holds
/// (exact for the memory backend, an estimate for RocksDB): a diagnostic hook.
using join_state_observer = std::function<void(uint32_t instance, uint64_t entries)>;

namespace internal {

/// Calls the user's join function on one pair and emits its results at `time`; a throw sends the
/// pair to the dead letters (or fails the job, per the error policy).
template <class Out, class F, class A, class B>
void join_pair(task& t, output<Out>* out, F& f, const A& a, const B& b, timestamp time,
               timestamp wm) {
  if (t.failed())
    return;
  try {
    if constexpr (std::is_invocable_v<F&, const A&, const B&, collector<Out>&>) {
      collector<Out> c{out};
      c.set(time, wm);
      f(a, b, c);
    } else {
      out->emit(Out(f(a, b)), time);
    }
  } catch (const std::exception& e) {
    t.user_error(e.what(), "<pair " + render(a) + ", " + render(b) + ">");
  } catch (...) {
    t.user_error("unknown exception", "<pair " + render(a) + ", " + render(b) + ">");
  }
}

/// What the join functions share: their task (dead letters, metrics) and output, attached by
/// the keyed core when the instance starts.
template <class Out>
class join_function_base {
public:
  void attach(task& t, output<Out>* out) {
    task_ = &t;
    out_ = out;
  }

protected:
  /// True (and the record dead-lettered) when it has no event time.
  template <class T>
  bool untimed(const T& x, timestamp time, const char* op) {
    if (time != min_time)
      return false;
    task_->user_error(std::string{op} + " needs event times: give the source with_event_time(...)",
                      render(x));
    return true;
  }

  /// The instance's task and output.
  task* task_ = nullptr;
  output<Out>* out_ = nullptr;
};

/// Counts a late record and, per `policy`, dead-letters it.
template <class T>
void late_record(task& t, late_policy policy, const T& x, timestamp time, timestamp wm,
                 const char* what) {
  t.metrics().add(t.metrics().late_records, 1);
  if (policy == late_policy::dead_letter)
    t.dead_letter(std::string{"late: event time "} + std::to_string(time) +
                      " is at or behind the watermark " + std::to_string(wm) + ", too late for " +
                      what,
                  render(x));
}

} // namespace internal

} // namespace eddy
