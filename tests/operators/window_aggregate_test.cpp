// Keyed sliding and tumbling windows: closed-form results on both state backends, invariance
// under parallelism, batching, credit and arrival order, late data that never vanishes, and
// late firings within the allowed lateness.
#include "temp_dir.hpp"

#include <eddy/operators/job.hpp>
#include <eddy/sinks/collect.hpp>
#include <eddy/sources/container_source.hpp>
#include <eddy/sources/generator.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <iterator>
#include <map>
#include <random>
#include <string>
#include <tuple>

using namespace eddy;
using namespace std::chrono_literals;

namespace {

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

std::vector<row> rows(const std::vector<result>& rs) {
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
std::vector<row> closed_form(const shuffled_grid& g, int64_t size, int64_t slide) {
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

std::vector<result> run_windows(job_config cfg, const shuffled_grid& g, window_spec spec,
                                uint32_t sources, uint32_t windows, job_report* report = nullptr) {
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

/// What differs between two sorted row lists, or empty.
std::string differences(const std::vector<row>& got, const std::vector<row>& expected) {
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

} // namespace

SCENARIO("tumbling and sliding windows give the closed-form sums on both state backends") {
  shuffled_grid g;
  for (bool rocksdb : {false, true}) {
    auto cfg = job_config{}.with_threads(2).with_batch_size(64);
    if (rocksdb)
      cfg.with_state_backend(state::backend_config{}.with_rocksdb(test::temp_dir("eddy_windows")));
    INFO((rocksdb ? "RocksDB" : "memory") << " backend");
    struct shape {
      int64_t size, slide;
    };
    for (auto [size, slide] : {shape{100, 100}, shape{250, 50}, shape{300, 120}, shape{60, 45}}) {
      INFO("size " << size << " slide " << slide);
      job_report report;
      auto got =
          run_windows(cfg, g, window_spec{size, slide, 0, late_policy::dead_letter}, 1, 2, &report);
      CHECK(differences(rows(got), closed_form(g, size, slide)) == "");
      CHECK(report.dead_letter_count() == 0); // nothing was late
    }
  }
}

SCENARIO("windows give the sequential result whatever the parallelism, batching and order") {
  std::mt19937 rng{20261201};
  auto pick = [&](uint32_t lo, uint32_t hi) {
    return std::uniform_int_distribution<uint32_t>{lo, hi}(rng);
  };
  for (int round = 0; round < 6; ++round) {
    shuffled_grid g;
    g.keys = static_cast<int32_t>(pick(1, 40));
    g.times = pick(500, 2'000);
    g.block = pick(1, 200);
    auto size = int64_t(pick(1, 20)) * 10;
    auto slide = int64_t(pick(1, 20)) * 10;
    if (slide > size)
      slide = size;
    uint32_t sources = pick(1, 3);
    uint32_t windows = pick(1, 4);
    auto cfg = job_config{}
                   .with_threads(2)
                   .with_batch_size(pick(1, 300))
                   .with_credit(pick(1, 4))
                   .with_linger(std::chrono::microseconds{pick(0, 2000)});
    INFO("round " << round << ": keys " << g.keys << ", times " << g.times << ", block " << g.block
                  << ", size " << size << ", slide " << slide << ", sources " << sources
                  << ", windows " << windows);
    auto got = run_windows(cfg, g, window_spec{size, slide, 0, late_policy::dead_letter}, sources,
                           windows);
    CHECK(differences(rows(got), closed_form(g, size, slide)) == "");
  }
}

namespace {

/// Times 0..999 in order, then `late` records at the times given, then 1000..1999.
std::vector<event> with_late_records(const std::vector<int64_t>& late) {
  std::vector<event> xs;
  for (int64_t t = 0; t < 1'000; ++t)
    xs.push_back({1, t});
  for (auto t : late)
    xs.push_back({1, t});
  for (int64_t t = 1'000; t < 2'000; ++t)
    xs.push_back({1, t});
  return xs;
}

} // namespace

SCENARIO("records later than the allowed lateness all reach the dead letters; none vanish") {
  // Batches of one record: the watermark (999 - 1) has reached the window operator before the
  // late records do.
  std::vector<int64_t> late{5, 150, 420, 640, 998};
  job j{job_config{}.with_threads(2).with_batch_size(1)};
  std::vector<result> out;
  j.source(from_container(with_late_records(late), [](const event& e) { return e.time; }))
      .key_by([](const event& e) { return e.key; })
      .window(tumbling(100ms))
      .aggregate(sum_times{})
      .sink(collect(out));
  auto report = j.run();
  REQUIRE(report);
  int64_t counted = 0;
  for (const auto& r : out)
    counted += r.value.count;
  // 998 is not late: its window [900, 1000) fires only at watermark 999.
  CHECK(counted == 2'000 + 1);
  REQUIRE(report->dead_letters.size() == 4);
  for (const auto& d : report->dead_letters)
    CHECK_THAT(d.reason, Catch::Contains("late"));
  CHECK(report->dead_letters[0].record.find("5") != std::string::npos);
}

SCENARIO("a record within the allowed lateness updates its window with a late firing") {
  std::vector<int64_t> late{150, 420};
  job j{job_config{}.with_threads(2).with_batch_size(1)};
  std::vector<result> out;
  j.source(from_container(with_late_records(late), [](const event& e) { return e.time; }))
      .key_by([](const event& e) { return e.key; })
      .window(tumbling(100ms))
      .allowed_lateness(700ms)
      .aggregate(sum_times{})
      .sink(collect(out));
  auto report = j.run();
  REQUIRE(report);
  // 420's window [400, 500) ended at 499, within 700 ms of lateness: updated to 101 records.
  // 150's window [100, 200) is more than 700 ms behind the watermark (998): a dead letter.
  std::map<int64_t, std::vector<result>> by_start;
  for (const auto& r : out)
    by_start[r.start].push_back(r);
  REQUIRE(by_start[400].size() == 2);
  CHECK(by_start[400][0].value.count == 100);
  CHECK_FALSE(by_start[400][0].late_update);
  CHECK(by_start[400][1].value.count == 101);
  CHECK(by_start[400][1].late_update);
  REQUIRE(by_start[100].size() == 1);
  CHECK(by_start[100][0].value.count == 100);
  REQUIRE(report->dead_letters.size() == 1);
}

SCENARIO("a window on a stream without event times is refused before the job starts") {
  job j;
  std::vector<result> out;
  j.source(from_container(std::vector<event>{{1, 1}}))
      .key_by([](const event& e) { return e.key; })
      .window(tumbling(100ms))
      .aggregate(sum_times{})
      .name("counts")
      .sink(collect(out));
  auto report = j.run();
  REQUIRE_FALSE(report);
  CHECK_THAT(describe(report.error()),
             Catch::Contains("counts") && Catch::Contains("with_event_time"));
}
