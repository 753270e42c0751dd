// value_state<V>: one value per key, the keyed state most operators need (a count, a last-seen
// time, a running model).
//
//   auto count = store.declare_value<int64_t>("count");      // caf::expected<value_state<...>>
//   store.set_current_key(user);
//   const int64_t* c = count->value();                       // nullptr: none yet (or expired)
//   count->update(c ? *c + 1 : 1);
//
// A handle is a cheap reference to a state of its store: copy it freely, use it while the store
// lives, from the store's thread only. Every call acts on the store's current key; with no
// current key (none set, or one outside the store's key groups) reads find nothing and writes do
// nothing. In memory a call costs one virtual call and one hash probe, with no allocation once
// the key exists.
#pragma once

#include <eddy/state/internal/state_table.hpp>

#include <utility>

namespace eddy::state {

/// One value of type V per key.
template <class V>
class value_state : public internal::handle_base {
public:
  /// A handle that refers to no state.
  value_state() noexcept = default;

  /// A handle on `ops` (made by keyed_state_store::declare_value).
  value_state(internal::value_ops<V>* ops, internal::state_base* base) noexcept
      : handle_base(base)
      , ops_(ops) {}

  /// The current key's value, or nullptr when it has none (or it expired). The pointer stays
  /// valid until the next call on this state.
  [[nodiscard]] const V* value() const { return ops_->get(); }

  /// A copy of the current key's value, or `fallback`.
  [[nodiscard]] V value_or(V fallback) const {
    if (auto* x = value())
      return *x;
    return fallback;
  }

  /// Sets the current key's value (and restarts its TTL).
  void update(V x) const { ops_->put(std::move(x)); }

  /// Removes the current key's value.
  void clear() const { ops_->erase(); }

private:
  /// The state's operations.
  internal::value_ops<V>* ops_ = nullptr;
};

} // namespace eddy::state
