// Event-time windows: what a keyed window operator groups records into, and what it emits.
//
//   using namespace std::chrono_literals;
//   auto counts = bids.key_by([](const bid& b) { return b.auction; })
//                     .window(eddy::sliding(10s, 2s))          // or eddy::tumbling(1min)
//                     .allowed_lateness(5s)                     // late firings for 5 s more
//                     .aggregate(eddy::count_of<bid>{});        // -> window_result<key, int64_t>
//
// Window k of a sliding window of size S and slide D covers [k·D, k·D + S) (k may be negative
// for times before 0), and fires once the watermark reaches its last millisecond (end - 1).
// Tumbling windows are sliding windows whose slide equals their size. A window emits only when
// it holds at least one record.
#pragma once

#include <eddy/actors/messages.hpp>

#include <caf/meta/type_name.hpp>

#include <chrono>
#include <cstdint>

namespace eddy {

/// Where records go when they are later than a window operator allows.
enum class late_policy : uint8_t {
  /// Counted (metrics `late_records`) and sent to the dead-letter output with the reason, so
  /// none vanishes silently. Default.
  dead_letter,
  /// Only counted (metrics `late_records`): for streams where late data is expected noise.
  count,
  /// Counted and sent, as they are, to a side output the user takes by its tag
  /// (windowed_stream::side_output_late_data).
  side_output,
};

/// How a window operator assigns records to windows.
enum class window_kind : uint8_t {
  /// Windows of `size` every `slide` (tumbling when they are equal).
  sliding,
  /// A window per burst of activity of a key: records closer than `size` (the gap) in event time
  /// share one; windows merge when a record bridges them.
  session,
  /// One window per key that never ends: it fires only when its trigger says so (count windows).
  global,
};

/// The event-time windows of a keyed window operator: size, slide and allowed lateness, in ms.
struct window_spec {
  /// Length of a window. Must be positive.
  timestamp size = 0;
  /// Distance between the starts of consecutive windows; equal to size for tumbling windows.
  /// Must be positive and divide nothing in particular (slices are gcd(size, slide) long).
  timestamp slide = 0;
  /// Records this late (behind the watermark, for their last window) still count, and update
  /// the windows they fall in with a late firing. Default: 0.
  timestamp allowed_lateness = 0;
  /// What happens to records later than that. Default: dead letters.
  late_policy on_late = late_policy::dead_letter;
  /// How records are assigned to windows.
  window_kind kind = window_kind::sliding;
};

/// One window: [start, end) in event time (ms). A global window is [min_time, max_time).
struct time_window {
  timestamp start = 0;
  timestamp end = 0;
  /// The last millisecond of the window, when event-time triggers fire.
  [[nodiscard]] timestamp max_timestamp() const noexcept { return end - 1; }
  friend bool operator==(const time_window& a, const time_window& b) noexcept {
    return a.start == b.start && a.end == b.end;
  }
};

/// Windows of `size` that do not overlap: each record falls into exactly one.
[[nodiscard]] inline window_spec tumbling(std::chrono::milliseconds size) noexcept {
  return {size.count(), size.count(), 0, late_policy::dead_letter};
}

/// Windows of `size` starting every `slide`: each record falls into about size / slide windows.
[[nodiscard]] inline window_spec sliding(std::chrono::milliseconds size,
                                         std::chrono::milliseconds slide) noexcept {
  return {size.count(), slide.count(), 0, late_policy::dead_letter};
}

/// Session windows: a key's records closer than `gap` in event time share a window, which ends
/// `gap` after its last record (windows merge when a record bridges two).
[[nodiscard]] inline window_spec session(std::chrono::milliseconds gap) noexcept {
  return {gap.count(), 0, 0, late_policy::dead_letter, window_kind::session};
}

/// One window per key holding every record; it fires when its trigger says so (give it one:
/// `.trigger(eddy::count_trigger{100})`). Count windows (keyed_stream::count_window) are global
/// windows with a count trigger.
[[nodiscard]] inline window_spec global_window() noexcept {
  return {0, 0, 0, late_policy::dead_letter, window_kind::global};
}

/// The result of one window of one key.
template <class K, class R>
struct window_result {
  /// The key.
  K key{};
  /// The window: [start, end) in event time (ms).
  timestamp start = 0;
  timestamp end = 0;
  /// The aggregate over the window's records.
  R value{};
  /// True for a late firing: an update of a window that had already fired.
  bool late_update = false;
  /// True for an early firing: a partial result before the window's end (an early trigger).
  bool early = false;
};

template <class Inspector, class K, class R>
typename Inspector::result_type inspect(Inspector& f, window_result<K, R>& x) {
  return f(caf::meta::type_name("eddy.window_result"), x.key, x.start, x.end, x.value,
           x.late_update, x.early);
}

/// An aggregate function counting records: `aggregate(count_of<T>{})`.
template <class T>
struct count_of {
  using accumulator = int64_t;
  using result = int64_t;
  [[nodiscard]] accumulator create_accumulator() const noexcept { return 0; }
  void add(const T&, accumulator& acc) const noexcept { ++acc; }
  void merge(accumulator& into, const accumulator& from) const noexcept { into += from; }
  [[nodiscard]] result get_result(const accumulator& acc) const noexcept { return acc; }
};

} // namespace eddy
