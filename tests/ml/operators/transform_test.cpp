// The transformer operator: a scaler learning online through an actor gives the plain loop's
// output bit for bit; bad points are dead letters that change nothing; a crash changes nothing.
#include "../../operators/temp_dir.hpp"
#include "points.hpp"

#include <eddy/ml/features/standard_scaler.hpp>
#include <eddy/ml/operators/transform.hpp>
#include <eddy/operators/job.hpp>
#include <eddy/sinks/collect.hpp>
#include <eddy/sources/generator.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <limits>
#include <thread>
#include <vector>

using namespace eddy;
using namespace std::chrono_literals;

namespace {

constexpr uint64_t n = 5'000;

/// Point i with a defect every 1,000: a NaN, or a missing feature.
ml::point flawed_at(uint64_t i) {
  auto p = test::point_at(i);
  if (i % 1'000 == 17)
    p.x[2] = std::numeric_limits<double>::quiet_NaN();
  if (i % 1'000 == 18)
    p.x.pop_back();
  if (i % 50 == 49)
    std::this_thread::sleep_for(200us);
  return p;
}

/// The plain loop: the scaler learns and transforms the good points in order.
std::vector<ml::point> plain() {
  ml::standard_scaler scaler(test::n_features);
  std::vector<ml::point> out;
  ml::vector z;
  for (uint64_t i = 0; i < n; ++i) {
    auto p = test::point_at(i);
    if (i % 1'000 == 17 || i % 1'000 == 18)
      continue;
    REQUIRE(!scaler.learn_transform(test::features(p.x), z));
    out.push_back(ml::point{i, std::vector<double>(z.data(), z.data() + z.size())});
  }
  return out;
}

} // namespace

SCENARIO("a scaler through an actor gives the plain loop's output; bad points are dead letters") {
  auto expected = plain();
  auto run = [](job_config cfg, size_t recoveries) {
    std::vector<ml::point> out;
    job j{std::move(cfg)};
    ml::transform(j.source(generator<ml::point>(n, flawed_at)),
                  ml::standard_scaler{test::n_features})
        .name("scaler")
        .sink(collect(out));
    auto report = j.run();
    REQUIRE(report);
    CHECK(report->recoveries.size() == recoveries);
    CHECK(report->dead_letters.size() == 2 * n / 1'000);
    for (const auto& d : report->dead_letters)
      CHECK((d.reason.find("x[2] is NaN; clean or impute the record first") != std::string::npos ||
             d.reason.find("the record has 3 features, the transformer takes 4") !=
                 std::string::npos));
    return out;
  };
  WHEN("it runs without faults") {
    auto out = run(job_config{}.with_threads(2), 0);
    REQUIRE(out.size() == expected.size());
    for (size_t k = 0; k < out.size(); ++k) {
      CHECK(out[k].id == expected[k].id);
      CHECK(out[k].x == expected[k].x);
    }
  }
  WHEN("the scaler crashes mid-run") {
    auto dir = test::temp_dir("eddy_ml_transform");
    auto plan = parse_fault_plan("crash:scaler#0@after=2500");
    REQUIRE(plan);
    auto out = run(job_config{}.with_threads(2).with_checkpoints(dir, 5ms).with_faults(*plan), 1);
    REQUIRE(out.size() == expected.size());
    for (size_t k = 0; k < out.size(); ++k)
      CHECK(out[k].x == expected[k].x);
  }
}
