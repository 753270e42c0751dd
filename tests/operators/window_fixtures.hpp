// What the window tests share: an event with a key and a time, an aggregate summing the times,
// a grid of events whose window sums have a closed form, and a readable difference of results.
#pragma once

#include <eddy/operators/job.hpp>
#include <eddy/sinks/collect.hpp>
#include <eddy/sources/generator.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <iterator>
#include <string>
#include <tuple>
#include <vector>

namespace eddy::test {

struct event {
  int32_t key = 0;
  int64_t time = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, event& x) {
  return f(x.key, x.time);
}

/// Sum and count of the event times in a window.
struct sum_count {
  int64_t sum = 0;
  int64_t count = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, sum_count& x) {
  return f(x.sum, x.count);
}

struct sum_times {
  using accumulator = sum_count;
  using result = sum_count;
  accumulator create_accumulator() const { return {}; }
  void add(const event& e, accumulator& acc) const {
    acc.sum += e.time;
    ++acc.count;
  }
  void merge(accumulator& into, const accumulator& from) const {
    into.sum += from.sum;
    into.count += from.count;
  }
  result get_result(const accumulator& acc) const { return acc; }
};

using result = window_result<int32_t, sum_count>;
using row = std::tuple<int32_t, int64_t, int64_t, int64_t, int64_t>; // key, start, end, sum, count

inline std::vector<row> rows(const std::vector<result>& rs) {
  std::vector<row> out;
  for (const auto& r : rs)
    out.emplace_back(r.key, r.start, r.end, r.value.sum, r.value.count);
  std::sort(out.begin(), out.end());
  return out;
}

/// Keys 0..keys-1 each have one event at every time 0..times-1. Position i of the stream holds
/// event perm(i): positions are reversed within blocks of `block`, so a record is at most
/// block - 1 positions, (block - 1) / keys + 1 ms of event time, out of order.
struct shuffled_grid {
  int32_t keys = 7;
  int64_t times = 3'000;
  uint64_t block = 40;
  [[nodiscard]] uint64_t size() const { return uint64_t(keys) * uint64_t(times); }
  [[nodiscard]] event at(uint64_t i) const {
    auto start = i / block * block;
    auto end = std::min(start + block, size());
    auto j = start + (end - 1 - i);
    return event{static_cast<int32_t>(j % uint64_t(keys)),
                 static_cast<int64_t>(j / uint64_t(keys))};
  }
  [[nodiscard]] int64_t out_of_orderness() const { return int64_t(block) / keys + 2; }
};

/// The closed form: every (key, window) over [0, times): count and sum of an integer range.
inline std::vector<row> closed_form(const shuffled_grid& g, int64_t size, int64_t slide) {
  std::vector<row> out;
  // Windows start at multiples of the slide: the first one holding time 0 starts after -size.
  auto first = -size / slide * slide;
  while (first - slide + size > 0)
    first -= slide;
  for (int64_t start = first; start < g.times; start += slide) {
    auto lo = std::max<int64_t>(start, 0);
    auto hi = std::min<int64_t>(start + size, g.times); // [lo, hi)
    if (hi <= lo)
      continue;
    auto count = hi - lo;
    auto sum = (lo + hi - 1) * count / 2;
    for (int32_t k = 0; k < g.keys; ++k)
      out.emplace_back(k, start, start + size, sum, count);
  }
  std::sort(out.begin(), out.end());
  return out;
}

inline std::vector<result> run_windows(job_config cfg, const shuffled_grid& g, window_spec spec,
                                       uint32_t sources, uint32_t windows,
                                       job_report* report = nullptr) {
  job j{cfg};
  std::vector<result> out;
  j.source(generator<event>(g.size(), [g](uint64_t i) { return g.at(i); })
               .with_event_time([](const event& e) { return e.time; }, g.out_of_orderness()))
      .parallelism(sources)
      .key_by([](const event& e) { return e.key; })
      .window(spec)
      .aggregate(sum_times{})
      .parallelism(windows)
      .sink(collect(out));
  auto r = j.run();
  REQUIRE(r);
  if (report)
    *report = *r;
  return out;
}

/// Tumbling 100 ms windows summing event times per key over `g`, read by a paced source at
/// `rate` records a second: "events" (2 instances) -> "windows" (2) -> "collect". The recovery
/// tests crash or kill its tasks.
inline std::vector<result> run_paced_windows(job_config cfg, const shuffled_grid& g, double rate,
                                             job_report* report = nullptr) {
  job j{cfg};
  std::vector<result> out;
  j.source(generator<event>(g.size(), [g](uint64_t i) { return g.at(i); })
               .with_event_time([](const event& e) { return e.time; }, g.out_of_orderness())
               .at_rate(rate))
      .name("events")
      .parallelism(2)
      .key_by([](const event& e) { return e.key; })
      .window(window_spec{100, 100, 0, late_policy::dead_letter})
      .aggregate(sum_times{})
      .name("windows")
      .parallelism(2)
      .sink(collect(out))
      .name("collect");
  auto r = j.run();
  if (!r)
    FAIL(describe(r.error()));
  if (report)
    *report = *r;
  return out;
}

/// What differs between two sorted row lists, or empty.
inline std::string differences(const std::vector<row>& got, const std::vector<row>& expected) {
  std::vector<row> missing, extra;
  std::set_difference(expected.begin(), expected.end(), got.begin(), got.end(),
                      std::back_inserter(missing));
  std::set_difference(got.begin(), got.end(), expected.begin(), expected.end(),
                      std::back_inserter(extra));
  if (missing.empty() && extra.empty())
    return {};
  std::string out =
      std::to_string(got.size()) + " rows instead of " + std::to_string(expected.size());
  auto show = [&](const char* what, const std::vector<row>& xs) {
    for (size_t i = 0; i < xs.size() && i < 5; ++i) {
      auto [k, s, e, sum, n] = xs[i];
      out += std::string{"; "} + what + " key " + std::to_string(k) + " [" + std::to_string(s) +
             ", " + std::to_string(e) + ") sum " + std::to_string(sum) + " count " +
             std::to_string(n);
    }
  };
  show("missing", missing);
  show("unexpected", extra);
  return out;
}

} // namespace eddy::test
