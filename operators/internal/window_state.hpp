// The keyed state of a window operator, per key: the accumulators of the key's live slices and
// which window ends are registered to fire. It is one value of an aggregating state, changed in
// place by commands (add a record, fire a window, drop what no window needs), so a record costs
// one state access, and so does a window firing, on every backend.
#pragma once

#include <eddy/actors/messages.hpp>
#include <eddy/operators/internal/window_slices.hpp>
#include <eddy/state/codec.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace eddy::internal {

/// One key's windows: live slices in order, and the window ends registered to fire.
template <class Acc>
struct window_key_state {
  /// Every window end in [lo, hi] (steps of the slide) is registered or has fired.
  int64_t lo = 0;
  int64_t hi = 0;
  /// The last end that fired (ends fire in increasing order per key).
  int64_t last_fired = min_time;
  /// Whether [lo, hi] holds anything yet.
  bool registered = false;
  /// Slices (index, accumulator), in increasing index, from position `head` on: windows drop
  /// slices at the front by moving `head` (compacting once half is dropped), so dropping is
  /// constant time however many slices are live.
  std::vector<std::pair<int64_t, Acc>> slices;
  /// Position of the first live slice.
  uint64_t head = 0;

  [[nodiscard]] auto begin() const noexcept {
    return slices.begin() + static_cast<ptrdiff_t>(head);
  }
  [[nodiscard]] auto begin() noexcept { return slices.begin() + static_cast<ptrdiff_t>(head); }
  [[nodiscard]] bool empty() const noexcept { return head == slices.size(); }
};

/// What a command does to one key's window state, and what it reports back.
template <class T, class Acc>
struct window_command {
  enum kind_t : uint8_t { add, fire, clean };
  kind_t kind = add;
  /// add: the record and its slice.
  const T* record = nullptr;
  int64_t slice = 0;
  /// add: the window ends the record falls in that are still to fire, [first, last].
  int64_t first_end = 0;
  int64_t last_end = 0;
  /// fire / clean: the window's end; clean: also drop the slices up to `slice`.
  int64_t end = 0;
  // -- results --
  /// add: ends to register now, [from, to] twice over (two runs at most), count in `runs`.
  mutable int64_t register_from[2] = {0, 0};
  mutable int64_t register_to[2] = {0, 0};
  mutable int runs = 0;
  /// fire: the merged accumulator of the window, when it holds any record.
  mutable std::optional<Acc> merged;
  /// fire / clean: the key has nothing left (its state can go).
  mutable bool now_empty = false;
};

/// The aggregate function of the window state: runs commands on it.
template <class T, class Agg>
struct window_state_function {
  using acc_t = typename Agg::accumulator;
  using state_t = window_key_state<acc_t>;
  using command = window_command<T, acc_t>;

  Agg agg;
  window_geometry geometry;

  [[nodiscard]] state_t create_accumulator() const { return {}; }

  void add(const command& c, state_t& s) const {
    switch (c.kind) {
    case command::add:
      add_record(c, s);
      break;
    case command::fire:
      fire(c, s);
      break;
    case command::clean:
      drop_until(s, c.slice);
      c.now_empty = s.empty() && c.end >= s.hi;
      break;
    }
  }

  [[nodiscard]] const state_t& get_result(const state_t& s) const { return s; }

  /// The merged accumulator of the window ending at `end`, if it holds any record.
  [[nodiscard]] std::optional<acc_t> merge_window(const state_t& s, int64_t end) const {
    auto [s0, s1] = geometry.slices_of_window(end);
    std::optional<acc_t> merged;
    auto it = std::lower_bound(s.begin(), s.slices.end(), s0,
                               [](const auto& x, int64_t v) { return x.first < v; });
    for (; it != s.slices.end() && it->first <= s1; ++it) {
      if (!merged)
        merged = it->second;
      else
        agg.merge(*merged, it->second);
    }
    return merged;
  }

private:
  void add_record(const command& c, state_t& s) const {
    // The slice: usually the newest; out-of-order records find theirs by binary search.
    if (s.empty() || s.slices.back().first < c.slice) {
      s.slices.emplace_back(c.slice, agg.create_accumulator());
      agg.add(*c.record, s.slices.back().second);
    } else {
      auto it = std::lower_bound(s.begin(), s.slices.end(), c.slice,
                                 [](const auto& x, int64_t v) { return x.first < v; });
      if (it == s.slices.end() || it->first != c.slice)
        it = s.slices.emplace(it, c.slice, agg.create_accumulator());
      agg.add(*c.record, it->second);
    }
    // Registration: the ends in [first_end, last_end] not yet covered by [lo, hi].
    auto a = c.first_end;
    auto b = c.last_end;
    c.runs = 0;
    if (a > b)
      return;
    auto slide = geometry.slide();
    bool fresh = !s.registered;
    s.registered = true;
    if (fresh || b + slide < s.lo || a > s.hi + slide) {
      // Nothing registered, or disjoint from it: register all; keep the newer interval. A later
      // overlap may register an end twice; it fires once (last_fired).
      c.register_from[0] = a;
      c.register_to[0] = b;
      c.runs = 1;
      if (fresh || a > s.hi) {
        s.lo = a;
        s.hi = b;
      }
      return;
    }
    if (a < s.lo) {
      c.register_from[c.runs] = a;
      c.register_to[c.runs++] = std::min(b, s.lo - slide);
    }
    if (b > s.hi) {
      c.register_from[c.runs] = std::max(a, s.hi + slide);
      c.register_to[c.runs++] = b;
    }
    s.lo = std::min(s.lo, a);
    s.hi = std::max(s.hi, b);
  }

  void fire(const command& c, state_t& s) const {
    if (c.end <= s.last_fired)
      return; // registered twice; fired already
    s.last_fired = c.end;
    c.merged = merge_window(s, c.end);
    if (c.slice != min_time) { // no allowed lateness: drop what no later window needs
      drop_until(s, c.slice);
      c.now_empty = s.empty() && c.end >= s.hi;
    }
  }

  static void drop_until(state_t& s, int64_t last) {
    auto it = std::upper_bound(s.begin(), s.slices.end(), last,
                               [](int64_t v, const auto& x) { return v < x.first; });
    s.head = static_cast<uint64_t>(it - s.slices.begin());
    if (s.empty()) {
      s.slices.clear();
      s.head = 0;
    } else if (s.head * 2 >= s.slices.size()) {
      s.slices.erase(s.slices.begin(), it);
      s.head = 0;
    }
  }
};

} // namespace eddy::internal

namespace eddy::state {

/// Window state in key-group bytes: the registration, then the live slices.
template <class Acc>
struct codec<eddy::internal::window_key_state<Acc>> {
  static void write(byte_writer& out, const eddy::internal::window_key_state<Acc>& x) {
    out.write_raw(x.lo);
    out.write_raw(x.hi);
    out.write_raw(x.last_fired);
    codec<bool>::write(out, x.registered);
    out.write_raw(static_cast<uint64_t>(x.slices.size() - x.head));
    for (auto it = x.begin(); it != x.slices.end(); ++it)
      codec<std::pair<int64_t, Acc>>::write(out, *it);
  }
  [[nodiscard]] static bool read(byte_reader& in, eddy::internal::window_key_state<Acc>& x) {
    uint64_t n = 0;
    if (!in.read_raw(x.lo) || !in.read_raw(x.hi) || !in.read_raw(x.last_fired) ||
        !codec<bool>::read(in, x.registered) || !in.read_raw(n) || n > in.remaining())
      return false;
    x.slices.clear();
    x.head = 0;
    for (uint64_t i = 0; i < n; ++i) {
      std::pair<int64_t, Acc> slice{};
      if (!codec<std::pair<int64_t, Acc>>::read(in, slice))
        return false;
      x.slices.push_back(std::move(slice));
    }
    return true;
  }
};

/// An optional value: a presence byte, then the value.
template <class T>
struct codec<std::optional<T>> {
  static void write(byte_writer& out, const std::optional<T>& x) {
    out.write_raw(static_cast<uint8_t>(x ? 1 : 0));
    if (x)
      codec<T>::write(out, *x);
  }
  [[nodiscard]] static bool read(byte_reader& in, std::optional<T>& x) {
    uint8_t present = 0;
    if (!in.read_raw(present) || present > 1)
      return false;
    if (present == 0) {
      x.reset();
      return true;
    }
    T value{};
    if (!codec<T>::read(in, value))
      return false;
    x = std::move(value);
    return true;
  }
};

} // namespace eddy::state
