// key_group_range: the contiguous key groups one operator instance owns, the exact inverse of
// `eddy::instance_of` (actors/partitioning.hpp). The unit of ownership, snapshot and rescaling.
//
//   auto range = eddy::state::key_group_range::of(instance, parallelism, 128);
//   for (uint32_t kg = range.first; kg < range.end; ++kg)
//     assert(eddy::instance_of(kg, 128, parallelism) == instance);
#pragma once

#include <cstdint>

namespace eddy::state {

/// The key groups [first, end) owned by one operator instance.
struct key_group_range {
  /// The first key group of the range.
  uint32_t first = 0;
  /// One past the last key group of the range.
  uint32_t end = 0;

  /// True when key group `kg` belongs to the range.
  [[nodiscard]] constexpr bool contains(uint32_t kg) const noexcept {
    return kg >= first && kg < end;
  }

  /// The number of key groups in the range.
  [[nodiscard]] constexpr uint32_t size() const noexcept { return end > first ? end - first : 0; }

  /// True when the range holds no key group (an instance of a parallelism above key_groups).
  [[nodiscard]] constexpr bool empty() const noexcept { return size() == 0; }

  /// The key groups of `instance` out of `parallelism` instances: every kg with
  /// `instance_of(kg, key_groups, parallelism) == instance`, i.e. ceil(i*kgs/p) to
  /// ceil((i+1)*kgs/p). Empty when `instance >= parallelism`.
  [[nodiscard]] static constexpr key_group_range of(uint32_t instance, uint32_t parallelism,
                                                    uint32_t key_groups) noexcept {
    if (parallelism == 0 || instance >= parallelism)
      return {0, 0};
    auto bound = [&](uint64_t i) {
      return static_cast<uint32_t>((i * key_groups + parallelism - 1) / parallelism);
    };
    return {bound(instance), bound(uint64_t{instance} + 1)};
  }

  /// Every key group: the range of a store that owns them all (parallelism 1, tests).
  [[nodiscard]] static constexpr key_group_range all(uint32_t key_groups) noexcept {
    return {0, key_groups};
  }

  /// Ranges are equal when their bounds are.
  friend constexpr bool operator==(key_group_range x, key_group_range y) noexcept {
    return x.first == y.first && x.end == y.end;
  }

  /// Ranges differ when their bounds do.
  friend constexpr bool operator!=(key_group_range x, key_group_range y) noexcept {
    return !(x == y);
  }
};

} // namespace eddy::state
