// Keyed sliding and tumbling windows: closed-form results on both state backends, invariance
// under parallelism, batching, credit and arrival order, late data that never vanishes, and
// late firings within the allowed lateness.
#include "temp_dir.hpp"
#include "window_fixtures.hpp"

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

using namespace eddy::test;

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

SCENARIO("late records go, as they are, to the side output the user takes by its tag") {
  std::vector<int64_t> late{5, 150, 420, 640, 998};
  // Batches of one record and one credit: the side output's credits must find their channels.
  job j{job_config{}.with_threads(2).with_batch_size(1).with_credit(1)};
  std::vector<result> out;
  std::vector<event> late_out;
  output_tag<event> late_tag{"late"};
  auto counts =
      j.source(from_container(with_late_records(late), [](const event& e) { return e.time; }))
          .key_by([](const event& e) { return e.key; })
          .window(tumbling(100ms))
          .side_output_late_data(late_tag)
          .aggregate(sum_times{})
          .parallelism(2);
  counts.sink(collect(out));
  counts.side_output(late_tag)
      .map([](const event& e) { return e; })
      .parallelism(3)
      .sink(collect(late_out));
  auto report = j.run();
  REQUIRE(report);
  CHECK(report->dead_letters.empty());
  std::vector<int64_t> got;
  for (const auto& e : late_out)
    got.push_back(e.time);
  std::sort(got.begin(), got.end());
  CHECK(got == std::vector<int64_t>{5, 150, 420, 640});
  CHECK(report->late_record_count() == 4);
  int64_t counted = 0;
  for (const auto& r : out)
    counted += r.value.count;
  CHECK(counted == 2'000 + 1);
}

SCENARIO("a side output nobody takes, or one never declared, is refused before the job starts") {
  std::vector<result> out;
  output_tag<event> late_tag{"late"};
  GIVEN("late data sent to a side output that no stream takes") {
    job j;
    j.source(from_container(std::vector<event>{{1, 1}}, [](const event& e) { return e.time; }))
        .key_by([](const event& e) { return e.key; })
        .window(tumbling(100ms))
        .side_output_late_data(late_tag)
        .aggregate(sum_times{})
        .name("counts")
        .sink(collect(out));
    auto report = j.run();
    REQUIRE_FALSE(report);
    CHECK_THAT(describe(report.error()), Catch::Contains("'late'") && Catch::Contains("counts") &&
                                             Catch::Contains("never consumed"));
  }
  GIVEN("a side output taken from an operator that has none") {
    job j;
    std::vector<event> late_out;
    auto counts =
        j.source(from_container(std::vector<event>{{1, 1}}, [](const event& e) { return e.time; }))
            .key_by([](const event& e) { return e.key; })
            .window(tumbling(100ms))
            .aggregate(sum_times{})
            .name("counts");
    counts.sink(collect(out));
    counts.side_output(late_tag).sink(collect(late_out));
    auto report = j.run();
    REQUIRE_FALSE(report);
    CHECK_THAT(describe(report.error()), Catch::Contains("no side output 'late'") &&
                                             Catch::Contains("side_output_late_data"));
  }
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
