// What the joins (interval_join.hpp, window_join.hpp) share: calling the user's function on a
// pair with throws turned into dead letters, late records (counted, then sent to a late-data side
// output of their input, the dead letters, or nowhere more), and the diagnostic hook that
// reports how much state a join instance holds.
#pragma once

#include <eddy/actors/task.hpp>
#include <eddy/operators/collector.hpp>
#include <eddy/operators/internal/graph.hpp>
#include <eddy/operators/internal/logic_base.hpp>
#include <eddy/operators/stream.hpp>
#include <eddy/operators/window.hpp>

#include <exception>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>

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

/// Counts a late record and sends it to `side` (the join's late-data side output for its input)
/// when there is one, else, per `policy`, to the dead letters.
template <class T>
void late_record(task& t, late_policy policy, output<T>* side, const T& x, timestamp time,
                 timestamp wm, const char* what) {
  t.metrics().add(t.metrics().late_records, 1);
  if (side != nullptr)
    side->emit(x, time);
  else if (policy == late_policy::dead_letter)
    t.dead_letter(std::string{"late: event time "} + std::to_string(time) +
                      " is at or behind the watermark " + std::to_string(wm) + ", too late for " +
                      what,
                  render(x));
}

/// The base of a two-input join function with late-data side outputs, one per input (Flink's
/// sideOutputLeftLateData and sideOutputRightLateData): the operator attaches those the node
/// declared (keyed_co_process_logic).
template <class Out, class A, class B>
class two_sided_join_base : public join_function_base<Out> {
public:
  using late_left_type = A;
  using late_right_type = B;

  void attach_late(output<A>* left, output<B>* right) {
    late_left_ = left;
    late_right_ = right;
  }

protected:
  /// The side outputs of late records of each input, or null.
  output<A>* late_left_ = nullptr;
  output<B>* late_right_ = nullptr;
};

/// The tags of a join's late-data side outputs (empty: none), and their ports on the join node.
struct join_late_tags {
  std::string left;
  std::string right;

  [[nodiscard]] uint32_t left_port() const noexcept { return left.empty() ? 0 : 1; }
  [[nodiscard]] uint32_t right_port() const noexcept { return right.empty() ? 0 : left_port() + 1; }

  /// Declares the side outputs on node `id`, in port order.
  template <class A, class B>
  void declare(graph& g, size_t id) const {
    if (!left.empty())
      declare_side_output<A>(g, id, left);
    if (!right.empty())
      declare_side_output<B>(g, id, right);
  }

  /// A mistake when on_late asked for a side output and no tag says where.
  void check(graph& g, late_policy policy, const char* op) const {
    if (policy == late_policy::side_output && left.empty() && right.empty())
      g.mistakes.push_back(std::string{op} +
                           ": on_late(late_policy::side_output) needs a tag: call "
                           "side_output_left_late_data(tag) or side_output_right_late_data(tag)");
  }
};

} // namespace internal

} // namespace eddy
