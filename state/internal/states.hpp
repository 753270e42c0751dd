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

/// Decodes a single state's canonical entry: codec K | ts i64 | codec V.
template <class K, class V>
[[nodiscard]] bool read_entry(byte_reader& in, std::tuple<K, int64_t, V>& e) {
  auto& [k, ts, x] = e;
  return codec<K>::read(in, k) && in.read_raw(ts) && codec<V>::read(in, x);
}

/// Decodes a list element: ts i64 | codec V.
template <class V>
[[nodiscard]] bool read_element(byte_reader& in, timed<V>& e) {
  return in.read_raw(e.ts) && codec<V>::read(in, e.value);
}

/// Decodes a map element: ts i64 | codec UK | codec UV.
template <class UK, class UV>
[[nodiscard]] bool read_element(byte_reader& in, std::tuple<int64_t, UK, UV>& e) {
  auto& [ts, uk, uv] = e;
  return in.read_raw(ts) && codec<UK>::read(in, uk) && codec<UV>::read(in, uv);
}

/// Decodes a grouped canonical entry: codec K | n u64 | n elements.
template <class K, class Element>
[[nodiscard]] bool read_entry(byte_reader& in, std::pair<K, std::vector<Element>>& e) {
  auto& [k, xs] = e;
  uint64_t n = 0;
  if (!codec<K>::read(in, k) || !in.read_raw(n) || n > in.remaining() / 8)
    return false;
  xs.reserve(static_cast<size_t>(n)); // n is bounded: every element starts with an 8-byte time
  for (uint64_t j = 0; j < n; ++j) {
    Element x{};
    if (!read_element(in, x))
      return false;
    xs.push_back(std::move(x));
  }
  return true;
}

/// The key-group side common to every state: a storage, and the entries of a key group staged
/// (decoded by read_entry) until commit hands them to the storage's restore.
template <class K, class Storage, class Entry>
class stored_state : public state_table<K> {
public:
  template <class... Args>
  explicit stored_state(state_info info, Args&&... storage_args)
      : state_table<K>(std::move(info))
      , storage_(std::forward<Args>(storage_args)...) {}

  uint64_t approximate_entries() const override { return storage_.entries(); }

  caf::error stage(uint32_t kg, byte_reader in, uint64_t count) override {
    staged_.reset();
    for (uint64_t i = 0; i < count; ++i) {
      Entry e{};
      try {
        if (!read_entry(in, e)) {
          staged_.reset();
          return bad_entries(this->name(), kg, i);
        }
      } catch (const newer_version_error& x) {
        staged_.reset();
        return make_error(errc::type_mismatch,
                          "read_key_group(" + std::to_string(kg) + "): state '" + this->name() +
                              "' holds " + x.what() +
                              ": restore it with the program that wrote it, or a newer one");
      }
      staged_.entries.push_back(std::move(e));
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
      for (auto& e : staged_.entries)
        std::apply([&](auto&... parts) { storage_.restore(kg, std::move(parts)...); }, e);
    storage_.end_restore();
    staged_.reset();
  }

  void drop_staged() override { staged_.reset(); }

  uint64_t cleanup() override { return storage_.cleanup(); }

  uint64_t stored_entries() override { return storage_.stored(); }

protected:
  /// Gives the TTL sweep its turn, as every operation does first; returns the storage.
  Storage& tick() {
    storage_.tick();
    return storage_;
  }

  Storage storage_;
  staging<Entry> staged_;
};

/// A state class with everything but its storage chosen: `with<Storage>` is
/// Impl<Args..., Storage> (the store picks the storage of its backend).
template <template <class...> class Impl, class... Args>
struct state_class {
  template <class Storage>
  using with = Impl<Args..., Storage>;
};

// -- one value per key: value, reducing and aggregating state -----------------------------------

/// The key-group side of a state holding one value of type V per key.
template <class K, class V, class Storage>
class single_state : public stored_state<K, Storage, std::tuple<K, int64_t, V>> {
public:
  using stored_state<K, Storage, std::tuple<K, int64_t, V>>::stored_state;

  void for_each_key(uint32_t kg, function_ref<void(const K&)> f) override {
    this->storage_.visit(kg, [&](const K& k, int64_t, const V&) { f(k); });
  }

  uint64_t write_entries(uint32_t kg, byte_writer& out) override {
    uint64_t n = 0;
    this->storage_.visit(kg, [&](const K& k, int64_t ts, const V& x) {
      codec<K>::write(out, k);
      out.write_raw(ts);
      codec<V>::write(out, x);
      ++n;
    });
    return n;
  }
};

/// value_state<V>: one value per key.
template <class K, class V, class Storage>
class value_state_impl final : public single_state<K, V, Storage>, public value_ops<V> {
public:
  using single_state<K, V, Storage>::single_state;

  const V* get() override { return this->tick().find(); }

  void put(V&& x) override { this->tick().put(std::move(x)); }

  void erase() override { this->tick().erase(); }
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
    this->tick().upsert([&]() -> V { return std::move(x); },
                        [&](V& acc, bool fresh) {
                          if (!fresh)
                            acc = f_(std::as_const(acc), std::as_const(x));
                        });
  }

  const V* get() override { return this->tick().find(); }

  void erase() override { this->tick().erase(); }

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
    this->tick().upsert([&] { return agg_.create_accumulator(); },
                        [&](Acc& acc, bool) { agg_.add(x, acc); });
  }

  std::optional<Out> get() override {
    if (auto* acc = this->tick().find())
      return agg_.get_result(std::as_const(*acc));
    return std::nullopt;
  }

  const Acc* accumulator() override { return this->tick().find(); }

  bool merge(const Acc& other) override {
    if constexpr (has_merge<Agg, Acc>::value) {
      this->tick().upsert([&] { return agg_.create_accumulator(); },
                          [&](Acc& acc, bool) { agg_.merge(acc, other); });
      return true;
    } else {
      return false;
    }
  }

  void put_accumulator(Acc&& acc) override { this->tick().put(std::move(acc)); }

  void erase() override { this->tick().erase(); }

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

/// The key-group side of a state holding a group of timed elements per key (list and map
/// state); Element is how stage() decodes one (see read_element).
template <class K, class Element, class Storage>
class group_state : public stored_state<K, Storage, std::pair<K, std::vector<Element>>> {
public:
  using stored_state<K, Storage, std::pair<K, std::vector<Element>>>::stored_state;

  void for_each_key(uint32_t kg, function_ref<void(const K&)> f) override {
    this->storage_.visit(
        kg, [&](const K& k) { f(k); }, [](int64_t, const auto&...) {});
  }

  uint64_t write_entries(uint32_t kg, byte_writer& out) override {
    group_writer g{out};
    this->storage_.visit(
        kg, [&](const K& k) { g.begin(k); },
        [&](int64_t ts, const auto&... parts) {
          auto& w = g.element();
          w.write_raw(ts);
          (codec<std::decay_t<decltype(parts)>>::write(w, parts), ...);
        });
    return g.end();
  }
};

/// list_state<V>: a list of timed elements per key.
template <class K, class V, class Storage>
class list_state_impl final : public group_state<K, timed<V>, Storage>, public list_ops<V> {
public:
  using group_state<K, timed<V>, Storage>::group_state;

  void add(V&& x) override { this->tick().add(std::move(x)); }

  bool get(std::vector<V>& out) override { return this->tick().get(out); }

  void put(std::vector<V>&& xs) override { this->tick().put(std::move(xs)); }

  void erase() override { this->tick().erase(); }
};

/// map_state<UK, UV>: timed user entries per key.
template <class K, class UK, class UV, class Storage>
class map_state_impl final : public group_state<K, std::tuple<int64_t, UK, UV>, Storage>,
                             public map_ops<UK, UV> {
public:
  using group_state<K, std::tuple<int64_t, UK, UV>, Storage>::group_state;

  const UV* get(const UK& uk) override { return this->tick().get(uk); }

  void put(const UK& uk, UV&& uv) override { this->tick().put(uk, std::move(uv)); }

  bool remove(const UK& uk) override { return this->tick().remove(uk); }

  bool contains(const UK& uk) override { return this->tick().get(uk) != nullptr; }

  void for_each(function_ref<void(const UK&, const UV&)> f) override { this->tick().for_each(f); }

  bool is_empty() override { return this->tick().is_empty(); }

  void erase() override { this->tick().erase(); }
};

} // namespace eddy::state::internal
