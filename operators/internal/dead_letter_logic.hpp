// The logic of the job's dead-letter source: tasks send it `dead_letter` messages; it emits
// them as a stream until the coordinator says every other task has finished.
#pragma once

#include <eddy/actors/atoms.hpp>
#include <eddy/operators/internal/logic_base.hpp>

#include <chrono>

namespace eddy::internal {

class dead_letter_logic final : public unary_logic<dead_letter> {
public:
  dead_letter_logic(task& t, const instance_wiring& w)
      : unary_logic<dead_letter>(t, w) {}

  caf::message_handler handlers(task&) override {
    return caf::message_handler{
        [this](dead_letter& x) { out_.emit(std::move(x), min_time); },
        [this](drain_atom) { drained_ = true; },
    };
  }

  [[nodiscard]] bool is_source() const noexcept override { return true; }

  produce_result produce(task&) override {
    if (drained_)
      return {produce_result::done, {}};
    out_.flush();
    return {produce_result::wait, std::chrono::milliseconds{5}};
  }

private:
  /// Every other task has finished: nothing more will arrive.
  bool drained_ = false;
};

} // namespace eddy::internal
