// The logic of the job's dead-letter task: every other task feeds it through its own dead-letter
// channel (batches under credit, like any edge), and it passes the dead letters on as a stream.
// It ends when every task feeding it has ended.
#pragma once

#include <eddy/operators/internal/logic_base.hpp>

namespace eddy::internal {

class dead_letter_logic final : public one_input_logic<dead_letter, dead_letter> {
public:
  using one_input_logic<dead_letter, dead_letter>::one_input_logic;

private:
  void on_batch(task&, batch<dead_letter>& in) override { this->out_.emit_batch(std::move(in)); }
};

} // namespace eddy::internal
