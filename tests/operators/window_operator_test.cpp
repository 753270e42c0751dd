// The general window operator: session windows (merging) and the time windows it also runs, with
// closed-form results on both state backends and under random parallelism, batching and order;
// count windows; triggers that fire early; evictors; full-window process functions with window
// state; late data; and mistakes refused before the job starts.
#include "temp_dir.hpp"
#include "window_fixtures.hpp"

#include <eddy/operators/job.hpp>
#include <eddy/sinks/collect.hpp>
#include <eddy/sources/container_source.hpp>
#include <eddy/sources/generator.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <stdexcept>

using namespace eddy;
using namespace eddy::test;
using namespace std::chrono_literals;

namespace {

/// Session bursts: key k's burst b holds n = 3 + (k + b) % 4 records at s + i * step, where
/// s = b * 1000 + 3k and step is 7 or (every other burst) 40, below the gap of 50, so each burst is
/// one session; bursts are far apart. Positions are reversed within blocks of `block`, so the
/// records of a 40-step burst arrive as separate sessions that merge.
struct session_bursts {
  int32_t keys = 9;
  int64_t bursts = 40;
  uint64_t block = 30;
  static constexpr int64_t gap = 50;

  [[nodiscard]] int64_t n(int32_t k, int64_t b) const { return 3 + (k + b) % 4; }
  [[nodiscard]] int64_t step(int64_t b) const { return b % 2 == 0 ? 7 : 40; }
  [[nodiscard]] int64_t start(int32_t k, int64_t b) const { return b * 1'000 + 3 * k; }

  /// Every record, in time order, then reversed within blocks.
  [[nodiscard]] std::vector<event> stream() const {
    std::vector<event> xs;
    for (int64_t b = 0; b < bursts; ++b)
      for (int32_t k = 0; k < keys; ++k)
        for (int64_t i = 0; i < n(k, b); ++i)
          xs.push_back({k, start(k, b) + i * step(b)});
    std::stable_sort(xs.begin(), xs.end(),
                     [](const event& a, const event& b) { return a.time < b.time; });
    for (size_t lo = 0; lo < xs.size(); lo += block)
      std::reverse(xs.begin() + static_cast<std::ptrdiff_t>(lo),
                   xs.begin() + static_cast<std::ptrdiff_t>(std::min(lo + block, xs.size())));
    return xs;
  }

  /// The most a record is behind one that came before it, in event time.
  [[nodiscard]] int64_t out_of_orderness() const {
    auto xs = stream();
    int64_t most = 0;
    int64_t newest = min_time;
    for (const auto& x : xs) {
      newest = std::max(newest, x.time);
      most = std::max(most, newest - x.time);
    }
    return most + 1;
  }

  /// The closed form: one session per (key, burst).
  [[nodiscard]] std::vector<row> expected() const {
    std::vector<row> out;
    for (int64_t b = 0; b < bursts; ++b)
      for (int32_t k = 0; k < keys; ++k) {
        auto s = start(k, b);
        auto m = n(k, b);
        auto d = step(b);
        out.emplace_back(k, s, s + (m - 1) * d + gap, m * s + d * m * (m - 1) / 2, m);
      }
    std::sort(out.begin(), out.end());
    return out;
  }
};

/// Runs `windowed(keyed stream)` over `xs` (event time bound `ooo`) and collects its results.
template <class Out, class Windowed>
std::vector<Out> run(job_config cfg, std::vector<event> xs, int64_t ooo, Windowed windowed,
                     uint32_t sources = 1, uint32_t windows = 2, job_report* report = nullptr) {
  job j{cfg};
  std::vector<Out> out;
  auto data = std::make_shared<std::vector<event>>(std::move(xs));
  auto keyed = j.source(generator<event>(data->size(), [data](uint64_t i) { return (*data)[i]; })
                            .with_event_time([](const event& e) { return e.time; }, ooo))
                   .parallelism(sources)
                   .key_by([](const event& e) { return e.key; });
  windowed(keyed).parallelism(windows).sink(collect(out));
  auto r = j.run();
  REQUIRE(r);
  if (report)
    *report = *r;
  return out;
}

auto sessions_of(int64_t gap) {
  return [gap](auto& keyed) {
    return keyed.window(session(std::chrono::milliseconds{gap})).aggregate(sum_times{});
  };
}

} // namespace

SCENARIO("session windows merge and give the closed-form sums on both state backends") {
  session_bursts g;
  for (bool rocksdb : {false, true}) {
    auto cfg = job_config{}.with_threads(2).with_batch_size(16);
    if (rocksdb)
      cfg.with_state_backend(state::backend_config{}.with_rocksdb(temp_dir("eddy_sessions")));
    INFO((rocksdb ? "RocksDB" : "memory") << " backend");
    job_report report;
    auto got =
        run<result>(cfg, g.stream(), g.out_of_orderness(), sessions_of(g.gap), 1, 2, &report);
    CHECK(differences(rows(got), g.expected()) == "");
    CHECK(report.dead_letter_count() == 0);
  }
}

SCENARIO("session windows give the same result whatever the parallelism, batching and order") {
  std::mt19937 rng{20261202};
  auto pick = [&](uint32_t lo, uint32_t hi) {
    return std::uniform_int_distribution<uint32_t>{lo, hi}(rng);
  };
  for (int round = 0; round < 5; ++round) {
    session_bursts g;
    g.keys = static_cast<int32_t>(pick(1, 30));
    g.bursts = pick(5, 40);
    g.block = pick(1, 120);
    uint32_t sources = pick(1, 3);
    uint32_t windows = pick(1, 4);
    auto cfg = job_config{}
                   .with_threads(2)
                   .with_batch_size(pick(1, 200))
                   .with_credit(pick(1, 4))
                   .with_linger(std::chrono::microseconds{pick(0, 2000)});
    INFO("round " << round << ": keys " << g.keys << ", bursts " << g.bursts << ", block "
                  << g.block << ", sources " << sources << ", windows " << windows);
    auto got =
        run<result>(cfg, g.stream(), g.out_of_orderness(), sessions_of(g.gap), sources, windows);
    CHECK(differences(rows(got), g.expected()) == "");
  }
}

SCENARIO("the general operator gives the sliced operator's closed-form sliding windows") {
  // A trigger chosen by the user (even the default one) runs the general window operator.
  shuffled_grid g;
  g.times = 1'500;
  for (bool rocksdb : {false, true}) {
    auto cfg = job_config{}.with_threads(2).with_batch_size(64);
    if (rocksdb)
      cfg.with_state_backend(state::backend_config{}.with_rocksdb(temp_dir("eddy_general")));
    INFO((rocksdb ? "RocksDB" : "memory") << " backend");
    std::vector<event> xs;
    for (uint64_t i = 0; i < g.size(); ++i)
      xs.push_back(g.at(i));
    auto got = run<result>(cfg, xs, g.out_of_orderness(), [](auto& keyed) {
      return keyed.window(sliding(250ms, 50ms))
          .trigger(event_time_trigger{})
          .aggregate(sum_times{});
    });
    CHECK(differences(rows(got), closed_form(g, 250, 50)) == "");
  }
}

SCENARIO("count windows fire every n records of a key, in arrival order") {
  // One source: each key's records arrive in order. Key k has values k, k + 3, k + 6, ...
  constexpr int32_t keys = 3;
  constexpr int64_t per_key = 23;
  std::vector<event> xs;
  for (int64_t i = 0; i < per_key; ++i)
    for (int32_t k = 0; k < keys; ++k)
      xs.push_back({k, i * keys + k});
  for (bool rocksdb : {false, true}) {
    auto cfg = job_config{}.with_threads(2).with_batch_size(7);
    if (rocksdb)
      cfg.with_state_backend(state::backend_config{}.with_rocksdb(temp_dir("eddy_counts")));
    INFO((rocksdb ? "RocksDB" : "memory") << " backend");
    GIVEN("tumbling count windows of 5") {
      auto got = run<result>(
          cfg, xs, 0, [](auto& keyed) { return keyed.count_window(5).aggregate(sum_times{}); });
      std::map<int32_t, std::vector<int64_t>> sums;
      for (const auto& r : got) {
        CHECK(r.value.count == 5);
        sums[r.key].push_back(r.value.sum);
      }
      for (int32_t k = 0; k < keys; ++k) {
        std::vector<int64_t> expected; // windows i = 0..3 of records 5i..5i+4
        for (int64_t w = 0; w < per_key / 5; ++w) {
          int64_t sum = 0;
          for (int64_t i = 5 * w; i < 5 * w + 5; ++i)
            sum += i * keys + k;
          expected.push_back(sum);
        }
        std::sort(sums[k].begin(), sums[k].end());
        CHECK(sums[k] == expected); // the last 3 records never fill a window
      }
    }
    GIVEN("sliding count windows of the last 4 every 2") {
      auto got = run<result>(
          cfg, xs, 0, [](auto& keyed) { return keyed.count_window(4, 2).aggregate(sum_times{}); });
      std::map<int32_t, std::vector<std::pair<int64_t, int64_t>>> seen;
      for (const auto& r : got)
        seen[r.key].emplace_back(r.value.count, r.value.sum);
      for (int32_t k = 0; k < keys; ++k) {
        std::vector<std::pair<int64_t, int64_t>> expected;
        for (int64_t n = 2; n <= per_key; n += 2) { // fires after records 2, 4, 6, ...
          int64_t sum = 0;
          auto from = std::max<int64_t>(0, n - 4);
          for (int64_t i = from; i < n; ++i)
            sum += i * keys + k;
          expected.emplace_back(n - from, sum);
        }
        std::sort(seen[k].begin(), seen[k].end());
        std::sort(expected.begin(), expected.end());
        CHECK(seen[k] == expected);
      }
    }
  }
}

SCENARIO("a time evictor keeps only the recent records of a window") {
  // Key 1 at times 0, 10, 20, ...; a global window fires every 5 records and keeps what is less
  // than 20 ms older than its newest record: the newest two.
  std::vector<event> xs;
  for (int64_t i = 0; i < 20; ++i)
    xs.push_back({1, i * 10});
  auto got = run<result>(job_config{}.with_threads(2), xs, 0, [](auto& keyed) {
    return keyed.window(global_window())
        .trigger(count_trigger{5, false})
        .evictor(time_evictor{20})
        .aggregate(sum_times{});
  });
  std::vector<std::pair<int64_t, int64_t>> seen;
  for (const auto& r : got)
    seen.emplace_back(r.value.count, r.value.sum);
  std::sort(seen.begin(), seen.end());
  CHECK(seen == std::vector<std::pair<int64_t, int64_t>>{{2, 70}, {2, 170}, {2, 270}, {2, 370}});
}

SCENARIO("an early count trigger gives partial results before the window's end") {
  std::vector<event> xs;
  for (int64_t t = 0; t < 300; ++t)
    xs.push_back({1, t});
  auto got = run<result>(job_config{}.with_threads(2).with_batch_size(8), xs, 0, [](auto& keyed) {
    return keyed.window(tumbling(100ms)).trigger(early_count_trigger{30}).aggregate(sum_times{});
  });
  std::map<int64_t, std::vector<int64_t>> early, on_time;
  for (const auto& r : got)
    (r.early ? early : on_time)[r.start].push_back(r.value.count);
  for (int64_t start : {0, 100, 200}) {
    INFO("window " << start);
    std::sort(early[start].begin(), early[start].end());
    CHECK(early[start] == std::vector<int64_t>{30, 60, 90});
    CHECK(on_time[start] == std::vector<int64_t>{100});
  }
}

SCENARIO("an early interval trigger fires on the injected processing clock") {
  // The processing clock is the number of records the source has made: a window of 200 records
  // crosses several 40-tick intervals before the watermark ends it.
  auto ticks = std::make_shared<std::atomic<int64_t>>(0);
  job j{job_config{}.with_threads(2).with_batch_size(2).with_credit(2).with_processing_clock(
      [ticks] { return ticks->load(); })};
  std::vector<result> out;
  j.source(generator<event>(600,
                            [ticks](uint64_t i) {
                              ticks->store(static_cast<int64_t>(i));
                              return event{1, static_cast<int64_t>(i)};
                            })
               .with_event_time([](const event& e) { return e.time; }, 0))
      .key_by([](const event& e) { return e.key; })
      .window(tumbling(200ms))
      .trigger(early_interval_trigger{40})
      .aggregate(sum_times{})
      .sink(collect(out));
  REQUIRE(j.run());
  std::map<int64_t, std::vector<int64_t>> early, on_time;
  for (const auto& r : out) {
    UNSCOPED_INFO("window " << r.start << (r.early ? " early " : " ") << r.value.count);
    (r.early ? early : on_time)[r.start].push_back(r.value.count);
  }
  for (int64_t start : {0, 200, 400}) {
    INFO("window " << start);
    CHECK(on_time[start] == std::vector<int64_t>{200});
    CHECK_FALSE(early[start].empty());
    for (auto n : early[start])
      CHECK((n > 0 && n <= 200));
    CHECK(std::is_sorted(early[start].begin(), early[start].end()));
  }
}

namespace {

/// The largest time in the window, and how often the window fired (its window state).
struct largest_and_firings {
  int32_t key = 0;
  int64_t start = 0;
  int64_t largest = 0;
  int64_t records = 0;
  int64_t firing = 0;
  bool late = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, largest_and_firings& x) {
  return f(x.key, x.start, x.largest, x.records, x.firing, x.late);
}

struct largest {
  using window_state = int64_t;
  void operator()(const int32_t& key, const std::vector<event>& records,
                  window_context<largest_and_firings, int64_t>& ctx) {
    if (key == 13)
      throw std::runtime_error("key 13 is unlucky");
    int64_t most = min_time;
    for (const auto& r : records)
      most = std::max(most, r.time);
    auto n = ++ctx.window_state();
    ctx.emit({key, ctx.window().start, most, static_cast<int64_t>(records.size()), n,
              ctx.late_update()});
  }
};

} // namespace

SCENARIO("a full-window process function sees every record, the window and its own state") {
  // Times 0..999 for keys 1 and 13, then a late record at 420 (within the allowed lateness) for
  // key 1, then 1000..1999.
  std::vector<event> xs;
  for (int64_t t = 0; t < 2'000; ++t) {
    if (t == 1'000)
      xs.push_back({1, 420});
    xs.push_back({1, t});
    xs.push_back({13, t});
  }
  job_report report;
  auto got = run<largest_and_firings>(
      job_config{}.with_threads(2).with_batch_size(1), xs, 0,
      [](auto& keyed) {
        return keyed.window(tumbling(100ms))
            .allowed_lateness(700ms)
            .template process<largest_and_firings>(largest{});
      },
      1, 2, &report);
  std::map<int64_t, std::vector<largest_and_firings>> by_start;
  for (const auto& r : got) {
    REQUIRE(r.key == 1);
    by_start[r.start].push_back(r);
  }
  REQUIRE(by_start.size() == 20);
  for (auto& [start, rs] : by_start) {
    INFO("window " << start);
    REQUIRE(rs.size() == (start == 400 ? 2u : 1u));
    CHECK(rs[0].largest == start + 99);
    CHECK(rs[0].records == 100);
    CHECK(rs[0].firing == 1);
    CHECK_FALSE(rs[0].late);
  }
  CHECK(by_start[400][1].records == 101); // the late record joined the window's records
  CHECK(by_start[400][1].firing == 2);    // and the window state remembered the first firing
  CHECK(by_start[400][1].late);
  // Key 13's function threw on each of its 20 windows: dead letters, and the job went on.
  REQUIRE(report.dead_letters.size() == 20);
  CHECK_THAT(report.dead_letters[0].reason, Catch::Contains("unlucky"));
}

SCENARIO("records too late for any session go to the side output") {
  // A session of key 1 at 0..99; the watermark passes 1000 before records at 5 and 30 arrive.
  std::vector<event> xs;
  for (int64_t t = 0; t < 100; ++t)
    xs.push_back({1, t});
  for (int64_t t = 1'000; t < 1'010; ++t)
    xs.push_back({1, t});
  xs.push_back({1, 5});
  xs.push_back({1, 30});
  xs.push_back({1, 2'000});
  job j{job_config{}.with_threads(2).with_batch_size(1)};
  std::vector<result> out;
  std::vector<event> late;
  output_tag<event> late_tag{"late"};
  auto sessions = j.source(from_container(xs, [](const event& e) { return e.time; }))
                      .key_by([](const event& e) { return e.key; })
                      .window(session(50ms))
                      .side_output_late_data(late_tag)
                      .aggregate(sum_times{});
  sessions.sink(collect(out));
  sessions.side_output(late_tag).sink(collect(late));
  auto report = j.run();
  REQUIRE(report);
  CHECK(late.size() == 2);
  CHECK(report->late_record_count() == 2);
  auto got = rows(out);
  CHECK(got == std::vector<row>{{1, 0, 149, 4'950, 100},
                                {1, 1'000, 1'059, 10'045, 10},
                                {1, 2'000, 2'050, 2'000, 1}});
}

SCENARIO("window mistakes are refused before the job starts") {
  std::vector<result> out;
  auto try_job = [&](auto make) {
    job j;
    auto keyed = j.source(from_container(std::vector<event>{{1, 1}}, [](const event& e) {
                    return e.time;
                  })).key_by([](const event& e) { return e.key; });
    make(keyed).sink(collect(out));
    auto r = j.run();
    REQUIRE_FALSE(r);
    return describe(r.error());
  };
  CHECK_THAT(try_job([](auto& k) { return k.window(global_window()).aggregate(sum_times{}); }),
             Catch::Contains("never fires") && Catch::Contains("trigger"));
  CHECK_THAT(try_job([](auto& k) { return k.window(session(0ms)).aggregate(sum_times{}); }),
             Catch::Contains("session gap must be positive"));
  CHECK_THAT(try_job([](auto& k) { return k.count_window(0).aggregate(sum_times{}); }),
             Catch::Contains("count_window"));
}

SCENARIO("an operator can keep its state in a backend of its own") {
  std::vector<event> xs;
  for (int64_t t = 0; t < 500; ++t)
    xs.push_back({static_cast<int32_t>(t % 5), t});
  auto windowed = [](job& j, std::vector<event> data, state::backend_config backend,
                     std::vector<result>& out) {
    j.source(from_container(std::move(data), [](const event& e) { return e.time; }))
        .key_by([](const event& e) { return e.key; })
        .window(session(10ms))
        .aggregate(sum_times{})
        .name("sessions")
        .state_backend(std::move(backend))
        .sink(collect(out));
  };
  GIVEN("RocksDB for the window operator of an in-memory job") {
    job j;
    std::vector<result> out;
    windowed(j, xs, state::backend_config{}.with_rocksdb(temp_dir("eddy_own_backend")), out);
    REQUIRE(j.run());
    CHECK(rows(out) == std::vector<row>{{0, 0, 505, 24'750, 100},
                                        {1, 1, 506, 24'850, 100},
                                        {2, 2, 507, 24'950, 100},
                                        {3, 3, 508, 25'050, 100},
                                        {4, 4, 509, 25'150, 100}});
  }
  GIVEN("a RocksDB directory that is a file: only that operator's backend can fail") {
    auto dir = temp_dir("eddy_own_backend_file");
    auto file = dir + "/not-a-directory";
    { std::ofstream{file} << "x"; }
    job j;
    std::vector<result> out;
    windowed(j, xs, state::backend_config{}.with_rocksdb(file), out);
    auto r = j.run();
    REQUIRE_FALSE(r);
    CHECK_THAT(describe(r.error()), Catch::Contains("sessions") && Catch::Contains("keyed state"));
  }
  GIVEN("an operator backend that is misconfigured") {
    job j;
    std::vector<result> out;
    windowed(j, xs, state::backend_config{}.with_rocksdb(""), out);
    auto r = j.run();
    REQUIRE_FALSE(r);
    CHECK_THAT(describe(r.error()),
               Catch::Contains("'sessions'") && Catch::Contains("needs a directory"));
  }
}

SCENARIO("a session record behind the watermark still joins the live session it touches") {
  // Gap 50: 200, 210 and 241 make [200, 291). Then the watermark is 240, so a record at 160
  // (its own window [160, 210) is over) still extends the live session, as in Flink; a record at
  // 100 touches no live session and is late.
  std::vector<event> xs{{1, 200}, {1, 210}, {1, 241}, {1, 160}, {1, 100}, {1, 1'000}};
  job j{job_config{}.with_threads(2).with_batch_size(1)};
  std::vector<result> out;
  j.source(from_container(xs, [](const event& e) { return e.time; }))
      .key_by([](const event& e) { return e.key; })
      .window(session(50ms))
      .on_late(late_policy::count)
      .aggregate(sum_times{})
      .sink(collect(out));
  auto report = j.run();
  REQUIRE(report);
  CHECK(rows(out) == std::vector<row>{{1, 160, 291, 811, 4}, {1, 1'000, 1'050, 1'000, 1}});
  CHECK(report->late_record_count() == 1);
}

namespace {

/// Sums times, but refuses the record at time 500.
struct picky_sum : sum_times {
  void add(const event& e, accumulator& acc) const {
    if (e.time == 500)
      throw std::runtime_error("500 is refused");
    sum_times::add(e, acc);
  }
};

} // namespace

SCENARIO("a record whose aggregate throws leaves no trace in the windows") {
  // The record at 500 would open a session of its own; its add throws, so the session must not
  // exist: 520 then opens [520, 570), not [500, 570).
  std::vector<event> xs{{1, 0}, {1, 10}, {1, 500}, {1, 520}, {1, 2'000}};
  job j{job_config{}.with_threads(2).with_batch_size(2)};
  std::vector<result> out;
  j.source(from_container(xs, [](const event& e) { return e.time; }))
      .key_by([](const event& e) { return e.key; })
      .window(session(50ms))
      .aggregate(picky_sum{})
      .sink(collect(out));
  auto report = j.run();
  REQUIRE(report);
  CHECK(rows(out) ==
        std::vector<row>{{1, 0, 60, 10, 2}, {1, 520, 570, 520, 1}, {1, 2'000, 2'050, 2'000, 1}});
  REQUIRE(report->dead_letters.size() == 1);
  CHECK_THAT(report->dead_letters[0].reason, Catch::Contains("500 is refused"));
}
