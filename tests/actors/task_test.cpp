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
      CHECK(o.watermark == max_time); // the end of every input closes everything
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
