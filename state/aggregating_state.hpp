// aggregating_state<In, Acc, Out>: one accumulator per key, fed inputs and read as a result
// through an aggregate function given at declaration (Flink's AggregateFunction). The
// incremental aggregation of a window's `aggregate`.
//
//   using sum_count = std::pair<double, int64_t>;
//   struct average {                                  // the aggregate function
//     sum_count create_accumulator() const { return {0, 0}; }
//     void add(const double& x, sum_count& acc) const { acc.first += x, ++acc.second; }
//     double get_result(const sum_count& acc) const { return acc.first / acc.second; }
//     void merge(sum_count& acc, const sum_count& other) const {   // optional: sessions
//       acc.first += other.first, acc.second += other.second;
//     }
//   };
//   auto avg = store.declare_aggregating<double>("avg", average{});
//   store.set_current_key(sensor);
//   avg->add(reading);
//   std::optional<double> mean = avg->get();
#pragma once

#include <eddy/state/internal/state_table.hpp>

#include <optional>
#include <utility>

namespace eddy::state {

/// One accumulator of type Acc per key, fed In and read as Out.
template <class In, class Acc, class Out>
class aggregating_state : public internal::handle_base {
public:
  /// A handle that refers to no state.
  aggregating_state() noexcept = default;

  /// A handle on `ops` (made by keyed_state_store::declare_aggregating).
  aggregating_state(internal::aggregating_ops<In, Acc, Out>* ops,
                    internal::state_base* base) noexcept
      : handle_base(base)
      , ops_(ops) {}

  /// Adds `x` to the current key's accumulator (created first when there is none).
  void add(const In& x) const { ops_->add(x); }

  /// The result of the current key's accumulator, or nullopt when it has none.
  [[nodiscard]] std::optional<Out> get() const { return ops_->get(); }

  /// The current key's accumulator, or nullptr. Valid until the next call on this state.
  [[nodiscard]] const Acc* accumulator() const { return ops_->accumulator(); }

  /// Merges `other` into the current key's accumulator (merging session windows); false, and
  /// nothing done, when the aggregate function has no merge(Acc&, const Acc&).
  bool merge(const Acc& other) const { return ops_->merge(other); }

  /// Replaces the current key's accumulator.
  void set_accumulator(Acc acc) const { ops_->put_accumulator(std::move(acc)); }

  /// Removes the current key's accumulator.
  void clear() const { ops_->erase(); }

private:
  /// The state's operations.
  internal::aggregating_ops<In, Acc, Out>* ops_ = nullptr;
};

} // namespace eddy::state
