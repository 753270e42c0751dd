// key_hash: the 64-bit hash keyed state uses to find a key in its hash tables.
//
// For a key with a std::hash it is `eddy::hash_key` (actors/partitioning.hpp), the same hash the
// partitioner turns into a key group, so `set_current_key(key)` hashes once. Pairs and tuples
// (composite keys such as (user key, window)) combine the hashes of their parts. Specialize
// `eddy::state::key_hash<T>` for other key types, or give them a std::hash.
//
//   uint64_t h = eddy::state::key_hash<std::pair<uint64_t, int64_t>>{}({user, window_end});
#pragma once

#include <eddy/actors/partitioning.hpp>

#include <cstdint>
#include <functional>
#include <tuple>
#include <type_traits>
#include <utility>

namespace eddy::state {

/// True when `std::hash<T>` is enabled for T.
template <class T, class = void>
struct has_std_hash : std::false_type {};

/// True when `std::hash<T>` is enabled for T.
template <class T>
struct has_std_hash<T, std::void_t<decltype(std::hash<T>{}(std::declval<const T&>()))>>
    : std::true_type {};

/// Combines two mixed hashes into one (order matters).
[[nodiscard]] constexpr uint64_t combine_hashes(uint64_t seed, uint64_t h) noexcept {
  return mix64(seed ^ (h + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2)));
}

/// The hash of a key in keyed state: `hash_key` for keys with a std::hash.
template <class T, class = void>
struct key_hash {
  static_assert(has_std_hash<T>::value,
                "key_hash: the key type has no std::hash; give it one, or specialize "
                "eddy::state::key_hash<T> with a uint64_t operator()(const T&) const");

  /// The mixed std::hash of `x`.
  [[nodiscard]] uint64_t operator()(const T& x) const { return hash_key(x); }
};

/// The hash of a pair: its two parts' hashes, combined.
template <class A, class B>
struct key_hash<std::pair<A, B>, std::enable_if_t<!has_std_hash<std::pair<A, B>>::value>> {
  /// The combined hash of `x.first` and `x.second`.
  [[nodiscard]] uint64_t operator()(const std::pair<A, B>& x) const {
    return combine_hashes(key_hash<A>{}(x.first), key_hash<B>{}(x.second));
  }
};

/// The hash of a tuple: its parts' hashes, combined in order.
template <class... Ts>
struct key_hash<std::tuple<Ts...>, std::enable_if_t<!has_std_hash<std::tuple<Ts...>>::value>> {
  /// The combined hash of every element of `x`.
  [[nodiscard]] uint64_t operator()(const std::tuple<Ts...>& x) const {
    uint64_t h = 0x2545f4914f6cdd1dULL;
    std::apply(
        [&](const auto&... part) {
          ((h = combine_hashes(h, key_hash<std::decay_t<decltype(part)>>{}(part))), ...);
        },
        x);
    return h;
  }
};

} // namespace eddy::state
