// The in-memory backend: typed objects in one flat_table per key group and state, no
// serialization. Three storage shapes serve the five kinds of state:
//
//   memory_single<K, V>       one value per key (value, reducing and aggregating state)
//   memory_list<K, V>         a list of timed elements per key
//   memory_map<K, UK, UV>     a table of timed user entries per key
//
// Each has the same surface as its RocksDB twin (rocksdb_storage.hpp), so the state classes
// (states.hpp) are written once for both. TTL: an incremental sweep checks `cleanup_per_access`
// slots per access, moving through every key group's table in turn; a read that finds an expired
// entry removes it.
#pragma once

#include <eddy/state/internal/flat_table.hpp>
#include <eddy/state/internal/state_table.hpp>
#include <eddy/state/key_group_range.hpp>
#include <eddy/state/key_hash.hpp>

#include <algorithm>
#include <cstdint>
#include <tuple>
#include <utility>
#include <vector>

namespace eddy::state::internal {

/// Walks all tables of a state a few slots at a time: the incremental TTL sweep.
template <class Table>
class sweep_cursor {
public:
  /// Checks up to `n` slots; `visit(table, slot)` returns true when it erased the slot's entry
  /// (so the slot now holds the next entry to check).
  template <class Visit>
  void step(std::vector<Table>& tables, uint32_t n, Visit&& visit) {
    if (tables.empty())
      return;
    while (n-- > 0) {
      auto& t = tables[table_];
      if (slot_ >= t.slot_count()) {
        t.shrink();
        slot_ = 0;
        table_ = table_ + 1 == tables.size() ? 0 : table_ + 1;
        continue;
      }
      if (!t.occupied(slot_) || !visit(t, slot_))
        ++slot_;
    }
  }

  /// Starts over (after a table was replaced).
  void reset() noexcept { table_ = 0, slot_ = 0; }

private:
  size_t table_ = 0;
  size_t slot_ = 0;
};

/// Common part of the three in-memory storages: the tables, the context and the TTL.
template <class K, class Entry>
class memory_base {
public:
  using table_type = flat_table<K, Entry, key_hash<K>>;

  memory_base(key_context<K>& ctx, key_group_range range, state_ttl ttl)
      : ctx_(&ctx)
      , range_(range)
      , ttl_(ttl)
      , tables_(range.size()) {}

  /// True when an entry written at `ts` has expired at the store time.
  [[nodiscard]] bool expired(int64_t ts) const noexcept { return ttl_.expired(ts, ctx_->now); }

  /// Removes every entry of key group `kg`.
  void clear_key_group(uint32_t kg) {
    tables_[kg - range_.first].clear();
    cursor_.reset();
  }

  /// Starts restoring key group `kg`: empties it.
  void begin_restore(uint32_t kg) { clear_key_group(kg); }

  /// Ends a restore.
  void end_restore() noexcept {}

  /// The number of entries: one per key (memory_map hides this with its count of user entries).
  [[nodiscard]] uint64_t entries() const noexcept {
    uint64_t n = 0;
    for (const auto& t : tables_)
      n += t.size();
    return n;
  }

  /// The number of entries stored, expired ones included (the same: memory counts exactly;
  /// memory_map hides this too).
  [[nodiscard]] uint64_t stored() const noexcept { return entries(); }

protected:
  /// Offers every occupied slot of every table to `prune(table, slot)`, which returns true when
  /// it erased the slot's entry (so the slot now holds the next entry to offer); then shrinks the
  /// tables and restarts the sweep. The full pass behind cleanup().
  template <class Prune>
  void prune_all(Prune&& prune) {
    for (auto& t : tables_) {
      for (size_t i = 0; i < t.slot_count();)
        if (!t.occupied(i) || !prune(t, i))
          ++i;
      t.shrink();
    }
    cursor_.reset();
  }

  /// The table of the current key's key group, or nullptr when no key is current.
  table_type* current() noexcept {
    auto i = ctx_->index;
    return i == no_key ? nullptr : &tables_[i];
  }

  table_type& table_of(uint32_t kg) noexcept { return tables_[kg - range_.first]; }

  key_context<K>* ctx_;
  key_group_range range_;
  state_ttl ttl_;
  std::vector<table_type> tables_;
  sweep_cursor<table_type> cursor_;
};

// -- one value per key --------------------------------------------------------------------------

/// One value of type V per key.
template <class K, class V>
class memory_single : public memory_base<K, timed<V>> {
public:
  using base = memory_base<K, timed<V>>;
  using table_type = typename base::table_type;
  using base::base;

  /// Runs the incremental sweep (when the state has a TTL).
  void tick() {
    if (this->ttl_.enabled) {
      memo_ = nullptr; // the sweep may erase the remembered entry, or shrink its table
      this->cursor_.step(this->tables_, this->ttl_.cleanup_per_access,
                         [this](table_type& t, size_t i) { return prune(t, i); });
    }
  }

  /// The current key's value, or nullptr (an expired value is removed).
  V* find() {
    if (auto* e = remembered()) {
      if (!this->expired(e->ts))
        return &e->value;
    }
    auto* t = this->current();
    if (t == nullptr)
      return nullptr;
    auto i = t->find_slot(this->ctx_->hash, *this->ctx_->key);
    if (i == table_type::npos)
      return nullptr;
    auto& e = t->value_at(i);
    if (this->expired(e.ts)) {
      memo_ = nullptr;
      t->erase_slot(i);
      return nullptr;
    }
    remember(&e);
    return &e.value;
  }

  /// Sets the current key's value.
  void put(V&& x) {
    auto now = this->ctx_->now;
    if (auto* e = remembered()) {
      e->value = std::move(x);
      e->ts = now;
      return;
    }
    auto* t = this->current();
    if (t == nullptr)
      return;
    auto [e, inserted] = t->find_or_emplace(this->ctx_->hash, *this->ctx_->key, [&] {
      return timed<V>{now, std::move(x)};
    });
    if (!inserted) {
      e->value = std::move(x);
      e->ts = now;
    }
    remember(e);
  }

  /// Modifies the current key's value in place: `apply(value, fresh)` on the existing value, or
  /// on `make()` when there is none (fresh = true).
  template <class Make, class Apply>
  void upsert(Make&& make, Apply&& apply) {
    auto now = this->ctx_->now;
    auto* e = remembered();
    bool fresh = false;
    if (e == nullptr) {
      auto* t = this->current();
      if (t == nullptr)
        return;
      auto found = t->find_or_emplace(this->ctx_->hash, *this->ctx_->key, [&] {
        fresh = true;
        return timed<V>{now, make()};
      });
      e = found.first;
      remember(e);
    }
    if (!fresh && this->expired(e->ts)) {
      e->value = make();
      fresh = true;
    }
    apply(e->value, fresh);
    e->ts = now;
  }

  /// Removes the current key's value.
  void erase() {
    memo_ = nullptr;
    if (auto* t = this->current())
      t->erase(this->ctx_->hash, *this->ctx_->key);
  }

  /// Starts restoring key group `kg`: empties it.
  void begin_restore(uint32_t kg) {
    memo_ = nullptr;
    base::begin_restore(kg);
  }

  /// Calls `f(key, ts, value)` for every unexpired entry of key group `kg`.
  template <class F>
  void visit(uint32_t kg, F&& f) {
    this->table_of(kg).for_each([&](const K& k, const timed<V>& e) {
      if (!this->expired(e.ts))
        f(k, e.ts, e.value);
    });
  }

  /// Inserts a restored entry (replacing a duplicate).
  void restore(uint32_t kg, K&& k, int64_t ts, V&& x) {
    memo_ = nullptr;
    auto h = key_hash<K>{}(k);
    auto [e, inserted] = this->table_of(kg).find_or_emplace(h, k, [&] {
      return timed<V>{ts, std::move(x)};
    });
    if (!inserted)
      *e = timed<V>{ts, std::move(x)};
  }

  /// Removes every expired entry.
  uint64_t cleanup() {
    memo_ = nullptr;
    uint64_t n = 0;
    this->prune_all([&](table_type& t, size_t i) {
      if (!prune(t, i))
        return false;
      ++n;
      return true;
    });
    return n;
  }

private:
  /// Erases slot `i` when its value has expired; true when it did.
  bool prune(table_type& t, size_t i) {
    if (!this->expired(t.value_at(i).ts))
      return false;
    t.erase_slot(i);
    return true;
  }

  /// The current key's entry when this state found or wrote it since the key was set.
  timed<V>* remembered() const noexcept {
    return memo_ != nullptr && memo_generation_ == this->ctx_->generation ? memo_ : nullptr;
  }

  void remember(timed<V>* e) noexcept {
    memo_ = e;
    memo_generation_ = this->ctx_->generation;
  }

  /// The entry of the current key (valid while memo_generation_ is the context's generation and
  /// nothing erased or moved it: every method that may do so resets it).
  timed<V>* memo_ = nullptr;
  uint64_t memo_generation_ = 0;
};

// -- a list per key -----------------------------------------------------------------------------

/// A list of timed elements of type V per key.
template <class K, class V>
class memory_list : public memory_base<K, std::vector<timed<V>>> {
public:
  using elements = std::vector<timed<V>>;
  using base = memory_base<K, elements>;
  using table_type = typename base::table_type;
  using base::base;

  /// Runs the incremental sweep (when the state has a TTL).
  void tick() {
    if (this->ttl_.enabled)
      this->cursor_.step(this->tables_, this->ttl_.cleanup_per_access,
                         [this](table_type& t, size_t i) { return prune(t, i); });
  }

  /// Appends `x` to the current key's list.
  void add(V&& x) {
    if (auto* t = this->current()) {
      auto now = this->ctx_->now;
      auto [xs, inserted] =
          t->find_or_emplace(this->ctx_->hash, *this->ctx_->key, [] { return elements{}; });
      (void)inserted;
      xs->push_back(timed<V>{now, std::move(x)});
    }
  }

  /// Copies the current key's unexpired elements to `out`; false when there are none.
  bool get(std::vector<V>& out) {
    out.clear();
    auto* t = this->current();
    if (t == nullptr)
      return false;
    auto i = t->find_slot(this->ctx_->hash, *this->ctx_->key);
    if (i == table_type::npos)
      return false;
    if (prune(*t, i))
      return false;
    const auto& xs = t->value_at(i);
    out.reserve(xs.size());
    for (const auto& e : xs)
      out.push_back(e.value);
    return !out.empty();
  }

  /// Replaces the current key's list (an empty one removes it).
  void put(std::vector<V>&& xs) {
    auto* t = this->current();
    if (t == nullptr)
      return;
    if (xs.empty()) {
      t->erase(this->ctx_->hash, *this->ctx_->key);
      return;
    }
    auto now = this->ctx_->now;
    elements es;
    es.reserve(xs.size());
    for (auto& x : xs)
      es.push_back(timed<V>{now, std::move(x)});
    auto [e, inserted] =
        t->find_or_emplace(this->ctx_->hash, *this->ctx_->key, [] { return elements{}; });
    (void)inserted;
    *e = std::move(es);
  }

  /// Removes the current key's list.
  void erase() {
    if (auto* t = this->current())
      t->erase(this->ctx_->hash, *this->ctx_->key);
  }

  /// Calls `on_key(key)` then `on_element(ts, value)` per unexpired element, for every key of
  /// key group `kg` with unexpired elements.
  template <class OnKey, class OnElement>
  void visit(uint32_t kg, OnKey&& on_key, OnElement&& on_element) {
    this->table_of(kg).for_each([&](const K& k, const elements& xs) {
      bool first = true;
      for (const auto& e : xs) {
        if (this->expired(e.ts))
          continue;
        if (first)
          on_key(k), first = false;
        on_element(e.ts, e.value);
      }
    });
  }

  /// Inserts a restored list (replacing a duplicate; an empty one is skipped).
  void restore(uint32_t kg, K&& k, elements&& xs) {
    if (xs.empty())
      return;
    auto h = key_hash<K>{}(k);
    auto [e, inserted] = this->table_of(kg).find_or_emplace(h, k, [&] { return std::move(xs); });
    if (!inserted)
      *e = std::move(xs);
  }

  /// Removes every expired element.
  uint64_t cleanup() {
    uint64_t n = 0;
    this->prune_all([&](table_type& t, size_t i) {
      auto before = t.value_at(i).size();
      if (prune(t, i)) {
        n += before;
        return true;
      }
      n += before - t.value_at(i).size();
      return false;
    });
    return n;
  }

private:
  /// Drops the expired elements of slot `i`; true when that emptied (and erased) the entry.
  bool prune(table_type& t, size_t i) {
    auto& xs = t.value_at(i);
    if (this->ttl_.enabled) {
      auto now = this->ctx_->now;
      auto ttl = this->ttl_;
      xs.erase(std::remove_if(xs.begin(), xs.end(),
                              [&](const timed<V>& e) { return ttl.expired(e.ts, now); }),
               xs.end());
    }
    if (!xs.empty())
      return false;
    t.erase_slot(i);
    return true;
  }
};

// -- a map per key ------------------------------------------------------------------------------

/// A table of timed user entries UK -> UV per key.
template <class K, class UK, class UV>
class memory_map : public memory_base<K, flat_table<UK, timed<UV>, key_hash<UK>>> {
public:
  using inner = flat_table<UK, timed<UV>, key_hash<UK>>;
  using base = memory_base<K, inner>;
  using table_type = typename base::table_type;
  using base::base;

  /// Runs the incremental sweep (when the state has a TTL).
  void tick() {
    if (this->ttl_.enabled)
      this->cursor_.step(this->tables_, this->ttl_.cleanup_per_access,
                         [this](table_type& t, size_t i) { return prune(t, i); });
  }

  /// The current key's value at `uk`, or nullptr.
  UV* get(const UK& uk) {
    auto* m = current_map();
    if (m == nullptr)
      return nullptr;
    auto h = key_hash<UK>{}(uk);
    auto i = m->find_slot(h, uk);
    if (i == inner::npos)
      return nullptr;
    auto& e = m->value_at(i);
    if (this->expired(e.ts)) {
      m->erase_slot(i);
      --entries_;
      drop_if_empty();
      return nullptr;
    }
    return &e.value;
  }

  /// Sets the current key's value at `uk`.
  void put(const UK& uk, UV&& uv) {
    auto* t = this->current();
    if (t == nullptr)
      return;
    auto [m, fresh_key] =
        t->find_or_emplace(this->ctx_->hash, *this->ctx_->key, [] { return inner{}; });
    (void)fresh_key;
    auto now = this->ctx_->now;
    auto [e, inserted] = m->find_or_emplace(key_hash<UK>{}(uk), uk, [&] {
      return timed<UV>{now, std::move(uv)};
    });
    if (inserted) {
      ++entries_;
    } else {
      e->value = std::move(uv);
      e->ts = now;
    }
  }

  /// Removes the current key's entry at `uk`; false when there was none (or it had expired).
  bool remove(const UK& uk) {
    auto* m = current_map();
    if (m == nullptr)
      return false;
    auto i = m->find_slot(key_hash<UK>{}(uk), uk);
    if (i == inner::npos)
      return false;
    bool live = !this->expired(m->value_at(i).ts);
    m->erase_slot(i);
    --entries_;
    drop_if_empty();
    return live;
  }

  /// Calls `f(uk, uv)` for every unexpired entry of the current key.
  template <class F>
  void for_each(F&& f) {
    auto* m = current_map();
    if (m == nullptr)
      return;
    m->for_each([&](const UK& uk, const timed<UV>& e) {
      if (!this->expired(e.ts))
        f(uk, e.value);
    });
  }

  /// True when the current key has no unexpired entry.
  bool is_empty() {
    auto* m = current_map();
    if (m == nullptr)
      return true;
    bool empty = true;
    m->for_each([&](const UK&, const timed<UV>& e) { empty = empty && this->expired(e.ts); });
    return empty;
  }

  /// Removes all entries of the current key.
  void erase() {
    auto* t = this->current();
    if (t == nullptr)
      return;
    auto i = t->find_slot(this->ctx_->hash, *this->ctx_->key);
    if (i != table_type::npos) {
      entries_ -= t->value_at(i).size();
      t->erase_slot(i);
    }
  }

  /// Calls `on_key(key)` then `on_element(ts, uk, uv)` per unexpired entry, for every key of key
  /// group `kg` with unexpired entries.
  template <class OnKey, class OnElement>
  void visit(uint32_t kg, OnKey&& on_key, OnElement&& on_element) {
    this->table_of(kg).for_each([&](const K& k, const inner& m) {
      bool first = true;
      m.for_each([&](const UK& uk, const timed<UV>& e) {
        if (this->expired(e.ts))
          return;
        if (first)
          on_key(k), first = false;
        on_element(e.ts, uk, e.value);
      });
    });
  }

  /// Inserts restored entries of a key (merged into a duplicate; none: skipped).
  void restore(uint32_t kg, K&& k, std::vector<std::tuple<int64_t, UK, UV>>&& xs) {
    if (xs.empty())
      return;
    auto h = key_hash<K>{}(k);
    auto [m, fresh] = this->table_of(kg).find_or_emplace(h, k, [] { return inner{}; });
    (void)fresh;
    for (auto& x : xs) {
      // Not a structured binding: a lambda may capture one only from C++20 on.
      auto& [ts, uk, uv] = x;
      auto [e, inserted] = m->find_or_emplace(key_hash<UK>{}(uk), uk, [&x] {
        return timed<UV>{std::get<0>(x), std::move(std::get<2>(x))};
      });
      if (inserted)
        ++entries_;
      else
        *e = timed<UV>{ts, std::move(uv)};
    }
  }

  /// Removes every entry of key group `kg`.
  void clear_key_group(uint32_t kg) {
    auto& t = this->table_of(kg);
    t.for_each([&](const K&, const inner& m) { entries_ -= m.size(); });
    base::clear_key_group(kg);
  }

  /// Starts restoring key group `kg`: empties it.
  void begin_restore(uint32_t kg) { clear_key_group(kg); }

  /// Removes every expired entry.
  uint64_t cleanup() {
    auto before = entries_;
    this->prune_all([this](table_type& t, size_t i) { return prune(t, i); });
    return before - entries_;
  }

  /// The number of (key, user key) entries.
  [[nodiscard]] uint64_t entries() const noexcept { return entries_; }

  /// The number of entries stored, expired ones included (the same: memory counts exactly).
  [[nodiscard]] uint64_t stored() const noexcept { return entries(); }

private:
  inner* current_map() {
    auto* t = this->current();
    return t == nullptr ? nullptr : t->find(this->ctx_->hash, *this->ctx_->key);
  }

  void drop_if_empty() {
    auto* t = this->current();
    auto i = t->find_slot(this->ctx_->hash, *this->ctx_->key);
    if (i != table_type::npos && t->value_at(i).empty())
      t->erase_slot(i);
  }

  /// Drops the expired user entries of slot `i`; true when that emptied (and erased) the key.
  bool prune(table_type& t, size_t i) {
    auto& m = t.value_at(i);
    if (this->ttl_.enabled) {
      for (size_t j = 0; j < m.slot_count();) {
        if (m.occupied(j) && this->expired(m.value_at(j).ts)) {
          m.erase_slot(j);
          --entries_;
        } else {
          ++j;
        }
      }
      m.shrink();
    }
    if (!m.empty())
      return false;
    t.erase_slot(i);
    return true;
  }

  /// (key, user key) entries in all tables.
  uint64_t entries_ = 0;
};

} // namespace eddy::state::internal
