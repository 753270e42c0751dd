// Watermarks and end of stream as a task handles them.
#include <eddy/operators/job.hpp>
#include <eddy/sinks/collect.hpp>
#include <eddy/sources/container_source.hpp>
#include <eddy/sources/generator.hpp>

#include <catch2/catch.hpp>

using namespace eddy;

namespace {

struct observation {
  int64_t time = 0;
  int64_t watermark = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, observation& x) {
  return f(x.time, x.watermark);
}

} // namespace

SCENARIO("an operator with several inputs forwards the minimum watermark") {
  // Two in-order sources, one fast and one paced: with the minimum no record is ever behind the
  // watermark; with any other choice the paced source's records would arrive late.
  job j{job_config{}.with_threads(2).with_batch_size(50)};
  auto fast = j.source(generator<int64_t>(5'000, [](uint64_t i) {
                         return int64_t(i);
                       }).with_event_time([](const int64_t& x) { return x; }));
  auto slow = j.source(generator<int64_t>(5'000, [](uint64_t i) {
                         return int64_t(i);
                       }).with_event_time([](const int64_t& x) {
                           return x;
                         }).at_rate(100'000));
  std::vector<observation> seen;
  std::vector<int64_t> final_watermark;
  fast.union_with(slow)
      .process<observation>(
          [](const int64_t& x, collector<observation>& out) {
            out.emit({x, out.watermark()});
          },
          [](collector<observation>& out) {
            out.emit({-1, out.watermark()});
          })
      .sink(collect(seen));
  REQUIRE(j.run());
  REQUIRE(seen.size() == 10'001);
  size_t late = 0;
  int64_t max_wm = min_time;
  for (const auto& o : seen) {
    if (o.time < 0) {
      // The end function runs before event time closes, at the last watermark of both inputs:
      // the largest time (4,999) minus one.
      CHECK(o.watermark == 4'998);
      continue;
    }
    if (o.time <= o.watermark)
      ++late;
    max_wm = std::max(max_wm, o.watermark);
  }
  CHECK(late == 0);
  CHECK(max_wm > 0); // watermarks did flow during the run
}

SCENARIO("a job finishes once every source is exhausted, with a report") {
  job j{job_config{}.with_threads(2)};
  std::vector<int> a, b;
  j.source(from_container(std::vector<int>{})).sink(collect(a));
  j.source(from_container(std::vector<int>{1, 2, 3})).sink(collect(b));
  auto report = j.run();
  REQUIRE(report);
  CHECK(a.empty());
  CHECK(b.size() == 3);
  CHECK(report->metrics.size() == 4);
}

namespace {

/// Emits `n` timed records, then stalls (without ending) for `stall` before it ends.
struct stalling_source {
  using value_type = int64_t;
  int64_t n = 10;
  std::chrono::milliseconds stall{400};
  int64_t next = 0;
  bool stalled = false;
  bool timed() const { return true; }
  produce_result produce(source_context<int64_t>& ctx) {
    if (next < n) {
      for (; next < n; ++next)
        ctx.emit(next, next);
      ctx.watermark(n - 1);
      return {produce_result::wait, stall};
    }
    return {produce_result::done, {}};
  }
};

} // namespace

SCENARIO("an idle input stops holding the watermark back after the idle timeout") {
  for (bool with_idleness : {false, true}) {
    job_config cfg = job_config{}.with_threads(2).with_batch_size(20);
    if (with_idleness)
      cfg.with_idle_timeout(std::chrono::milliseconds{50});
    job j{cfg};
    auto stalled = j.source(stalling_source{});
    // The active source runs for about 300 ms, all while the other one is stalled.
    auto active = j.source(generator<int64_t>(3'000, [](uint64_t i) {
                             return int64_t(i);
                           }).with_event_time([](const int64_t& x) {
                               return x;
                             }).at_rate(10'000));
    std::vector<observation> seen;
    stalled.union_with(active)
        .process<observation>([](const int64_t& x, collector<observation>& out) {
          out.emit({x, out.watermark()});
        })
        .sink(collect(seen));
    REQUIRE(j.run());
    int64_t max_wm = min_time;
    for (const auto& o : seen)
      max_wm = std::max(max_wm, o.watermark);
    INFO("idle timeout " << (with_idleness ? "50 ms" : "off"));
    if (with_idleness)
      CHECK(max_wm > 1'000); // event time moved on with the active input
    else
      CHECK(max_wm <= 9); // the stalled input held it at its own watermark
  }
}
