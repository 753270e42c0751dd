// filter: keeps the records for which a predicate holds.
//
//   auto expensive = bids.filter([](const bid& b) { return b.price > 5000; });
//
// Filtering compacts the batch in place and passes it on without copying records.
#pragma once

#include <eddy/operators/internal/logic_base.hpp>

namespace eddy::internal {

/// Per-instance logic of filter.
template <class T, class F>
class filter_logic final : public one_input_logic<T, T> {
public:
  filter_logic(task& t, const instance_wiring& w, F f)
      : one_input_logic<T, T>(t, w)
      , f_(std::move(f)) {}

private:
  void on_batch(task& t, batch<T>& in) override {
    auto& items = in.items;
    compact_in_place(t, in, [&](size_t i, size_t w) {
      if (!f_(std::as_const(items[i])))
        return false;
      if (w != i)
        items[w] = std::move(items[i]);
      return true;
    });
    this->out_.emit_batch(std::move(in));
  }

  /// The user's predicate, one copy per instance.
  F f_;
};

} // namespace eddy::internal
