// map: one output record per input record.
//
//   auto prices = bids.map([](const bid& b) { return b.price * 908 / 1000; }).name("convert");
//
// When the output type equals the input type the batch is transformed in place and passed on
// without copying. A function that throws sends its record to the dead-letter output (or fails
// the job, with `.on_error(eddy::error_policy::fail)`).
#pragma once

#include <eddy/operators/internal/logic_base.hpp>

#include <type_traits>

namespace eddy::internal {

/// Per-instance logic of map.
template <class In, class Out, class F>
class map_logic final : public one_input_logic<In, Out> {
public:
  map_logic(task& t, const instance_wiring& w, F f)
      : one_input_logic<In, Out>(t, w)
      , f_(std::move(f)) {}

private:
  void on_batch(task& t, batch<In>& in) override {
    auto& items = in.items;
    if constexpr (std::is_same_v<In, Out>) {
      compact_in_place(t, in, [&](size_t i, size_t w) {
        items[w] = f_(std::as_const(items[i]));
        return true;
      });
      this->out_.emit_batch(std::move(in));
    } else {
      auto n = items.size();
      bool timed = !in.times.empty();
      batch<Out> out;
      out.urgent = in.urgent;
      out.items.reserve(n);
      if (timed)
        out.times.reserve(n);
      guarded_loop(t, n, items, [&](size_t i) {
        out.items.emplace_back(f_(std::as_const(items[i])));
        if (timed)
          out.times.push_back(in.times[i]);
      });
      this->out_.emit_batch(std::move(out));
    }
  }

  /// The user's function, one copy per instance.
  F f_;
};

} // namespace eddy::internal
