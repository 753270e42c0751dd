// What the window operators do with a record too late for every window it falls in: count it,
// then send it where the window spec says (window_spec::on_late): the late-data side output, the
// dead letters with the reason, or nowhere more (counted only).
#pragma once

#include <eddy/actors/output.hpp>
#include <eddy/actors/task.hpp>
#include <eddy/operators/internal/logic_base.hpp>
#include <eddy/operators/window.hpp>

#include <string>

namespace eddy::internal {

/// Handles late record `x` (event time `time`, watermark `wm`); `side` is the late-data side
/// output, or null.
template <class T>
void window_late(task& t, const window_spec& spec, output<T>* side, const T& x, timestamp time,
                 timestamp wm) {
  t.metrics().add(t.metrics().late_records, 1);
  if (side != nullptr)
    side->emit(x, time);
  else if (spec.on_late == late_policy::dead_letter)
    t.dead_letter("late: event time " + std::to_string(time) + " is behind the watermark " +
                      std::to_string(wm) + " by more than the allowed lateness (" +
                      std::to_string(spec.allowed_lateness) + " ms)",
                  render(x));
}

} // namespace eddy::internal
