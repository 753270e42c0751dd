// The state classes: each kind of state written once over a storage (memory_storage.hpp or
// rocksdb_storage.hpp). A state class is both the store's state_table<K> (keys, key groups,
// sweeps, in the canonical format of format.hpp) and its handle's operations (value_ops<V>, ...).
// Every operation first gives the TTL sweep its turn, then does its work, so that a pointer it
// returns stays valid until the next operation on the same state.
//
// Canonical entries (format.hpp frames them):
//   value, reducing, aggregating   codec K | ts i64 | codec V (or Acc)
//   list                           codec K | n u64 | n x (ts i64 | codec V)
//   map                            codec K | n u64 | n x (ts i64 | codec UK | codec UV)
#pragma once

#include <eddy/state/errc.hpp>
#include <eddy/state/internal/state_table.hpp>

#include <cstring>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace eddy::state::internal {

/// The error of a section whose entries do not decode.
[[nodiscard]] inline caf::error bad_entries(const std::string& name, uint32_t kg, uint64_t i) {
  return make_error(errc::corrupt_key_group,
                    "read_key_group(" + std::to_string(kg) + "): entry " + std::to_string(i) +
                        " of state '" + name +
                        "' does not decode (damaged bytes, or written with other types)");
}

/// Staged entries of one key group, decoded and waiting for commit.
template <class Entry>
struct staging {
  std::vector<Entry> entries;
  uint32_t kg = 0;
  bool valid = false;

  void reset() {
    entries.clear();
    entries.shrink_to_fit();
    valid = false;
  }
};

// -- one value per key: value, reducing and aggregating state -----------------------------------

/// The key-group side of a state holding one value of type V per key.
template <class K, class V, class Storage>
class single_state : public state_table<K> {
public:
  template <class... Args>
  explicit single_state(state_info info, Args&&... storage_args)
      : state_table<K>(std::move(info))
      , storage_(std::forward<Args>(storage_args)...) {}

  uint64_t approximate_entries() const override { return storage_.entries(); }

  void for_each_key(uint32_t kg, function_ref<void(const K&)> f) override {
    storage_.visit(kg, [&](const K& k, int64_t, const V&) { f(k); });
  }

  uint64_t write_entries(uint32_t kg, byte_writer& out) override {
    uint64_t n = 0;
    storage_.visit(kg, [&](const K& k, int64_t ts, const V& x) {
      codec<K>::write(out, k);
      out.write_raw(ts);
      codec<V>::write(out, x);
      ++n;
    });
    return n;
  }

  caf::error stage(uint32_t kg, byte_reader in, uint64_t count) override {
    staged_.reset();
    for (uint64_t i = 0; i < count; ++i) {
      K k{};
      int64_t ts = 0;
      V x{};
      if (!codec<K>::read(in, k) || !in.read_raw(ts) || !codec<V>::read(in, x)) {
        staged_.reset();
        return bad_entries(this->name(), kg, i);
      }
      staged_.entries.emplace_back(std::move(k), ts, std::move(x));
    }
    if (!in.at_end()) {
      staged_.reset();
      return bad_entries(this->name(), kg, count);
    }
    staged_.kg = kg;
    staged_.valid = true;
    return {};
  }

  void commit(uint32_t kg) override {
    storage_.begin_restore(kg);
    if (staged_.valid && staged_.kg == kg)
      for (auto& [k, ts, x] : staged_.entries)
        storage_.restore(kg, std::move(k), ts, std::move(x));
    storage_.end_restore();
    staged_.reset();
  }

  void drop_staged() override { staged_.reset(); }

  uint64_t cleanup() override { return storage_.cleanup(); }

  uint64_t stored_entries() override { return storage_.stored(); }

protected:
  Storage storage_;
  staging<std::tuple<K, int64_t, V>> staged_;
};

/// value_state<V>: one value per key.
template <class K, class V, class Storage>
class value_state_impl final : public single_state<K, V, Storage>, public value_ops<V> {
public:
  using single_state<K, V, Storage>::single_state;

  const V* get() override {
    this->storage_.tick();
    return this->storage_.find();
  }

  void put(V&& x) override {
    this->storage_.tick();
    this->storage_.put(std::move(x));
  }

  void erase() override {
    this->storage_.tick();
    this->storage_.erase();
  }
};

/// reducing_state<V>: one value per key, folded with F on every add.
template <class K, class V, class F, class Storage>
class reducing_state_impl final : public single_state<K, V, Storage>, public reducing_ops<V> {
public:
  template <class... Args>
  reducing_state_impl(state_info info, F f, Args&&... storage_args)
      : single_state<K, V, Storage>(std::move(info), std::forward<Args>(storage_args)...)
      , f_(std::move(f)) {}

  void add(V&& x) override {
    this->storage_.tick();
    this->storage_.upsert([&]() -> V { return std::move(x); },
                          [&](V& acc, bool fresh) {
                            if (!fresh)
                              acc = f_(std::as_const(acc), std::as_const(x));
                          });
  }

  const V* get() override {
    this->storage_.tick();
    return this->storage_.find();
  }

  void erase() override {
    this->storage_.tick();
    this->storage_.erase();
  }

private:
  F f_;
};

/// True when Agg has merge(Acc&, const Acc&).
template <class Agg, class Acc, class = void>
struct has_merge : std::false_type {};

template <class Agg, class Acc>
struct has_merge<Agg, Acc,
                 std::void_t<decltype(std::declval<Agg&>().merge(
                     std::declval<Acc&>(), std::declval<const Acc&>()))>> : std::true_type {};

/// True when Agg is an aggregate function for inputs In; names its accumulator and result.
template <class Agg, class In, class = void>
struct is_aggregate_function : std::false_type {
  using acc_type = int;
  using out_type = int;
};

template <class Agg, class In>
struct is_aggregate_function<
    Agg, In,
    std::void_t<
        decltype(std::declval<Agg&>().create_accumulator()),
        decltype(std::declval<Agg&>().add(
            std::declval<const In&>(),
            std::declval<std::decay_t<decltype(std::declval<Agg&>().create_accumulator())>&>())),
        decltype(std::declval<Agg&>().get_result(
            std::declval<
                const std::decay_t<decltype(std::declval<Agg&>().create_accumulator())>&>()))>>
    : std::true_type {
  using acc_type = std::decay_t<decltype(std::declval<Agg&>().create_accumulator())>;
  using out_type =
      std::decay_t<decltype(std::declval<Agg&>().get_result(std::declval<const acc_type&>()))>;
};

/// aggregating_state<In, Acc, Out>: one accumulator per key, fed with Agg.
template <class K, class In, class Acc, class Out, class Agg, class Storage>
class aggregating_state_impl final : public single_state<K, Acc, Storage>,
                                     public aggregating_ops<In, Acc, Out> {
public:
  template <class... Args>
  aggregating_state_impl(state_info info, Agg agg, Args&&... storage_args)
      : single_state<K, Acc, Storage>(std::move(info), std::forward<Args>(storage_args)...)
      , agg_(std::move(agg)) {}

  void add(const In& x) override {
    this->storage_.tick();
    this->storage_.upsert([&] { return agg_.create_accumulator(); },
                          [&](Acc& acc, bool) { agg_.add(x, acc); });
  }

  std::optional<Out> get() override {
    this->storage_.tick();
    if (auto* acc = this->storage_.find())
      return agg_.get_result(std::as_const(*acc));
    return std::nullopt;
  }

  const Acc* accumulator() override {
    this->storage_.tick();
    return this->storage_.find();
  }

  bool merge(const Acc& other) override {
    if constexpr (has_merge<Agg, Acc>::value) {
      this->storage_.tick();
      this->storage_.upsert([&] { return agg_.create_accumulator(); },
                            [&](Acc& acc, bool) { agg_.merge(acc, other); });
      return true;
    } else {
      return false;
    }
  }

  void put_accumulator(Acc&& acc) override {
    this->storage_.tick();
    this->storage_.put(std::move(acc));
  }

  void erase() override {
    this->storage_.tick();
    this->storage_.erase();
  }

private:
  Agg agg_;
};

// -- groups of elements per key: list and map state ---------------------------------------------

/// Writes grouped entries: codec K, a u64 count patched when the group ends, the elements.
class group_writer {
public:
  explicit group_writer(byte_writer& out) noexcept
      : out_(out) {}

  template <class K>
  void begin(const K& k) {
    end();
    codec<K>::write(out_, k);
    count_at_ = out_.size();
    out_.write_raw(uint64_t{0});
    n_ = 0;
    open_ = true;
    ++groups_;
  }

  byte_writer& element() noexcept {
    ++n_;
    return out_;
  }

  /// Ends the last group; returns the number of groups.
  uint64_t end() {
    if (open_)
      std::memcpy(out_.buffer().data() + count_at_, &n_, sizeof(n_));
    open_ = false;
    return groups_;
  }

private:
  byte_writer& out_;
  size_t count_at_ = 0;
  uint64_t n_ = 0;
  uint64_t groups_ = 0;
  bool open_ = false;
};

/// list_state<V>: a list of timed elements per key.
template <class K, class V, class Storage>
class list_state_impl final : public state_table<K>, public list_ops<V> {
public:
  template <class... Args>
  explicit list_state_impl(state_info info, Args&&... storage_args)
      : state_table<K>(std::move(info))
      , storage_(std::forward<Args>(storage_args)...) {}

  // -- operations

  void add(V&& x) override {
    storage_.tick();
    storage_.add(std::move(x));
  }

  bool get(std::vector<V>& out) override {
    storage_.tick();
    return storage_.get(out);
  }

  void put(std::vector<V>&& xs) override {
    storage_.tick();
    storage_.put(std::move(xs));
  }

  void erase() override {
    storage_.tick();
    storage_.erase();
  }

  // -- key groups

  uint64_t approximate_entries() const override { return storage_.entries(); }

  void for_each_key(uint32_t kg, function_ref<void(const K&)> f) override {
    storage_.visit(
        kg, [&](const K& k) { f(k); }, [](int64_t, const V&) {});
  }

  uint64_t write_entries(uint32_t kg, byte_writer& out) override {
    group_writer g{out};
    storage_.visit(
        kg, [&](const K& k) { g.begin(k); },
        [&](int64_t ts, const V& x) {
          auto& w = g.element();
          w.write_raw(ts);
          codec<V>::write(w, x);
        });
    return g.end();
  }

  caf::error stage(uint32_t kg, byte_reader in, uint64_t count) override {
    staged_.reset();
    for (uint64_t i = 0; i < count; ++i) {
      K k{};
      uint64_t n = 0;
      if (!codec<K>::read(in, k) || !in.read_raw(n) || n > in.remaining() / 8) {
        staged_.reset();
        return bad_entries(this->name(), kg, i);
      }
      std::vector<timed<V>> xs; // n is bounded: every element starts with an 8-byte time
      xs.reserve(static_cast<size_t>(n));
      for (uint64_t j = 0; j < n; ++j) {
        timed<V> e{0, V{}};
        if (!in.read_raw(e.ts) || !codec<V>::read(in, e.value)) {
          staged_.reset();
          return bad_entries(this->name(), kg, i);
        }
        xs.push_back(std::move(e));
      }
      staged_.entries.emplace_back(std::move(k), std::move(xs));
    }
    if (!in.at_end()) {
      staged_.reset();
      return bad_entries(this->name(), kg, count);
    }
    staged_.kg = kg;
    staged_.valid = true;
    return {};
  }

  void commit(uint32_t kg) override {
    storage_.begin_restore(kg);
    if (staged_.valid && staged_.kg == kg)
      for (auto& [k, xs] : staged_.entries)
        storage_.restore(kg, std::move(k), std::move(xs));
    storage_.end_restore();
    staged_.reset();
  }

  void drop_staged() override { staged_.reset(); }

  uint64_t cleanup() override { return storage_.cleanup(); }

  uint64_t stored_entries() override { return storage_.stored(); }

private:
  Storage storage_;
  staging<std::pair<K, std::vector<timed<V>>>> staged_;
};

/// map_state<UK, UV>: timed user entries per key.
template <class K, class UK, class UV, class Storage>
class map_state_impl final : public state_table<K>, public map_ops<UK, UV> {
public:
  using elements = std::vector<std::tuple<int64_t, UK, UV>>;

  template <class... Args>
  explicit map_state_impl(state_info info, Args&&... storage_args)
      : state_table<K>(std::move(info))
      , storage_(std::forward<Args>(storage_args)...) {}

  // -- operations

  const UV* get(const UK& uk) override {
    storage_.tick();
    return storage_.get(uk);
  }

  void put(const UK& uk, UV&& uv) override {
    storage_.tick();
    storage_.put(uk, std::move(uv));
  }

  bool remove(const UK& uk) override {
    storage_.tick();
    return storage_.remove(uk);
  }

  bool contains(const UK& uk) override {
    storage_.tick();
    return storage_.get(uk) != nullptr;
  }

  void for_each(function_ref<void(const UK&, const UV&)> f) override {
    storage_.tick();
    storage_.for_each(f);
  }

  bool is_empty() override {
    storage_.tick();
    return storage_.is_empty();
  }

  void erase() override {
    storage_.tick();
    storage_.erase();
  }

  // -- key groups

  uint64_t approximate_entries() const override { return storage_.entries(); }

  void for_each_key(uint32_t kg, function_ref<void(const K&)> f) override {
    storage_.visit(
        kg, [&](const K& k) { f(k); }, [](int64_t, const UK&, const UV&) {});
  }

  uint64_t write_entries(uint32_t kg, byte_writer& out) override {
    group_writer g{out};
    storage_.visit(
        kg, [&](const K& k) { g.begin(k); },
        [&](int64_t ts, const UK& uk, const UV& uv) {
          auto& w = g.element();
          w.write_raw(ts);
          codec<UK>::write(w, uk);
          codec<UV>::write(w, uv);
        });
    return g.end();
  }

  caf::error stage(uint32_t kg, byte_reader in, uint64_t count) override {
    staged_.reset();
    for (uint64_t i = 0; i < count; ++i) {
      K k{};
      uint64_t n = 0;
      if (!codec<K>::read(in, k) || !in.read_raw(n) || n > in.remaining() / 8) {
        staged_.reset();
        return bad_entries(this->name(), kg, i);
      }
      elements xs;
      xs.reserve(static_cast<size_t>(n));
      for (uint64_t j = 0; j < n; ++j) {
        int64_t ts = 0;
        UK uk{};
        UV uv{};
        if (!in.read_raw(ts) || !codec<UK>::read(in, uk) || !codec<UV>::read(in, uv)) {
          staged_.reset();
          return bad_entries(this->name(), kg, i);
        }
        xs.emplace_back(ts, std::move(uk), std::move(uv));
      }
      staged_.entries.emplace_back(std::move(k), std::move(xs));
    }
    if (!in.at_end()) {
      staged_.reset();
      return bad_entries(this->name(), kg, count);
    }
    staged_.kg = kg;
    staged_.valid = true;
    return {};
  }

  void commit(uint32_t kg) override {
    storage_.begin_restore(kg);
    if (staged_.valid && staged_.kg == kg)
      for (auto& [k, xs] : staged_.entries)
        storage_.restore(kg, std::move(k), std::move(xs));
    storage_.end_restore();
    staged_.reset();
  }

  void drop_staged() override { staged_.reset(); }

  uint64_t cleanup() override { return storage_.cleanup(); }

  uint64_t stored_entries() override { return storage_.stored(); }

private:
  Storage storage_;
  staging<std::pair<K, elements>> staged_;
};

} // namespace eddy::state::internal
