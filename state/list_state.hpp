// list_state<V>: a list of elements per key (the records of a window that a full-window function
// needs, a buffer of pending events). Each element has its own TTL, as in Flink.
//
//   auto pending = store.declare_list<event>("pending");
//   store.set_current_key(user);
//   pending->add(e);
//   for (const auto& x : pending->get()) ...                  // a copy, in insertion order
//   pending->clear();
//
// In RocksDB an add is a merge (an append, no read); get decodes the whole list.
#pragma once

#include <eddy/state/internal/state_table.hpp>

#include <utility>
#include <vector>

namespace eddy::state {

/// A list of elements of type V per key.
template <class V>
class list_state : public internal::handle_base {
public:
  /// A handle that refers to no state.
  list_state() noexcept = default;

  /// A handle on `ops` (made by keyed_state_store::declare_list).
  list_state(internal::list_ops<V>* ops, internal::state_base* base) noexcept
      : handle_base(base)
      , ops_(ops) {}

  /// Appends `x` to the current key's list.
  void add(V x) const { ops_->add(std::move(x)); }

  /// The current key's unexpired elements, oldest first (empty when none).
  [[nodiscard]] std::vector<V> get() const {
    std::vector<V> out;
    ops_->get(out);
    return out;
  }

  /// Copies the current key's elements into `out` (reusing its capacity); false when none.
  bool get(std::vector<V>& out) const { return ops_->get(out); }

  /// Replaces the current key's list (an empty one clears it).
  void update(std::vector<V> xs) const { ops_->put(std::move(xs)); }

  /// Removes the current key's list.
  void clear() const { ops_->erase(); }

private:
  /// The state's operations.
  internal::list_ops<V>* ops_ = nullptr;
};

} // namespace eddy::state
