// reducing_state<V>: one value per key, folded with a reduce function given at declaration (a
// running sum, a maximum). The incremental aggregation of a window's `reduce`.
//
//   auto total = store.declare_reducing<double>(
//       "total", [](const double& a, const double& b) { return a + b; });
//   store.set_current_key(user);
//   total->add(amount);                        // first add stores amount, later ones fold it in
//   const double* t = total->get();
//
// The reduce function is inlined into the state's code: in memory an add is one virtual call and
// one hash probe, updating the value in place.
#pragma once

#include <eddy/state/internal/state_table.hpp>

#include <utility>

namespace eddy::state {

/// One value of type V per key, folded with the state's reduce function.
template <class V>
class reducing_state : public internal::handle_base {
public:
  /// A handle that refers to no state.
  reducing_state() noexcept = default;

  /// A handle on `ops` (made by keyed_state_store::declare_reducing).
  reducing_state(internal::reducing_ops<V>* ops, internal::state_base* base) noexcept
      : handle_base(base)
      , ops_(ops) {}

  /// Folds `x` into the current key's value: reduce(value, x), or x when there is none.
  void add(V x) const { ops_->add(std::move(x)); }

  /// The current key's value, or nullptr. Valid until the next call on this state.
  [[nodiscard]] const V* get() const { return ops_->get(); }

  /// Removes the current key's value.
  void clear() const { ops_->erase(); }

private:
  /// The state's operations.
  internal::reducing_ops<V>* ops_ = nullptr;
};

} // namespace eddy::state
