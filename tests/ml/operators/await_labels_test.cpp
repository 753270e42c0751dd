// await_labels: points and predictions wait in keyed state for labels that come later (or
// earlier), by record id within a bound of event time; those whose label never comes expire and
// come out marked so; a join instance killed mid-run changes nothing.
#include "../../operators/temp_dir.hpp"
#include "points.hpp"

#include <eddy/ml/operators/await_labels.hpp>
#include <eddy/operators/job.hpp>
#include <eddy/sinks/collect.hpp>
#include <eddy/sources/container_source.hpp>
#include <eddy/sources/generator.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

using namespace eddy;
using namespace std::chrono_literals;

namespace {

constexpr uint64_t n = 4'000;

/// Label record k: the label of point k, 20 ms of event time after it; none comes for points
/// with k % 10 == 3 (record k carries the label of a point that does not exist instead).
ml::label label_at(uint64_t k) {
  if (k % 10 == 3)
    return ml::label{n + k, 1};
  return ml::label{k, test::labelled_at(k).y};
}

timestamp label_time(const ml::label& l) {
  return static_cast<timestamp>(l.id >= n ? l.id - n : l.id) + 20;
}

struct joined_run {
  std::vector<ml::with_label<ml::point>> out;
  caf::expected<job_report> report = job_report{};
};

/// Points (event time = id) and labels into await_labels with `bound`, two join instances.
joined_run join(timestamp bound, job_config cfg = job_config{}.with_threads(2), bool pace = false) {
  joined_run r;
  job j{std::move(cfg)};
  auto points = j.source(generator<ml::point>(n, [pace](uint64_t i) {
                           if (pace && i % 50 == 49)
                             std::this_thread::sleep_for(1ms);
                           return test::point_at(i);
                         }).with_event_time([](const ml::point& p) {
                   return static_cast<timestamp>(p.id);
                 })).name("points");
  auto labels =
      j.source(generator<ml::label>(n, label_at).with_event_time(label_time)).name("labels");
  ml::await_labels(points, labels, ml::label_wait{}.within(bound))
      .name("join")
      .parallelism(2)
      .sink(collect(r.out));
  r.report = j.run();
  return r;
}

/// Every point came out once: with its own label, or unlabelled exactly when none came for it.
void check_joined(const joined_run& r) {
  REQUIRE(r.out.size() == n);
  std::vector<int> seen(n, 0);
  size_t wrong = 0;
  for (const auto& x : r.out) {
    REQUIRE(x.item.id < n);
    ++seen[x.item.id];
    auto expected = test::labelled_at(x.item.id);
    bool has_label = x.item.id % 10 != 3;
    if (x.labelled != has_label || x.item.x != expected.x || (has_label && x.y != expected.y))
      ++wrong;
  }
  CHECK(wrong == 0);
  CHECK(std::count(seen.begin(), seen.end(), 1) == static_cast<long>(n));
}

} // namespace

SCENARIO("points wait for their labels, in either order of arrival; those whose label never "
         "comes expire and come out unlabelled") {
  auto r = join(50);
  REQUIRE(r.report);
  check_joined(r);
  CHECK(r.report->dead_letters.empty());
}

SCENARIO("a join instance killed mid-run: every point still comes out once, with the label it "
         "would have had") {
  auto dir = test::temp_dir("eddy_ml_await_labels");
  auto plan = parse_fault_plan("crash:join#1@after=1000");
  REQUIRE(plan);
  auto r =
      join(50, job_config{}.with_threads(2).with_checkpoints(dir, 10ms).with_faults(*plan), true);
  REQUIRE(r.report);
  CHECK(r.report->recoveries.size() == 1);
  check_joined(r);
}

SCENARIO("labelled() gives a learner the points whose label came") {
  job j{job_config{}.with_threads(2)};
  auto points = j.source(generator<ml::point>(100, test::point_at));
  auto labels = j.source(generator<ml::label>(100, [](uint64_t k) {
    return ml::label{k % 2 == 0 ? k : 1'000 + k, test::labelled_at(k).y};
  }));
  std::vector<ml::labelled_point> out;
  ml::labelled(ml::await_labels(points, labels)).sink(collect(out));
  auto report = j.run();
  REQUIRE(report);
  REQUIRE(out.size() == 50);
  for (const auto& p : out) {
    CHECK(p.id % 2 == 0);
    auto expected = test::labelled_at(p.id);
    CHECK(p.x == expected.x);
    CHECK(p.y == expected.y);
  }
}

SCENARIO("a second record with the id of one still waiting sends the first out unlabelled") {
  job j{job_config{}.with_threads(2)};
  auto points =
      j.source(from_container(std::vector<ml::point>{test::point_at(1), test::point_at(1)}));
  auto labels = j.source(from_container(std::vector<ml::label>{ml::label{1, 1}}));
  std::vector<ml::with_label<ml::point>> out;
  ml::await_labels(points, labels).sink(collect(out));
  auto report = j.run();
  REQUIRE(report);
  // Whichever point the label met, each point came out once: one labelled, one not.
  REQUIRE(out.size() == 2);
  CHECK(out[0].labelled != out[1].labelled);
}
