// broadcast_map_state<K, V>: the state of the broadcast state pattern (Flink's BroadcastState). A
// map that every instance of a broadcast process operator keeps, written only by the broadcast
// input (rules, parameters, model versions), so it is the same on every instance; the keyed
// input reads it. It snapshots like keyed state: to bytes and back, in one format (state/codec.hpp
// for keys and values, a CRC-32C at the end).
//
//   eddy::broadcast_map_state<std::string, rule> rules{"rules"};
//   rules.put("max-amount", rule{1000});
//   if (const rule* r = rules.get("max-amount")) ...
//   auto bytes = rules.write_bytes();                        // a snapshot ...
//   eddy::broadcast_map_state<std::string, rule> copy{"rules"};
//   if (auto err = copy.read_bytes(bytes)) ...               // ... restored (damaged: an error)
//
// Entries are kept in key order (std::map), so two instances that applied the same updates
// write the same bytes. Keys and values need a codec (trivially copyable, std::string, vectors,
// pairs, or a Boost `serialize`) and keys `operator<`.
#pragma once

#include <eddy/state/codec.hpp>
#include <eddy/state/crc32c.hpp>
#include <eddy/state/errc.hpp>

#include <caf/error.hpp>

#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace eddy {

/// A map `K -> V` replicated on every instance of a broadcast process operator.
template <class K, class V>
class broadcast_map_state {
public:
  // -- constructors -----------------------------------------------------------------------------

  /// An empty state named `name` (the name identifies it in snapshots).
  explicit broadcast_map_state(std::string name = {})
      : name_(std::move(name)) {}

  // -- reading ----------------------------------------------------------------------------------

  /// The value at `k`, or nullptr. Valid until the next change of the state.
  [[nodiscard]] const V* get(const K& k) const {
    auto i = entries_.find(k);
    return i == entries_.end() ? nullptr : &i->second;
  }

  /// True when the state has an entry at `k`.
  [[nodiscard]] bool contains(const K& k) const { return entries_.count(k) != 0; }

  /// Calls `f(const K&, const V&)` for every entry, in key order.
  template <class F>
  void for_each(F&& f) const {
    for (const auto& [k, v] : entries_)
      f(k, v);
  }

  /// The number of entries.
  [[nodiscard]] size_t size() const noexcept { return entries_.size(); }

  /// True when the state has no entry.
  [[nodiscard]] bool empty() const noexcept { return entries_.empty(); }

  /// The state's name.
  [[nodiscard]] const std::string& name() const noexcept { return name_; }

  // -- writing (the broadcast input only) -------------------------------------------------------

  /// Sets the value at `k`.
  void put(const K& k, V v) { entries_[k] = std::move(v); }

  /// Removes the entry at `k`; false when there was none.
  bool remove(const K& k) { return entries_.erase(k) != 0; }

  /// Removes every entry.
  void clear() noexcept { entries_.clear(); }

  // -- snapshots --------------------------------------------------------------------------------

  /// The state as bytes: the name, the number of entries, each key and value (codec.hpp), and a
  /// CRC-32C of all of it.
  [[nodiscard]] std::vector<char> write_bytes() const {
    std::vector<char> bytes;
    state::byte_writer out{bytes};
    state::codec<std::string>::write(out, name_);
    out.write_raw(static_cast<uint64_t>(entries_.size()));
    for (const auto& [k, v] : entries_) {
      state::codec<K>::write(out, k);
      state::codec<V>::write(out, v);
    }
    out.write_raw(state::crc32c(bytes.data(), bytes.size()));
    return bytes;
  }

  /// Replaces the state with the one in `bytes` (made by write_bytes). Damaged or truncated bytes,
  /// or the bytes of a state of another name, are refused and then nothing changes.
  [[nodiscard]] caf::error read_bytes(const std::vector<char>& bytes) {
    auto damaged = [&](const std::string& why) {
      return make_error(state::errc::corrupt_key_group, "broadcast state '" + name_ + "': " + why +
                                                            "; restore it from another snapshot");
    };
    uint32_t crc = 0;
    if (bytes.size() < sizeof(crc))
      return damaged("the bytes are truncated");
    auto body = bytes.size() - sizeof(crc);
    std::memcpy(&crc, bytes.data() + body, sizeof(crc));
    if (crc != state::crc32c(bytes.data(), body))
      return damaged("the checksum does not match (damaged bytes)");
    state::byte_reader in{bytes.data(), body};
    std::string name;
    uint64_t count = 0;
    if (!state::codec<std::string>::read(in, name) || !in.read_raw(count))
      return damaged("the header is truncated");
    if (name != name_)
      return damaged("the bytes are those of broadcast state '" + name +
                     "': restore each state from its own bytes");
    std::map<K, V> staged;
    for (uint64_t i = 0; i < count; ++i) {
      K k{};
      V v{};
      if (!state::codec<K>::read(in, k) || !state::codec<V>::read(in, v))
        return damaged("entry " + std::to_string(i) + " is truncated");
      staged.emplace(std::move(k), std::move(v));
    }
    if (!in.at_end())
      return damaged("bytes follow the last entry");
    entries_ = std::move(staged);
    return caf::none;
  }

  friend bool operator==(const broadcast_map_state& x, const broadcast_map_state& y) {
    return x.name_ == y.name_ && x.entries_ == y.entries_;
  }

private:
  /// The state's name.
  std::string name_;
  /// The entries, in key order.
  std::map<K, V> entries_;
};

} // namespace eddy
