// The keyed state of a window operator, per key: the accumulators of the key's live slices, the
// last window that fired, and when the key is next due. It is one value of an aggregating state,
// changed in place by commands (add a record; visit: fire every window that is due and drop what
// no window needs), so a record costs one state access, and so does a key's turn at a watermark
// however many of its windows fire then.
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

/// "Not scheduled" / "nothing pending".
inline constexpr int64_t no_time = max_time;

/// One key's windows.
template <class Acc>
struct window_key_state {
  /// The end of the last window that fired (windows fire in increasing end per key).
  int64_t last_fired = min_time;
  /// The time (a window end, or a slice's last end plus the allowed lateness) at which the key
  /// is in the operator's index; no_time when it is not.
  int64_t scheduled = no_time;
  /// Slices (index, accumulator), in increasing index, from position `head` on: dropping slices
  /// at the front moves `head` (compacting once half is dropped), so it is constant time however
  /// many slices are live.
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
  enum kind_t : uint8_t { add, visit };
  kind_t kind = add;
  /// add: the record and its slice.
  const T* record = nullptr;
  int64_t slice = 0;
  /// visit: the watermark, and the index time that called the visit (no_time: a visit the
  /// operator asks for itself). An index entry other than the key's `scheduled` is stale.
  timestamp watermark = min_time;
  int64_t entry = no_time;
  // -- results --
  /// The time to put the key in the index at, or no_time.
  mutable int64_t schedule_at = no_time;
  /// visit: the windows that fired (end, merged accumulator), appended here.
  std::vector<std::pair<int64_t, Acc>>* fired = nullptr;
  /// visit: the key has nothing left (its state can go).
  mutable bool now_empty = false;
};

/// The aggregate function of the window state: runs commands on it.
template <class T, class Agg>
struct window_state_function {
  using acc_t = typename Agg::accumulator;
  using state_t = window_key_state<acc_t>;
  using command = window_command<T, acc_t>;

  /// The user's aggregate.
  Agg agg;
  /// Where records and windows fall.
  window_geometry geometry;
  /// How long fired windows stay open to late records.
  int64_t allowed_lateness = 0;

  [[nodiscard]] state_t create_accumulator() const { return {}; }

  void add(const command& c, state_t& s) const {
    if (c.kind == command::add)
      add_record(c, s);
    else
      visit(c, s);
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

  /// The end of the next window of `s` to fire, or no_time.
  [[nodiscard]] int64_t next_end(const state_t& s) const {
    auto it = s.begin();
    return next_end_from(s, it);
  }

  /// The same, looking from slice `it` on (no earlier slice holds a window still to fire), and
  /// moving `it` past the slices whose windows have all fired.
  template <class It>
  [[nodiscard]] int64_t next_end_from(const state_t& s, It& it) const {
    auto slide = geometry.slide();
    for (; it != s.slices.end(); ++it) {
      auto [first, last] = geometry.window_ends_of_slice(it->first);
      auto e = s.last_fired == min_time ? first : std::max(first, s.last_fired + slide);
      if (e <= last)
        return e;
    }
    return no_time;
  }

  /// When `s` next needs a visit: its next window's end, or (with allowed lateness) the time its
  /// first slice can go; no_time when it holds nothing.
  [[nodiscard]] int64_t next_visit(const state_t& s) const {
    auto t = next_end(s);
    if (allowed_lateness > 0 && !s.empty())
      t = std::min(t, geometry.window_ends_of_slice(s.begin()->first).second + allowed_lateness);
    return t;
  }

private:
  void add_record(const command& c, state_t& s) const {
    // The slice: usually the newest; out-of-order records find theirs by binary search.
    if (!s.empty() && s.slices.back().first == c.slice) {
      // An existing slice: its windows were considered for the schedule when it was made.
      agg.add(*c.record, s.slices.back().second);
      return;
    }
    if (s.empty() || s.slices.back().first < c.slice) {
      s.slices.emplace_back(c.slice, agg.create_accumulator());
      agg.add(*c.record, s.slices.back().second);
    } else {
      auto it = std::lower_bound(s.begin(), s.slices.end(), c.slice,
                                 [](const auto& x, int64_t v) { return x.first < v; });
      bool made = it == s.slices.end() || it->first != c.slice;
      if (made)
        it = s.slices.emplace(it, c.slice, agg.create_accumulator());
      agg.add(*c.record, it->second);
      if (!made)
        return;
    }
    // A new slice: the key needs a visit earlier than scheduled when it opened an earlier window.
    auto [first, last] = geometry.window_ends_of_slice(c.slice);
    auto e = s.last_fired == min_time ? first : std::max(first, s.last_fired + geometry.slide());
    if (e <= last && e < s.scheduled) {
      s.scheduled = e;
      c.schedule_at = e;
    }
  }

  void visit(const command& c, state_t& s) const {
    if (s.empty()) { // the key had no state (the command made this one): nothing to keep
      c.now_empty = true;
      return;
    }
    if (c.entry != no_time && c.entry != s.scheduled)
      return; // a stale index entry: the key's real one is at s.scheduled
    auto wm = c.watermark;
    // Fire the due windows in order. `scan` (where the next window to fire is looked for) and
    // `lo` (the first slice of the window being merged) only move forward, as windows fire in
    // increasing end: a visit costs the windows it fires plus the slices it passes, however
    // many windows fire at once (a watermark that jumps several slides).
    auto scan = s.begin();
    auto lo = scan;
    auto end = s.slices.end();
    int64_t prev = no_time; // the end fired last in this visit, and its first slice
    int64_t s0 = 0;
    for (auto e = next_end_from(s, scan); e != no_time && e - 1 <= wm; e = next_end_from(s, scan)) {
      // The next window's slices without a division when it is the slide after the last one.
      s0 = prev != no_time && e == prev + geometry.slide() ? s0 + geometry.slide_slices()
                                                           : geometry.slices_of_window(e).first;
      auto s1 = s0 + geometry.size_slices() - 1;
      prev = e;
      while (lo != end && lo->first < s0)
        ++lo;
      if (lo != end && lo->first <= s1) {
        acc_t merged = lo->second;
        for (auto it = lo + 1; it != end && it->first <= s1; ++it)
          agg.merge(merged, it->second);
        c.fired->emplace_back(e, std::move(merged));
      }
      s.last_fired = e;
    }
    // Drop the slices whose every window has fired and whose lateness has passed.
    auto it = s.begin();
    while (it != s.slices.end()) {
      auto last = geometry.window_ends_of_slice(it->first).second;
      if (last > s.last_fired || last - 1 + allowed_lateness > wm)
        break;
      ++it;
    }
    s.head = static_cast<uint64_t>(it - s.slices.begin());
    if (s.empty()) {
      s.slices.clear();
      s.head = 0;
    } else if (s.head * 2 >= s.slices.size()) {
      s.slices.erase(s.slices.begin(), it);
      s.head = 0;
    }
    s.scheduled = next_visit(s);
    c.schedule_at = s.scheduled;
    c.now_empty = s.empty();
  }
};

} // namespace eddy::internal

namespace eddy::state {

/// Window state in key-group bytes: last fired, scheduled, then the live slices.
template <class Acc>
struct codec<eddy::internal::window_key_state<Acc>> {
  static void write(byte_writer& out, const eddy::internal::window_key_state<Acc>& x) {
    out.write_raw(x.last_fired);
    out.write_raw(x.scheduled);
    out.write_raw(static_cast<uint64_t>(x.slices.size() - x.head));
    for (auto it = x.begin(); it != x.slices.end(); ++it)
      codec<std::pair<int64_t, Acc>>::write(out, *it);
  }
  [[nodiscard]] static bool read(byte_reader& in, eddy::internal::window_key_state<Acc>& x) {
    uint64_t n = 0;
    if (!in.read_raw(x.last_fired) || !in.read_raw(x.scheduled) || !in.read_raw(n) ||
        n > in.remaining())
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
