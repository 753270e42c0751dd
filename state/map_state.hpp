// map_state<UK, UV>: a map per key (windows of a key by their end, counts per category). Each
// user entry has its own TTL, as in Flink.
//
//   auto per_page = store.declare_map<std::string, int64_t>("views_per_page");
//   store.set_current_key(user);
//   const int64_t* n = per_page->get(page);
//   per_page->put(page, n ? *n + 1 : 1);
//   per_page->for_each([](const std::string& page, const int64_t& n) { ... });
//
// In RocksDB every user entry is its own RocksDB entry, so get and put touch one entry, and
// iteration is a range scan over the current key.
#pragma once

#include <eddy/state/internal/state_table.hpp>

#include <type_traits>
#include <utility>
#include <vector>

namespace eddy::state {

/// A map from UK to UV per key.
template <class UK, class UV>
class map_state : public internal::handle_base {
public:
  /// A handle that refers to no state.
  map_state() noexcept = default;

  /// A handle on `ops` (made by keyed_state_store::declare_map).
  map_state(internal::map_ops<UK, UV>* ops, internal::state_base* base) noexcept
      : handle_base(base)
      , ops_(ops) {}

  /// The current key's value at `uk`, or nullptr. The pointer stays valid until the next call
  /// on this state.
  [[nodiscard]] const UV* get(const UK& uk) const { return ops_->get(uk); }

  /// Sets the current key's value at `uk` (and restarts that entry's TTL).
  void put(const UK& uk, UV uv) const { ops_->put(uk, std::move(uv)); }

  /// Removes the current key's entry at `uk`; false when there was none.
  bool remove(const UK& uk) const { return ops_->remove(uk); }

  /// True when the current key has an entry at `uk`.
  [[nodiscard]] bool contains(const UK& uk) const { return ops_->contains(uk); }

  /// Calls `f(const UK&, const UV&)` for every entry of the current key (in no set order). The
  /// state must not be modified from `f`.
  template <class F>
  void for_each(F&& f) const {
    static_assert(std::is_invocable_v<F&, const UK&, const UV&>,
                  "map_state::for_each: the function must take (const UK&, const UV&)");
    ops_->for_each(f);
  }

  /// Copies of the current key's entries.
  [[nodiscard]] std::vector<std::pair<UK, UV>> entries() const {
    std::vector<std::pair<UK, UV>> out;
    for_each([&](const UK& uk, const UV& uv) { out.emplace_back(uk, uv); });
    return out;
  }

  /// The current key's user keys.
  [[nodiscard]] std::vector<UK> keys() const {
    std::vector<UK> out;
    for_each([&](const UK& uk, const UV&) { out.push_back(uk); });
    return out;
  }

  /// True when the current key has no entry.
  [[nodiscard]] bool empty() const { return ops_->is_empty(); }

  /// Removes every entry of the current key.
  void clear() const { ops_->erase(); }

private:
  /// The state's operations.
  internal::map_ops<UK, UV>* ops_ = nullptr;
};

} // namespace eddy::state
