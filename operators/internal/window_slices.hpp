// The arithmetic of sliding and tumbling windows over slices, and the index of window ends still
// to fire, shared by the window operators.
//
// A window of size S starting every D is cut into slices of g = gcd(S, D): a record adds to one
// slice (one state update, whatever S / D is), and a window's result merges its S / g slices when
// it fires. Window k covers [k·D, k·D + S); it fires when the watermark reaches k·D + S - 1.
#pragma once

#include <eddy/actors/messages.hpp>
#include <eddy/operators/window.hpp>
#include <eddy/state/codec.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <numeric>
#include <type_traits>
#include <utility>
#include <vector>

namespace eddy::internal {

/// floor(a / b) for b > 0, also for negative a.
[[nodiscard]] constexpr int64_t floor_div(int64_t a, int64_t b) noexcept {
  auto q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

/// t + d for d >= 0, at most max_time (a window's end plus its allowed lateness, as in Flink).
[[nodiscard]] constexpr int64_t saturating_add(int64_t t, int64_t d) noexcept {
  return t > max_time - d ? max_time : t + d;
}

/// Where records and windows fall, for one window_spec. Records cost no division beyond finding
/// their slice (slice_finder), and none at all when the slide divides the size (every tumbling
/// window, and most sliding ones): window k then covers slices [k, k + size / slice).
class window_geometry {
public:
  explicit window_geometry(const window_spec& spec) noexcept
      : size_(spec.size)
      , slide_(spec.slide)
      , slice_(std::gcd(spec.size, spec.slide))
      , size_slices_(slice_ == 0 ? 0 : spec.size / slice_)
      , slide_slices_(slice_ == 0 ? 0 : spec.slide / slice_) {}

  /// Length of a slice.
  [[nodiscard]] int64_t slice_length() const noexcept { return slice_; }
  [[nodiscard]] int64_t size() const noexcept { return size_; }
  [[nodiscard]] int64_t slide() const noexcept { return slide_; }
  /// The size and slide of a window in slices.
  [[nodiscard]] int64_t size_slices() const noexcept { return size_slices_; }
  [[nodiscard]] int64_t slide_slices() const noexcept { return slide_slices_; }

  /// True when some window ends at `end` (ends are k·slide + size).
  [[nodiscard]] bool is_window_end(int64_t end) const noexcept {
    return slide_ > 0 && (end - size_) % slide_ == 0;
  }

  /// The slice holding event time `t`.
  [[nodiscard]] int64_t slice_of(timestamp t) const noexcept { return floor_div(t, slice_); }

  /// The ends of the first and last windows holding event time `t`.
  [[nodiscard]] std::pair<int64_t, int64_t> window_ends_of(timestamp t) const noexcept {
    return window_ends_of_slice(slice_of(t));
  }

  /// The slices [first, last] of the window ending at `end`.
  [[nodiscard]] std::pair<int64_t, int64_t> slices_of_window(int64_t end) const noexcept {
    auto last = floor_div(end, slice_) - 1;
    return {last - size_slices_ + 1, last};
  }

  /// The ends of the first and last windows holding slice `j`. Window k covers the slices
  /// [k·D', k·D' + S') for D' and S' the slide and size in slices.
  [[nodiscard]] std::pair<int64_t, int64_t> window_ends_of_slice(int64_t j) const noexcept {
    if (slide_slices_ == 1)
      return {(j + 1) * slice_, (j + size_slices_) * slice_};
    auto first_k = floor_div(j - size_slices_, slide_slices_) + 1;
    auto last_k = floor_div(j, slide_slices_);
    return {(first_k * slide_slices_ + size_slices_) * slice_,
            (last_k * slide_slices_ + size_slices_) * slice_};
  }

private:
  int64_t size_;
  int64_t slide_;
  int64_t slice_;
  int64_t size_slices_;
  int64_t slide_slices_;
};

/// Finds the slice of event time t, remembering the last one: records mostly come in time order,
/// so most need no division.
class slice_finder {
public:
  explicit slice_finder(int64_t slice_length) noexcept
      : length_(slice_length)
      , hi_(slice_length) {}

  [[nodiscard]] int64_t operator()(timestamp t) noexcept {
    if (t < lo_ || t >= hi_) {
      slice_ = floor_div(t, length_);
      lo_ = slice_ * length_;
      hi_ = lo_ + length_;
    }
    return slice_;
  }

private:
  int64_t length_;
  /// The remembered slice and its times [lo_, hi_): slice 0 to begin with.
  int64_t slice_ = 0;
  int64_t lo_ = 0;
  int64_t hi_;
};

/// True when `a < b` compiles for two const T&.
template <class T, class = void>
struct is_less_comparable : std::false_type {};

template <class T>
struct is_less_comparable<
    T, std::void_t<decltype(std::declval<const T&>() < std::declval<const T&>())>>
    : std::true_type {};

/// Window ends still to fire, by fire time, with the keys (and key groups) they concern. It is an
/// index over the window state, not state of its own: every key's window state holds the ends it
/// registered ([lo, hi]) and the last one that fired, so a restore rebuilds the index from the
/// keys of its key groups. A key may
/// appear twice at one time; the window state skips the second (window_key_state::last_fired).
///
/// The keys due at one time fire in one canonical order, by key group and then by key (by its
/// encoded bytes when the key has no `<`), whatever order they were registered in: a task
/// restored from a snapshot then emits exactly what its predecessor emitted, in the same order,
/// which single-task recovery needs (its receivers drop what they have seen by position).
template <class K>
class window_fire_index {
public:
  /// Registers `key` for the window ending at `end` (fires at end - 1).
  void add(int64_t end, uint32_t kg, const K& key) {
    if (last_ == index_.end() || last_->first != end)
      last_ = index_.try_emplace(end).first;
    last_->second.emplace_back(kg, key);
    ++size_;
  }

  /// Removes and returns, in order, the ends whose fire time (end - 1) is at or before `wm`:
  /// `f(end, kg, key)`.
  template <class F>
  void fire_due(timestamp wm, F&& f) {
    while (!index_.empty() && index_.begin()->first - 1 <= wm) {
      auto node = index_.extract(index_.begin());
      last_ = index_.end();
      size_ -= node.mapped().size();
      canonical_order(node.mapped());
      for (auto& [kg, key] : node.mapped())
        f(node.key(), kg, key);
    }
  }

  /// Registrations pending.
  [[nodiscard]] size_t size() const noexcept { return size_; }

private:
  static void canonical_order(std::vector<std::pair<uint32_t, K>>& xs) {
    if (xs.size() < 2)
      return;
    // Usually sorted already: a visit puts each key back for its next window in firing order.
    if constexpr (is_less_comparable<K>::value) {
      if (!std::is_sorted(xs.begin(), xs.end()))
        std::sort(xs.begin(), xs.end());
    } else {
      std::vector<std::pair<uint32_t, std::vector<char>>> order;
      order.reserve(xs.size());
      for (const auto& [kg, key] : xs)
        order.emplace_back(kg, state::encode(key));
      std::vector<size_t> at(xs.size());
      std::iota(at.begin(), at.end(), size_t{0});
      std::sort(at.begin(), at.end(), [&](size_t a, size_t b) { return order[a] < order[b]; });
      std::vector<std::pair<uint32_t, K>> sorted;
      sorted.reserve(xs.size());
      for (auto i : at)
        sorted.push_back(std::move(xs[i]));
      xs = std::move(sorted);
    }
  }

  /// Window end -> (key group, key) to fire.
  std::map<int64_t, std::vector<std::pair<uint32_t, K>>> index_;
  /// The entry of the last `add`, to skip the map search for runs of one end.
  typename std::map<int64_t, std::vector<std::pair<uint32_t, K>>>::iterator last_ = index_.end();
  /// Registrations pending.
  size_t size_ = 0;
};

} // namespace eddy::internal
