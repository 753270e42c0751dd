// The interfaces between a keyed_state_store, its state handles and the backends.
//
// A handle (value_state<V>, ...) holds two pointers into one state object: its operations
// (value_ops<V>, ...: one virtual call per access, no key type in sight) and its state_base
// (name, entry count). The store holds the same object as a state_table<K>: what it needs to
// iterate keys, write and read key groups, and sweep expired entries. Every access reads the
// current key, its hash and key group, and the time from the store's key_context.
#pragma once

#include <eddy/state/codec.hpp>
#include <eddy/state/internal/function_ref.hpp>
#include <eddy/state/state_ttl.hpp>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace eddy::state {

/// The five kinds of keyed state.
enum class state_kind : uint8_t { value = 1, list = 2, map = 3, reducing = 4, aggregating = 5 };

/// Human-readable name of a state kind.
[[nodiscard]] inline const char* to_string(state_kind x) noexcept {
  switch (x) {
  case state_kind::value:
    return "value";
  case state_kind::list:
    return "list";
  case state_kind::map:
    return "map";
  case state_kind::reducing:
    return "reducing";
  default:
    return "aggregating";
  }
}

} // namespace eddy::state

namespace eddy::state::internal {

/// The value of key_context::index when no key is current (none set, or outside the range).
inline constexpr uint32_t no_key = UINT32_MAX;

/// The current key of a store, shared by all of its states.
template <class K>
struct key_context {
  /// The current key.
  std::optional<K> key;
  /// key_hash<K> of the key.
  uint64_t hash = 0;
  /// The key's key group.
  uint32_t kg = 0;
  /// kg minus the range's first key group, or no_key.
  uint32_t index = no_key;
  /// Counts set_current_key calls: a state may remember where the current key's entry is
  /// while this is unchanged.
  uint64_t generation = 0;
  /// Store time in milliseconds, for TTL.
  int64_t now = 0;
  /// RocksDB key prefix of the current key: key group (2 bytes big-endian), then codec<K>.
  std::vector<char> encoded;
  /// True when `encoded` belongs to the current key.
  bool encoded_valid = false;
};

/// A value with the store time of its last write.
template <class V>
struct timed {
  /// Store time of the last write (ms).
  int64_t ts;
  /// The value.
  V value;
};

/// Appends a key group as two big-endian bytes (RocksDB keys sort by key group).
inline void write_kg_prefix(std::vector<char>& out, uint32_t kg) {
  out.push_back(static_cast<char>((kg >> 8) & 0xFF));
  out.push_back(static_cast<char>(kg & 0xFF));
}

/// The two-byte prefix of key group `kg`, as a string.
[[nodiscard]] inline std::string kg_prefix(uint32_t kg) {
  std::string s(2, '\0');
  s[0] = static_cast<char>((kg >> 8) & 0xFF);
  s[1] = static_cast<char>(kg & 0xFF);
  return s;
}

/// What identifies a state in its store.
struct state_info {
  /// The name the state was declared with.
  std::string name;
  /// The kind of state.
  state_kind kind;
  /// The state's index in its store.
  uint32_t id;
  /// The state's time-to-live.
  state_ttl ttl;
  /// A hash of the kind and type names, written with every key group.
  uint64_t fingerprint;
};

/// What a handle asks of any state: its name and size.
class state_base {
public:
  explicit state_base(state_info info)
      : info_(std::move(info)) {}

  virtual ~state_base() = default;

  state_base(const state_base&) = delete;
  state_base& operator=(const state_base&) = delete;

  /// The name the state was declared with.
  [[nodiscard]] const std::string& name() const noexcept { return info_.name; }
  /// The kind of state.
  [[nodiscard]] state_kind kind() const noexcept { return info_.kind; }
  /// The state's index in its store.
  [[nodiscard]] uint32_t id() const noexcept { return info_.id; }
  /// The state's time-to-live.
  [[nodiscard]] const state_ttl& ttl() const noexcept { return info_.ttl; }
  /// A hash of the kind and type names, written with every key group.
  [[nodiscard]] uint64_t fingerprint() const noexcept { return info_.fingerprint; }

  /// Entries held: one per key (value, list, reducing, aggregating) or per (key, user key)
  /// (map). Exact in memory; RocksDB's estimate, which counts overwrites until compaction.
  [[nodiscard]] virtual uint64_t approximate_entries() const = 0;

private:
  state_info info_;
};

/// The part every state handle shares: which state it refers to.
class handle_base {
public:
  /// True when the handle refers to a state (a default-constructed one does not).
  [[nodiscard]] bool valid() const noexcept { return base_ != nullptr; }
  /// The name the state was declared with.
  [[nodiscard]] const std::string& name() const noexcept { return base_->name(); }
  /// The state's index in its store.
  [[nodiscard]] uint32_t id() const noexcept { return base_->id(); }
  /// Entries held: one per key, or per (key, user key) for map state; exact in memory,
  /// RocksDB's estimate (which counts overwrites until they are compacted) there.
  [[nodiscard]] uint64_t approximate_entries() const { return base_->approximate_entries(); }
  /// The state (what the store checks a handle against).
  [[nodiscard]] const state_base* base() const noexcept { return base_; }

protected:
  handle_base() noexcept = default;
  explicit handle_base(state_base* base) noexcept
      : base_(base) {}

  /// The state.
  state_base* base_ = nullptr;
};

/// What the store asks of a state: keys, key groups and sweeps.
template <class K>
class state_table : public state_base {
public:
  using state_base::state_base;

  /// Calls `f` for every key of key group `kg` that has unexpired state. The state must not be
  /// modified during the call.
  virtual void for_each_key(uint32_t kg, function_ref<void(const K&)> f) = 0;

  /// Writes the unexpired entries of key group `kg` in the canonical format; returns how many.
  virtual uint64_t write_entries(uint32_t kg, byte_writer& out) = 0;

  /// Decodes `count` canonical entries of key group `kg` into a staging area, changing nothing.
  virtual caf::error stage(uint32_t kg, byte_reader payload, uint64_t count) = 0;

  /// Replaces the contents of key group `kg` with the staged entries (none staged: empties it).
  virtual void commit(uint32_t kg) = 0;

  /// Drops the staged entries.
  virtual void drop_staged() = 0;

  /// Removes every expired entry; returns how many.
  virtual uint64_t cleanup() = 0;

  /// The exact number of entries stored, expired ones not yet removed included (a scan in
  /// RocksDB: for tests and diagnostics).
  virtual uint64_t stored_entries() = 0;
};

// -- operations, one interface per kind (no key type: the handles do not know it) ----------------

/// Operations of a value state.
template <class V>
class value_ops {
public:
  virtual ~value_ops() = default;
  /// The current key's value, or nullptr.
  virtual const V* get() = 0;
  /// Sets the current key's value.
  virtual void put(V&& x) = 0;
  /// Removes the current key's value.
  virtual void erase() = 0;
};

/// Operations of a list state.
template <class V>
class list_ops {
public:
  virtual ~list_ops() = default;
  /// Appends to the current key's list.
  virtual void add(V&& x) = 0;
  /// Copies the current key's unexpired elements to `out`; false when none.
  virtual bool get(std::vector<V>& out) = 0;
  /// Replaces the current key's list.
  virtual void put(std::vector<V>&& xs) = 0;
  /// Removes the current key's list.
  virtual void erase() = 0;
};

/// Operations of a map state.
template <class UK, class UV>
class map_ops {
public:
  virtual ~map_ops() = default;
  /// The current key's value at `uk`, or nullptr.
  virtual const UV* get(const UK& uk) = 0;
  /// Sets the current key's value at `uk`.
  virtual void put(const UK& uk, UV&& uv) = 0;
  /// Removes the current key's entry at `uk`; false when there was none.
  virtual bool remove(const UK& uk) = 0;
  /// True when the current key has an entry at `uk`.
  virtual bool contains(const UK& uk) = 0;
  /// Calls `f` for every unexpired entry of the current key.
  virtual void for_each(function_ref<void(const UK&, const UV&)> f) = 0;
  /// True when the current key has no unexpired entry.
  virtual bool is_empty() = 0;
  /// Removes every entry of the current key.
  virtual void erase() = 0;
};

/// Operations of a reducing state.
template <class V>
class reducing_ops {
public:
  virtual ~reducing_ops() = default;
  /// Folds `x` into the current key's value.
  virtual void add(V&& x) = 0;
  /// The current key's value, or nullptr.
  virtual const V* get() = 0;
  /// Removes the current key's value.
  virtual void erase() = 0;
};

/// Operations of an aggregating state.
template <class In, class Acc, class Out>
class aggregating_ops {
public:
  virtual ~aggregating_ops() = default;
  /// Adds `x` to the current key's accumulator.
  virtual void add(const In& x) = 0;
  /// The result of the current key's accumulator, or nullopt.
  virtual std::optional<Out> get() = 0;
  /// The current key's accumulator, or nullptr.
  virtual const Acc* accumulator() = 0;
  /// Merges `other` into the current key's accumulator; false without a merge function.
  virtual bool merge(const Acc& other) = 0;
  /// Replaces the current key's accumulator.
  virtual void put_accumulator(Acc&& acc) = 0;
  /// Removes the current key's accumulator.
  virtual void erase() = 0;
};

} // namespace eddy::state::internal
