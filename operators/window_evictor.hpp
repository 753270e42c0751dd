// Window evictors: which records a window of the general window operator (window_operator.hpp)
// keeps when it fires, as Flink's Evictor. A window with an evictor keeps its records (not an
// accumulator) and computes its result over what the evictor leaves.
//
//   auto last_100 = readings.key_by(&reading_sensor)
//                       .count_window(100, 10)             // count_trigger + count_evictor{100}
//                       .aggregate(mean_of{});              // the mean of the last 100, every 10
//   auto recent = readings.key_by(&reading_sensor)
//                     .window(eddy::global_window())
//                     .trigger(eddy::count_trigger{50, false})
//                     .evictor(eddy::time_evictor{60'000})  // records of the last minute only
//                     .aggregate(mean_of{});
//
// An evictor of your own has `evict_before(items, times, window)` (before the result is
// computed) and `evict_after(items, times, window)` (after it), each given the window's records
// and their event times in arrival order (erase the same positions from both vectors).
#pragma once

#include <eddy/actors/messages.hpp>
#include <eddy/operators/window.hpp>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace eddy {

/// No evictor: the window keeps an accumulator, not its records.
struct no_evictor {};

/// Keeps the last `count` records of the window.
struct count_evictor {
  /// Records kept. Must be positive.
  int64_t count = 1;

  template <class T>
  void evict_before(std::vector<T>& items, std::vector<timestamp>& times,
                    const time_window&) const {
    if (static_cast<int64_t>(items.size()) <= count)
      return;
    auto drop = static_cast<std::ptrdiff_t>(items.size()) - count;
    items.erase(items.begin(), items.begin() + drop);
    times.erase(times.begin(), times.begin() + drop);
  }
  template <class T>
  void evict_after(std::vector<T>&, std::vector<timestamp>&, const time_window&) const {}
};

/// Keeps the records less than `keep_ms` older (in event time) than the window's newest.
struct time_evictor {
  /// How far back records are kept, in ms of event time.
  int64_t keep_ms = 0;

  template <class T>
  void evict_before(std::vector<T>& items, std::vector<timestamp>& times,
                    const time_window&) const {
    if (times.empty())
      return;
    auto newest = *std::max_element(times.begin(), times.end());
    if (newest == min_time)
      return; // records without event times: nothing to measure age by (as Flink's TimeEvictor)
    size_t w = 0;
    for (size_t i = 0; i < items.size(); ++i)
      if (times[i] > newest - keep_ms) {
        if (w != i) {
          items[w] = std::move(items[i]);
          times[w] = times[i];
        }
        ++w;
      }
    items.resize(w);
    times.resize(w);
  }
  template <class T>
  void evict_after(std::vector<T>&, std::vector<timestamp>&, const time_window&) const {}
};

} // namespace eddy
