// The RocksDB backend's storages, twins of memory_storage.hpp with the same surface. One column
// family per state; keys and values as bytes:
//
//   memory twin              RocksDB key                      RocksDB value
//   rocksdb_single<K, V>     [kg, 2 bytes BE][codec K]        [ts i64][codec V]
//   rocksdb_list<K, V>       [kg, 2 bytes BE][codec K]        ([ts i64][codec V])*, appended
//                                                             by the merge operator
//   rocksdb_map<K, UK, UV>   [kg, 2 bytes BE][codec K][codec UK]   [ts i64][codec UV]
//
// A key group is one contiguous key range of the column family. TTL: reads skip expired entries
// (and list records); a compaction filter per column family drops them as RocksDB compacts, as
// Flink's RocksDB backend does; cleanup() compacts a state fully. There is no sweep by iterator:
// walking a key range full of fresh tombstones costs far more than the entries it removes.
#pragma once

#include <eddy/state/internal/rocksdb_db.hpp>
#include <eddy/state/internal/state_table.hpp>
#include <eddy/state/key_group_range.hpp>

#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace eddy::state::internal {

/// The smallest key above every key that starts with `prefix` (empty: no such bound).
[[nodiscard]] inline std::string prefix_successor(std::string_view prefix) {
  std::string s{prefix};
  while (!s.empty()) {
    auto c = static_cast<unsigned char>(s.back());
    if (c != 0xFF) {
      s.back() = static_cast<char>(c + 1);
      return s;
    }
    s.pop_back();
  }
  return s;
}

/// Common part of the RocksDB storages: the column family, the current key's bytes, restores.
template <class K>
class rocksdb_base {
public:
  rocksdb_base(key_context<K>& ctx, key_group_range range, state_ttl ttl, rocksdb_db& db,
               uint32_t cf)
      : ctx_(&ctx)
      , range_(range)
      , ttl_(ttl)
      , db_(&db)
      , cf_(cf) {}

  /// True when an entry written at `ts` has expired at the store time.
  [[nodiscard]] bool expired(int64_t ts) const noexcept { return ttl_.expired(ts, ctx_->now); }

  /// RocksDB's estimate of the entries in the column family.
  [[nodiscard]] uint64_t entries() const { return db_->approximate_entries(cf_); }

  /// The exact number of RocksDB entries, expired ones included (a scan).
  [[nodiscard]] uint64_t stored() {
    uint64_t n = 0;
    auto c = db_->open_cursor(cf_, {}, {});
    for (c->seek_to_first(); c->valid(); c->next())
      ++n;
    return n;
  }

  /// Starts restoring key group `kg`: a batch that first empties it.
  void begin_restore(uint32_t kg) {
    batch_ = std::make_unique<rocksdb_db::write_batch>();
    batch_->erase_range(cf_, kg_prefix(kg), kg_prefix(kg + 1));
  }

  /// Writes the restore batch.
  void end_restore() {
    db_->write(*batch_);
    batch_.reset();
  }

protected:
  /// The current key's bytes ([kg][codec K]), or nullptr when no key is current.
  const std::vector<char>* key_bytes() {
    auto& c = *ctx_;
    if (c.index == no_key)
      return nullptr;
    if (!c.encoded_valid) {
      c.encoded.clear();
      write_kg_prefix(c.encoded, c.kg);
      byte_writer out{c.encoded};
      codec<K>::write(out, *c.key);
      c.encoded_valid = true;
    }
    return &c.encoded;
  }

  static std::string_view view(const std::vector<char>& x) noexcept { return {x.data(), x.size()}; }

  /// Encodes [kg][key] of a restored or visited key into `out`.
  static void encode_key(std::vector<char>& out, uint32_t kg, const K& k) {
    out.clear();
    write_kg_prefix(out, kg);
    byte_writer w{out};
    codec<K>::write(w, k);
  }

  /// A cursor over key group `kg`.
  std::unique_ptr<rocksdb_db::cursor> kg_cursor(uint32_t kg) {
    auto c = db_->open_cursor(cf_, kg_prefix(kg), kg_prefix(kg + 1));
    c->seek_to_first();
    return c;
  }

  /// Calls `f(key, value)` for every entry of key group `kg`; `key` reads the bytes after the
  /// key-group prefix.
  template <class F>
  void for_each_entry(uint32_t kg, F&& f) {
    for (auto c = kg_cursor(kg); c->valid(); c->next()) {
      auto kv = c->key();
      if (kv.size() < 2)
        continue;
      f(byte_reader{kv.data() + 2, kv.size() - 2}, c->value());
    }
  }

  /// Decodes an entry: the rest of its key, codec Key (to the end), from `kin`, and its value
  /// `v`, [ts][codec V]; false when it does not decode or has expired.
  template <class Key, class V>
  bool read_live_entry(byte_reader& kin, Key& k, std::string_view v, int64_t& ts, V& x) {
    byte_reader vin{v.data(), v.size()};
    return codec<Key>::read(kin, k) && kin.at_end() && vin.read_raw(ts) && !expired(ts) &&
           codec<V>::read(vin, x);
  }

  /// Has the compaction filter remove every expired entry now; returns how many went.
  uint64_t compact() { return db_->compact(cf_); }

  /// Encodes [ts][codec V] into vbuf_; returns its bytes.
  template <class V>
  std::string_view timed_value(int64_t ts, const V& x) {
    vbuf_.clear();
    byte_writer out{vbuf_};
    out.write_raw(ts);
    codec<V>::write(out, x);
    return view(vbuf_);
  }

  /// Decodes got_ ([ts][codec V]) into `cache`; nullptr when it has expired or does not decode.
  template <class V>
  V* live_value(std::optional<V>& cache) {
    byte_reader in{got_.data(), got_.size()};
    int64_t ts = 0;
    if (!in.read_raw(ts) || expired(ts))
      return nullptr;
    if (!cache)
      cache.emplace();
    if (!codec<V>::read(in, *cache))
      return nullptr;
    return &*cache;
  }

  /// Reads the timestamp at the start of a value; false when the value is too short.
  static bool read_ts(std::string_view v, int64_t& ts) noexcept {
    if (v.size() < sizeof(ts))
      return false;
    std::memcpy(&ts, v.data(), sizeof(ts));
    return true;
  }

  key_context<K>* ctx_;
  key_group_range range_;
  state_ttl ttl_;
  rocksdb_db* db_;
  uint32_t cf_;
  std::vector<char> kbuf_;
  std::vector<char> vbuf_;
  std::string got_;
  std::unique_ptr<rocksdb_db::write_batch> batch_;
};

/// The bytes codec<V> takes at `data`, or SIZE_MAX (the list records' sizer for compactions).
template <class V>
size_t record_payload_size(const char* data, size_t size) {
  byte_reader in{data, size};
  V x{};
  if (!codec<V>::read(in, x))
    return SIZE_MAX;
  return size - in.remaining();
}

// -- one value per key --------------------------------------------------------------------------

/// One value of type V per key.
template <class K, class V>
class rocksdb_single : public rocksdb_base<K> {
public:
  static_assert(std::is_default_constructible_v<V> && std::is_default_constructible_v<K>,
                "the RocksDB backend decodes into default-constructed keys and values");

  using rocksdb_base<K>::rocksdb_base;

  /// The column family of a state of this shape.
  static rocksdb_db::column_options column(const state_ttl& ttl) {
    return {false, ttl.enabled ? ttl.ttl_ms : 0, nullptr};
  }

  void tick() noexcept {}

  V* find() {
    auto* k = this->key_bytes();
    if (k == nullptr ||
        this->db_->get(this->cf_, this->view(*k), this->got_) != rocksdb_db::lookup::found)
      return nullptr;
    return this->live_value(cache_);
  }

  void put(V&& x) {
    if (auto* k = this->key_bytes())
      write(*k, this->ctx_->now, x);
  }

  template <class Make, class Apply>
  void upsert(Make&& make, Apply&& apply) {
    auto* k = this->key_bytes();
    if (k == nullptr)
      return;
    // A read that failed is not a missing value: writing a fresh one would lose what the stored
    // one holds (the failure is reported through backend_error()).
    auto got = this->db_->get(this->cf_, this->view(*k), this->got_);
    if (got == rocksdb_db::lookup::failed)
      return;
    if (auto* cur = got == rocksdb_db::lookup::found ? this->live_value(cache_) : nullptr) {
      apply(*cur, false);
      write(*k, this->ctx_->now, *cur);
    } else {
      V x = make();
      apply(x, true);
      write(*k, this->ctx_->now, x);
    }
  }

  void erase() {
    if (auto* k = this->key_bytes())
      this->db_->erase(this->cf_, this->view(*k));
  }

  template <class F>
  void visit(uint32_t kg, F&& f) {
    K key{};
    V x{};
    this->for_each_entry(kg, [&](byte_reader kin, std::string_view v) {
      int64_t ts = 0;
      if (this->read_live_entry(kin, key, v, ts, x))
        f(std::as_const(key), ts, std::as_const(x));
    });
  }

  void restore(uint32_t kg, K&& k, int64_t ts, V&& x) {
    this->encode_key(this->kbuf_, kg, k);
    this->batch_->put(this->cf_, this->view(this->kbuf_), this->timed_value(ts, x));
  }

  uint64_t cleanup() { return this->compact(); }

private:
  void write(const std::vector<char>& k, int64_t ts, const V& x) {
    this->db_->put(this->cf_, this->view(k), this->timed_value(ts, x));
  }

  /// The last value read (what find() points to).
  std::optional<V> cache_;
};

// -- a list per key -----------------------------------------------------------------------------

/// A list of timed elements of type V per key, appended with RocksDB's merge.
template <class K, class V>
class rocksdb_list : public rocksdb_base<K> {
public:
  static_assert(std::is_default_constructible_v<V> && std::is_default_constructible_v<K>,
                "the RocksDB backend decodes into default-constructed keys and values");

  using elements = std::vector<timed<V>>;
  using rocksdb_base<K>::rocksdb_base;

  /// The column family of a state of this shape.
  static rocksdb_db::column_options column(const state_ttl& ttl) {
    return {true, ttl.enabled ? ttl.ttl_ms : 0, &record_payload_size<V>};
  }

  void tick() noexcept {}

  void add(V&& x) {
    auto* k = this->key_bytes();
    if (k != nullptr)
      this->db_->merge(this->cf_, this->view(*k), this->timed_value(this->ctx_->now, x));
  }

  bool get(std::vector<V>& out) {
    out.clear();
    auto* k = this->key_bytes();
    if (k == nullptr ||
        this->db_->get(this->cf_, this->view(*k), this->got_) != rocksdb_db::lookup::found)
      return false;
    parse(this->got_, [&](int64_t ts, V& x) {
      if (!this->expired(ts))
        out.push_back(std::move(x));
    });
    return !out.empty();
  }

  void put(std::vector<V>&& xs) {
    auto* k = this->key_bytes();
    if (k == nullptr)
      return;
    if (xs.empty()) {
      this->db_->erase(this->cf_, this->view(*k));
      return;
    }
    this->vbuf_.clear();
    byte_writer out{this->vbuf_};
    for (const auto& x : xs) {
      out.write_raw(this->ctx_->now);
      codec<V>::write(out, x);
    }
    this->db_->put(this->cf_, this->view(*k), this->view(this->vbuf_));
  }

  void erase() {
    if (auto* k = this->key_bytes())
      this->db_->erase(this->cf_, this->view(*k));
  }

  template <class OnKey, class OnElement>
  void visit(uint32_t kg, OnKey&& on_key, OnElement&& on_element) {
    K key{};
    this->for_each_entry(kg, [&](byte_reader kin, std::string_view v) {
      if (!codec<K>::read(kin, key) || !kin.at_end())
        return;
      bool first = true;
      parse(v, [&](int64_t ts, V& x) {
        if (this->expired(ts))
          return;
        if (first)
          on_key(std::as_const(key)), first = false;
        on_element(ts, std::as_const(x));
      });
    });
  }

  void restore(uint32_t kg, K&& k, elements&& xs) {
    if (xs.empty())
      return;
    this->encode_key(this->kbuf_, kg, k);
    this->vbuf_.clear();
    byte_writer out{this->vbuf_};
    for (const auto& e : xs) {
      out.write_raw(e.ts);
      codec<V>::write(out, e.value);
    }
    this->batch_->put(this->cf_, this->view(this->kbuf_), this->view(this->vbuf_));
  }

  uint64_t cleanup() { return this->compact(); }

private:
  /// Calls `f(ts, element)` per record of a list value; false when the value is damaged (then
  /// the records before the damage were visited).
  template <class F>
  bool parse(std::string_view v, F&& f) {
    byte_reader in{v.data(), v.size()};
    V x{};
    while (!in.at_end()) {
      int64_t ts = 0;
      if (!in.read_raw(ts) || !codec<V>::read(in, x))
        return false;
      f(ts, x);
    }
    return true;
  }
};

// -- a map per key ------------------------------------------------------------------------------

/// Timed user entries UK -> UV per key, one RocksDB entry each.
template <class K, class UK, class UV>
class rocksdb_map : public rocksdb_base<K> {
public:
  static_assert(std::is_default_constructible_v<K> && std::is_default_constructible_v<UK> &&
                    std::is_default_constructible_v<UV>,
                "the RocksDB backend decodes into default-constructed keys and values");

  using rocksdb_base<K>::rocksdb_base;

  /// The column family of a state of this shape.
  static rocksdb_db::column_options column(const state_ttl& ttl) {
    return {false, ttl.enabled ? ttl.ttl_ms : 0, nullptr};
  }

  void tick() noexcept {}

  UV* get(const UK& uk) {
    if (!user_key(uk) ||
        this->db_->get(this->cf_, this->view(this->kbuf_), this->got_) != rocksdb_db::lookup::found)
      return nullptr;
    return this->live_value(cache_);
  }

  void put(const UK& uk, UV&& uv) {
    if (user_key(uk))
      this->db_->put(this->cf_, this->view(this->kbuf_), this->timed_value(this->ctx_->now, uv));
  }

  bool remove(const UK& uk) {
    bool live = get(uk) != nullptr;
    if (user_key(uk))
      this->db_->erase(this->cf_, this->view(this->kbuf_));
    return live;
  }

  template <class F>
  void for_each(F&& f) {
    auto c = key_cursor();
    if (c == nullptr)
      return;
    auto prefix = this->key_bytes()->size();
    UK uk{};
    UV uv{};
    for (; c->valid(); c->next()) {
      auto kv = c->key();
      byte_reader kin{kv.data() + prefix, kv.size() - prefix};
      int64_t ts = 0;
      if (this->read_live_entry(kin, uk, c->value(), ts, uv))
        f(std::as_const(uk), std::as_const(uv));
    }
  }

  bool is_empty() {
    auto c = key_cursor();
    if (c == nullptr)
      return true;
    for (; c->valid(); c->next()) {
      int64_t ts = 0;
      if (this->read_ts(c->value(), ts) && !this->expired(ts))
        return false;
    }
    return true;
  }

  void erase() {
    auto c = key_cursor();
    if (c == nullptr)
      return;
    for (; c->valid(); c->next())
      this->db_->erase(this->cf_, c->key());
  }

  template <class OnKey, class OnElement>
  void visit(uint32_t kg, OnKey&& on_key, OnElement&& on_element) {
    K key{};
    UK uk{};
    UV uv{};
    std::string last; // bytes of the last key passed to on_key
    bool any = false;
    this->for_each_entry(kg, [&](byte_reader kin, std::string_view v) {
      auto* start = kin.position();
      if (!codec<K>::read(kin, key))
        return;
      std::string_view key_part{start, static_cast<size_t>(kin.position() - start)};
      int64_t ts = 0;
      if (!this->read_live_entry(kin, uk, v, ts, uv))
        return;
      if (!any || key_part != last) {
        on_key(std::as_const(key));
        last.assign(key_part);
        any = true;
      }
      on_element(ts, std::as_const(uk), std::as_const(uv));
    });
  }

  void restore(uint32_t kg, K&& k, std::vector<std::tuple<int64_t, UK, UV>>&& xs) {
    for (const auto& [ts, uk, uv] : xs) {
      this->encode_key(this->kbuf_, kg, k);
      byte_writer kout{this->kbuf_};
      codec<UK>::write(kout, uk);
      this->batch_->put(this->cf_, this->view(this->kbuf_), this->timed_value(ts, uv));
    }
  }

  uint64_t cleanup() { return this->compact(); }

private:
  /// A cursor over the current key's user entries, at the first; nullptr when no key is current.
  std::unique_ptr<rocksdb_db::cursor> key_cursor() {
    auto* k = this->key_bytes();
    if (k == nullptr)
      return nullptr;
    std::string lower{k->data(), k->size()};
    auto upper = prefix_successor(lower);
    auto c = this->db_->open_cursor(this->cf_, std::move(lower), std::move(upper), true);
    c->seek_to_first();
    return c;
  }

  /// Puts the current key's bytes followed by `uk` into kbuf_; false when no key is current.
  bool user_key(const UK& uk) {
    auto* k = this->key_bytes();
    if (k == nullptr)
      return false;
    this->kbuf_.assign(k->begin(), k->end());
    byte_writer out{this->kbuf_};
    codec<UK>::write(out, uk);
    return true;
  }

  /// The last value read (what get() points to).
  std::optional<UV> cache_;
};

} // namespace eddy::state::internal
