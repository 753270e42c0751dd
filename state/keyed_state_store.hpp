// keyed_state_store<K>: all keyed state of one operator instance, for the key groups it owns, in
// one backend. The operator sets the current key (and time) per record; state handles declared
// by name then act on that key. Every key group can be written to bytes and read back in one
// canonical format shared by both backends: what checkpoints, restore and rescaling build on.
//
//   namespace st = eddy::state;
//   auto range = st::key_group_range::of(instance, parallelism, 128);
//   auto store = st::make_keyed_state_store<uint64_t>(st::backend_config{}, range, 128);
//   if (!store) return store.error();                  // a config mistake, with how to fix it
//   auto count = store->declare_value<int64_t>("count", st::state_ttl::after_ms(3'600'000));
//   if (!count) return count.error();                  // e.g. "count" declared with other types
//   for (auto& r : batch) {
//     store->set_time(r.time);
//     store->set_current_key(r.user);                  // hash -> key group, as the partitioner
//     auto* c = count->value();
//     count->update(c ? *c + 1 : 1);
//   }
//   auto bytes = store->write_key_group(kg);           // snapshot one key group ...
//   auto err = other->read_key_group(kg, *bytes);      // ... and restore it anywhere
//
// A store belongs to one thread (its operator's actor); nothing in it is synchronized. Keys need
// a codec (codec.hpp), operator==, a default constructor, and a std::hash or a key_hash
// specialization (key_hash.hpp).
#pragma once

#include <eddy/actors/partitioning.hpp>
#include <eddy/state/aggregating_state.hpp>
#include <eddy/state/backend_config.hpp>
#include <eddy/state/errc.hpp>
#include <eddy/state/internal/format.hpp>
#include <eddy/state/internal/memory_storage.hpp>
#include <eddy/state/internal/rocksdb_db.hpp>
#include <eddy/state/internal/rocksdb_storage.hpp>
#include <eddy/state/internal/states.hpp>
#include <eddy/state/key_group_range.hpp>
#include <eddy/state/key_hash.hpp>
#include <eddy/state/list_state.hpp>
#include <eddy/state/map_state.hpp>
#include <eddy/state/reducing_state.hpp>
#include <eddy/state/state_ttl.hpp>
#include <eddy/state/value_state.hpp>

#include <caf/expected.hpp>

#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace eddy::state {

namespace internal {

/// True when `a == b` compiles for two const T&.
template <class T, class = void>
struct is_equality_comparable : std::false_type {};

/// True when `a == b` compiles for two const T&.
template <class T>
struct is_equality_comparable<
    T, std::void_t<decltype(std::declval<const T&>() == std::declval<const T&>())>>
    : std::true_type {};

} // namespace internal

/// The largest number of key groups a store supports (Flink's largest max parallelism).
inline constexpr uint32_t max_key_groups = 32768;

template <class K>
class keyed_state_store;

/// Makes the store of an operator instance owning `range` out of `key_groups` key groups.
template <class K>
[[nodiscard]] caf::expected<keyed_state_store<K>>
make_keyed_state_store(const backend_config& cfg, key_group_range range, uint32_t key_groups);

/// All keyed state of one operator instance: the current key, the clock, and every named state.
template <class K>
class keyed_state_store {
public:
  static_assert(std::is_default_constructible_v<K> && std::is_copy_assignable_v<K> &&
                    std::is_nothrow_move_constructible_v<K>,
                "keyed_state_store: keys must be default-constructible, copy-assignable and "
                "nothrow move-constructible");
  static_assert(internal::is_equality_comparable<K>::value,
                "keyed_state_store: keys must be equality-comparable (operator==)");

  // -- member types -----------------------------------------------------------------------------

  /// The key type.
  using key_type = K;

  // -- constructors -----------------------------------------------------------------------------

  /// Takes over `other`'s states; handles declared on `other` now act on this store.
  keyed_state_store(keyed_state_store&& other) noexcept = default;

  /// Destroys this store's states, then takes over `other`'s.
  keyed_state_store& operator=(keyed_state_store&& other) noexcept {
    if (this != &other) {
      pending_.clear();
      states_.clear(); // before the database and the context they refer to
      db_.reset();
      range_ = other.range_;
      key_groups_ = other.key_groups_;
      kg_mask_ = other.kg_mask_;
      ctx_ = std::move(other.ctx_);
      db_ = std::move(other.db_);
      states_ = std::move(other.states_);
      pending_ = std::move(other.pending_);
    }
    return *this;
  }

  keyed_state_store(const keyed_state_store&) = delete;
  keyed_state_store& operator=(const keyed_state_store&) = delete;

  /// Destroys every state; a RocksDB store also removes its folder.
  ~keyed_state_store() = default;

  // -- current key and time (hot path) ---------------------------------------------------------

  /// Makes `key` current, in the key group the partitioner sends it to. False (and no key
  /// current: reads find nothing, writes do nothing) when that group is not this store's.
  bool set_current_key(const K& key) {
    static_assert(has_std_hash<K>::value,
                  "set_current_key(key): the key has no std::hash, so its key group is unknown; "
                  "call set_current_key(key, key_group) with the key group of its user key");
    auto h = hash_key(key);
    // key_group_of without a division when key_groups is a power of two (the default 128).
    auto kg = kg_mask_ != 0 ? static_cast<uint32_t>(h & kg_mask_) : key_group_of(h, key_groups_);
    return set(key, key_hash<K>{}(key), kg);
  }

  /// Makes `key` current in key group `kg`: for composite keys such as (user key, window),
  /// whose key group is that of the user key. False (and no key current) when `kg` is not one
  /// of this store's.
  bool set_current_key(const K& key, uint32_t kg) { return set(key, key_hash<K>{}(key), kg); }

  /// Makes `key` current when the caller has its `key_hash<K>` already (and so its key group):
  /// the per-record path of keyed operators, which hash each key once.
  bool set_current_key(const K& key, uint64_t hash, uint32_t kg) { return set(key, hash, kg); }

  /// The current key, or nullptr.
  [[nodiscard]] const K* current_key() const noexcept {
    return ctx_->index == internal::no_key ? nullptr : &*ctx_->key;
  }

  /// The current key's key group (meaningful while a key is current).
  [[nodiscard]] uint32_t current_key_group() const noexcept { return ctx_->kg; }

  /// Sets the store time (ms) that TTLs are measured on: event time, or processing time read
  /// through the runtime. Default: 0.
  void set_time(int64_t now_ms) noexcept {
    ctx_->now = now_ms;
    if (db_)
      db_->set_clock(now_ms); // for the TTL compaction filters
  }

  /// The store time (ms).
  [[nodiscard]] int64_t time() const noexcept { return ctx_->now; }

  // -- declaring state --------------------------------------------------------------------------

  /// Declares (or finds again) the value state `name` holding one V per key. Declaring a name
  /// again with the same kind, types and TTL returns the same state; otherwise type_mismatch.
  template <class V>
  [[nodiscard]] caf::expected<value_state<V>> declare_value(const std::string& name,
                                                            state_ttl ttl = {}) {
    check_value_type<V>();
    auto made = declare<internal::value_ops<V>>(
        name, state_kind::value, ttl, internal::fingerprint_of<K, V>(state_kind::value),
        [&](internal::state_info info) {
          return make_table<internal::state_class<internal::value_state_impl, K, V>,
                            internal::memory_single<K, V>, internal::rocksdb_single<K, V>>(
              std::move(info));
        });
    if (!made)
      return made.error();
    return value_state<V>{made->first, made->second};
  }

  /// Declares (or finds again) the list state `name` holding a list of V per key.
  template <class V>
  [[nodiscard]] caf::expected<list_state<V>> declare_list(const std::string& name,
                                                          state_ttl ttl = {}) {
    check_value_type<V>();
    auto made = declare<internal::list_ops<V>>(
        name, state_kind::list, ttl, internal::fingerprint_of<K, V>(state_kind::list),
        [&](internal::state_info info) {
          return make_table<internal::state_class<internal::list_state_impl, K, V>,
                            internal::memory_list<K, V>, internal::rocksdb_list<K, V>>(
              std::move(info));
        });
    if (!made)
      return made.error();
    return list_state<V>{made->first, made->second};
  }

  /// Declares (or finds again) the map state `name` holding a map UK -> UV per key.
  template <class UK, class UV>
  [[nodiscard]] caf::expected<map_state<UK, UV>> declare_map(const std::string& name,
                                                             state_ttl ttl = {}) {
    check_value_type<UK>();
    check_value_type<UV>();
    auto made = declare<internal::map_ops<UK, UV>>(
        name, state_kind::map, ttl, internal::fingerprint_of<K, UK, UV>(state_kind::map),
        [&](internal::state_info info) {
          return make_table<internal::state_class<internal::map_state_impl, K, UK, UV>,
                            internal::memory_map<K, UK, UV>, internal::rocksdb_map<K, UK, UV>>(
              std::move(info));
        });
    if (!made)
      return made.error();
    return map_state<UK, UV>{made->first, made->second};
  }

  /// Declares (or finds again) the reducing state `name`: one V per key, folded with
  /// `reduce(const V& acc, const V& x) -> V`. A redeclaration keeps the first function.
  template <class V, class Reduce>
  [[nodiscard]] caf::expected<reducing_state<V>>
  declare_reducing(const std::string& name, Reduce reduce, state_ttl ttl = {}) {
    static_assert(std::is_invocable_r_v<V, Reduce&, const V&, const V&>,
                  "declare_reducing: the reduce function must take (const V&, const V&) and "
                  "return V");
    check_value_type<V>();
    auto made = declare<internal::reducing_ops<V>>(
        name, state_kind::reducing, ttl, internal::fingerprint_of<K, V>(state_kind::reducing),
        [&](internal::state_info info) {
          return make_table<internal::state_class<internal::reducing_state_impl, K, V, Reduce>,
                            internal::memory_single<K, V>, internal::rocksdb_single<K, V>>(
              std::move(info), std::move(reduce));
        });
    if (!made)
      return made.error();
    return reducing_state<V>{made->first, made->second};
  }

  /// Declares (or finds again) the aggregating state `name`: one accumulator per key, made by
  /// `agg.create_accumulator()`, fed by `agg.add(const In&, Acc&)`, read by
  /// `agg.get_result(const Acc&)`, optionally merged by `agg.merge(Acc&, const Acc&)`.
  template <class In, class Agg>
  [[nodiscard]] auto declare_aggregating(const std::string& name, Agg agg, state_ttl ttl = {}) {
    static_assert(internal::is_aggregate_function<Agg, In>::value,
                  "declare_aggregating: the aggregate function needs Acc create_accumulator(), "
                  "add(const In&, Acc&) and Out get_result(const Acc&)");
    using acc_type = typename internal::is_aggregate_function<Agg, In>::acc_type;
    using out_type = typename internal::is_aggregate_function<Agg, In>::out_type;
    using handle = aggregating_state<In, acc_type, out_type>;
    check_value_type<acc_type>();
    auto made = declare<internal::aggregating_ops<In, acc_type, out_type>>(
        name, state_kind::aggregating, ttl,
        internal::fingerprint_of<K, acc_type>(state_kind::aggregating),
        [&](internal::state_info info) {
          return make_table<internal::state_class<internal::aggregating_state_impl, K, In, acc_type,
                                                  out_type, Agg>,
                            internal::memory_single<K, acc_type>,
                            internal::rocksdb_single<K, acc_type>>(std::move(info), std::move(agg));
        });
    if (!made)
      return caf::expected<handle>{made.error()};
    return caf::expected<handle>{handle{made->first, made->second}};
  }

  // -- keys -------------------------------------------------------------------------------------

  /// Calls `f(const K&)` for every key of key group `kg` with unexpired entries in `state` (in no
  /// set order). No state of the store may be modified from `f`: collect keys() for that.
  template <class State, class F>
  void for_each_key(const State& state, uint32_t kg, F&& f) const {
    static_assert(std::is_invocable_v<F&, const K&>, "for_each_key: f must take const K&");
    if (auto* t = table_of(state); t != nullptr && range_.contains(kg))
      t->for_each_key(kg, function_ref<void(const K&)>{f});
  }

  /// Calls `f(const K&)` for every key of every key group of the store with entries in `state`.
  template <class State, class F>
  void for_each_key(const State& state, F&& f) const {
    for (auto kg = range_.first; kg < range_.end; ++kg)
      for_each_key(state, kg, f);
  }

  /// The keys of key group `kg` with unexpired entries in `state`.
  template <class State>
  [[nodiscard]] std::vector<K> keys(const State& state, uint32_t kg) const {
    std::vector<K> out;
    for_each_key(state, kg, [&](const K& k) { out.push_back(k); });
    return out;
  }

  // -- key groups -------------------------------------------------------------------------------

  /// The entries of key group `kg` in every state, in the canonical format (state/README.md),
  /// expired entries left out. States declared since a restore but not yet declared here are
  /// carried along unchanged.
  [[nodiscard]] caf::expected<std::vector<char>> write_key_group(uint32_t kg) const {
    if (!range_.contains(kg))
      return out_of_range("write_key_group", kg);
    std::vector<char> buf;
    internal::key_group_writer w{buf, kg};
    for (const auto& s : states_) {
      auto& out = w.begin_section(s->name(), s->kind(), s->fingerprint());
      w.end_section(s->write_entries(kg, out));
    }
    for (const auto& [name, by_kg] : pending_)
      if (auto i = by_kg.find(kg); i != by_kg.end())
        w.copy_section(i->second);
    w.finish();
    if (auto err = backend_error())
      return err;
    return buf;
  }

  /// Replaces the contents of key group `kg` in every state with `bytes` (made by
  /// write_key_group, on either backend). Bytes of states not declared yet are kept until they
  /// are. Damaged bytes (CRC-32C, lengths, key group) are refused with corrupt_key_group, a
  /// state of other types with type_mismatch; then nothing changes.
  caf::error read_key_group(uint32_t kg, const std::vector<char>& bytes) {
    return read_key_group(kg, bytes.data(), bytes.size());
  }

  /// Replaces the contents of key group `kg` with the `size` bytes at `data`.
  caf::error read_key_group(uint32_t kg, const char* data, size_t size) {
    if (!range_.contains(kg))
      return out_of_range("read_key_group", kg);
    auto sections = internal::parse_key_group(data, size, kg);
    if (!sections)
      return sections.error();
    std::vector<std::pair<internal::state_table<K>*, const internal::section*>> matched;
    std::vector<const internal::section*> unknown;
    for (const auto& sec : *sections) {
      auto* t = find(sec.name);
      if (t == nullptr) {
        unknown.push_back(&sec);
        continue;
      }
      if (auto err = check_section(*t, sec))
        return err;
      matched.emplace_back(t, &sec);
    }
    for (auto& [t, sec] : matched) {
      if (auto err = t->stage(kg, internal::byte_view(sec->payload), sec->count)) {
        for (auto& m : matched)
          m.first->drop_staged();
        return err;
      }
    }
    for (auto& s : states_)
      s->commit(kg);
    for (auto i = pending_.begin(); i != pending_.end();) {
      i->second.erase(kg);
      i = i->second.empty() ? pending_.erase(i) : std::next(i);
    }
    for (auto* sec : unknown)
      pending_[sec->name].emplace(kg, internal::owned_copy(*sec));
    return backend_error();
  }

  // -- maintenance ------------------------------------------------------------------------------

  /// Removes every expired entry of every state now (the incremental sweep does it a few entries
  /// per access anyway); returns how many entries (list elements, map entries) went.
  uint64_t cleanup() {
    uint64_t n = 0;
    for (auto& s : states_)
      n += s->cleanup();
    return n;
  }

  /// Entries of all states (see handle_base::approximate_entries).
  [[nodiscard]] uint64_t approximate_entries() const {
    uint64_t n = 0;
    for (const auto& s : states_)
      n += s->approximate_entries();
    return n;
  }

  /// The exact number of entries `state` stores, expired ones not yet removed included: a scan
  /// in RocksDB, for tests and diagnostics (approximate_entries() is the cheap figure).
  template <class State>
  [[nodiscard]] uint64_t count_stored_entries(const State& state) const {
    auto* t = table_of(state);
    return t == nullptr ? 0 : t->stored_entries();
  }

  /// The first RocksDB failure (a write that failed, a read refused by the full cache), or none.
  /// Check it after each batch: state calls on the hot path do not return errors.
  [[nodiscard]] caf::error backend_error() const { return db_ ? db_->failure() : caf::error{}; }

  /// RocksDB's native memory (all 0 for the memory backend).
  [[nodiscard]] native_memory backend_memory() const {
    return db_ ? db_->memory() : native_memory{};
  }

  // -- properties -------------------------------------------------------------------------------

  /// The backend.
  [[nodiscard]] backend_kind kind() const noexcept {
    return db_ ? backend_kind::rocksdb : backend_kind::memory;
  }

  /// The key groups this store owns.
  [[nodiscard]] key_group_range range() const noexcept { return range_; }

  /// The number of key groups of the job (the store owns range() of them).
  [[nodiscard]] uint32_t key_groups() const noexcept { return key_groups_; }

  /// The number of declared states.
  [[nodiscard]] size_t state_count() const noexcept { return states_.size(); }

  /// The RocksDB folder of this store (empty for the memory backend).
  [[nodiscard]] std::string rocksdb_path() const { return db_ ? db_->path() : std::string{}; }

private:
  template <class T>
  friend caf::expected<keyed_state_store<T>> make_keyed_state_store(const backend_config&,
                                                                    key_group_range, uint32_t);

  using table_ptr = std::unique_ptr<internal::state_table<K>>;

  keyed_state_store(key_group_range range, uint32_t key_groups,
                    std::unique_ptr<internal::rocksdb_db> db)
      : range_(range)
      , key_groups_(key_groups)
      , kg_mask_((key_groups & (key_groups - 1)) == 0 ? key_groups - 1 : 0)
      , ctx_(std::make_unique<internal::key_context<K>>())
      , db_(std::move(db)) {}

  bool set(const K& key, uint64_t hash, uint32_t kg) {
    auto& c = *ctx_;
    c.key = key;
    c.hash = hash;
    c.kg = kg;
    c.encoded_valid = false;
    ++c.generation;
    bool mine = range_.contains(kg);
    c.index = mine ? kg - range_.first : internal::no_key;
    return mine;
  }

  template <class V>
  static void check_value_type() {
    static_assert(std::is_default_constructible_v<V> && std::is_nothrow_move_constructible_v<V>,
                  "keyed state: values must be default-constructible and nothrow "
                  "move-constructible");
  }

  /// Makes the table of a new state: `Class::with<Memory>` over the memory backend, or
  /// `Class::with<Rocks>` over a new column family; `args` come before the storage's arguments.
  template <class Class, class Memory, class Rocks, class... Args>
  caf::expected<table_ptr> make_table(internal::state_info info, Args&&... args) {
    auto ttl = info.ttl;
    if (!db_)
      return table_ptr{new typename Class::template with<Memory>(
          std::move(info), std::forward<Args>(args)..., *ctx_, range_, ttl)};
    auto cf = db_->add_column(info.name, Rocks::column(ttl));
    if (!cf)
      return cf.error();
    return table_ptr{new typename Class::template with<Rocks>(
        std::move(info), std::forward<Args>(args)..., *ctx_, range_, ttl, *db_, *cf)};
  }

  /// Declares a state of operations Ops, made by `make(info)` when it is new.
  template <class Ops, class Make>
  caf::expected<std::pair<Ops*, internal::state_base*>> declare(const std::string& name,
                                                                state_kind kind, state_ttl ttl,
                                                                uint64_t fingerprint, Make&& make) {
    if (ttl.enabled && ttl.ttl_ms <= 0)
      return make_error(errc::invalid_argument, "declare_" + std::string{to_string(kind)} + "(\"" +
                                                    name + "\"): a TTL must be positive (got " +
                                                    std::to_string(ttl.ttl_ms) +
                                                    " ms); use state_ttl{} for no TTL");
    if (auto* t = find(name)) {
      auto* ops = dynamic_cast<Ops*>(t);
      if (ops == nullptr || t->kind() != kind)
        return make_error(errc::type_mismatch,
                          "declare_" + std::string{to_string(kind)} + "(\"" + name +
                              "\"): the name is already declared as " + to_string(t->kind()) +
                              " state with other types; use another name, or the same kind "
                              "and types");
      if (!(t->ttl() == ttl))
        return make_error(errc::type_mismatch,
                          "declare_" + std::string{to_string(kind)} + "(\"" + name +
                              "\"): the state is already declared with another TTL");
      return std::pair<Ops*, internal::state_base*>{ops, t};
    }
    auto made = make(
        internal::state_info{name, kind, static_cast<uint32_t>(states_.size()), ttl, fingerprint});
    if (!made)
      return made.error();
    auto* t = made->get();
    states_.push_back(std::move(*made));
    if (auto err = apply_pending(*t)) {
      states_.pop_back();
      return err;
    }
    return std::pair<Ops*, internal::state_base*>{dynamic_cast<Ops*>(t), t};
  }

  /// Restores the key groups read before `t` was declared.
  caf::error apply_pending(internal::state_table<K>& t) {
    auto i = pending_.find(t.name());
    if (i == pending_.end())
      return {};
    for (const auto& [kg, sec] : i->second)
      if (auto err = check_section(t, sec))
        return err;
    for (const auto& [kg, sec] : i->second) {
      if (auto err = t.stage(kg, internal::byte_view(sec.payload), sec.count)) {
        t.drop_staged();
        return err;
      }
      t.commit(kg);
    }
    pending_.erase(i);
    return backend_error();
  }

  static caf::error check_section(const internal::state_table<K>& t, const internal::section& sec) {
    if (sec.kind == t.kind() && sec.fingerprint == t.fingerprint())
      return {};
    return make_error(
        errc::type_mismatch,
        "read_key_group: state '" + t.name() + "' was written as " + to_string(sec.kind) +
            " state" + (sec.kind == t.kind() ? " of other types" : "") + ", but is declared as " +
            to_string(t.kind()) + " state; declare it as it was written");
  }

  internal::state_table<K>* find(const std::string& name) const {
    for (const auto& s : states_)
      if (s->name() == name)
        return s.get();
    return nullptr;
  }

  template <class State>
  internal::state_table<K>* table_of(const State& state) const {
    auto id = state.valid() ? state.id() : internal::no_key;
    if (id >= states_.size() || states_[id].get() != state.base())
      return nullptr;
    return states_[id].get();
  }

  caf::error out_of_range(const char* what, uint32_t kg) const {
    return make_error(errc::invalid_argument, std::string{what} + "(" + std::to_string(kg) +
                                                  "): the store owns key groups " +
                                                  std::to_string(range_.first) + " to " +
                                                  std::to_string(range_.end) + " (exclusive)");
  }

  /// The key groups this store owns.
  key_group_range range_;
  /// The number of key groups of the job.
  uint32_t key_groups_;
  /// key_groups_ - 1 when it is a power of two above 1, else 0 (then key groups need a division).
  uint64_t kg_mask_;
  /// The current key and time, shared with every state.
  std::unique_ptr<internal::key_context<K>> ctx_;
  /// The RocksDB database, or null for the memory backend (outlives the states).
  std::unique_ptr<internal::rocksdb_db> db_;
  /// The declared states, by id.
  std::vector<table_ptr> states_;
  /// Sections of states read before their declaration, by name and key group.
  std::map<std::string, std::map<uint32_t, internal::section>> pending_;
};

template <class K>
caf::expected<keyed_state_store<K>>
make_keyed_state_store(const backend_config& cfg, key_group_range range, uint32_t key_groups) {
  if (key_groups == 0 || key_groups > max_key_groups)
    return make_error(errc::invalid_argument, "make_keyed_state_store: key_groups is " +
                                                  std::to_string(key_groups) + "; use 1 to " +
                                                  std::to_string(max_key_groups) +
                                                  " (the partitioner's default is 128)");
  if (range.first > range.end || range.end > key_groups)
    return make_error(errc::invalid_argument,
                      "make_keyed_state_store: key groups " + std::to_string(range.first) + " to " +
                          std::to_string(range.end) + " are not within 0 to " +
                          std::to_string(key_groups) +
                          "; use key_group_range::of(instance, "
                          "parallelism, key_groups)");
  if (auto err = cfg.validate())
    return err;
  std::unique_ptr<internal::rocksdb_db> db;
  if (cfg.kind == backend_kind::rocksdb) {
    auto opened = internal::rocksdb_db::open(cfg);
    if (!opened)
      return opened.error();
    db = std::move(*opened);
  }
  return keyed_state_store<K>{range, key_groups, std::move(db)};
}

} // namespace eddy::state
