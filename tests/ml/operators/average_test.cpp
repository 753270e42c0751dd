// The averaging operator: two learner replicas on halves of a stream, their versions merged round
// by round into the average of their parameters, whatever order they arrive in; one more round
// at the end; an averager killed mid-run merging the same rounds.
#include "../../operators/temp_dir.hpp"
#include "points.hpp"

#include <eddy/ml/operators/average.hpp>
#include <eddy/ml/operators/learn.hpp>
#include <eddy/operators/job.hpp>
#include <eddy/sinks/collect.hpp>
#include <eddy/sources/generator.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <thread>
#include <vector>

using namespace eddy;
using namespace std::chrono_literals;

namespace {

struct averaged_run {
  std::vector<ml::model_version> learned;
  std::vector<ml::model_version> merged;
  caf::expected<job_report> report = job_report{};
};

/// n labelled points, rebalanced over two learner replicas ("lr", a version every 500 updates),
/// their versions averaged.
averaged_run run(uint64_t n, job_config cfg, bool pace = false) {
  averaged_run r;
  job j{std::move(cfg)};
  auto make = [pace](uint64_t i) {
    if (pace && i % 50 == 49)
      std::this_thread::sleep_for(1ms);
    return test::labelled_at(i);
  };
  auto initial = ml::logistic_regression::make(test::n_features);
  auto versions = ml::learn(j.source(generator<ml::labelled_point>(n, make)).rebalance(), *initial,
                            ml::learner_options{}.every(500))
                      .name("lr")
                      .parallelism(2);
  versions.sink(collect(r.learned));
  ml::average<ml::logistic_regression>(versions, ml::average_options{}.of(2).merged_as("lr-avg"))
      .name("averager")
      .sink(collect(r.merged));
  r.report = j.run();
  return r;
}

/// Checks that merged round k is the average of the replicas' versions k (the last round: of
/// their last versions).
void check_rounds(const averaged_run& r, uint64_t n) {
  std::map<std::pair<uint32_t, uint64_t>, ml::logistic_regression> replica;
  uint64_t last[2] = {0, 0};
  for (const auto& v : r.learned) {
    replica[{v.instance, v.version}] = test::model_of(v);
    last[v.instance] = std::max(last[v.instance], v.version);
  }
  REQUIRE(!r.merged.empty());
  for (size_t k = 0; k < r.merged.size(); ++k) {
    const auto& m = r.merged[k];
    INFO("round " << k + 1);
    CHECK(m.version == k + 1);
    CHECK(m.model == "lr-avg");
    bool final_round = k + 1 == r.merged.size();
    auto a = replica.at({0, final_round ? last[0] : m.version});
    auto b = replica.at({1, final_round ? last[1] : m.version});
    auto expected = ml::logistic_regression::average({&a, &b});
    REQUIRE(expected);
    CHECK(test::model_of(m).same_state(*expected));
  }
  // The last round has learned every record.
  CHECK(r.merged.back().updates == n);
}

} // namespace

SCENARIO("learner replicas' versions are averaged round by round, and once more at the end") {
  constexpr uint64_t n = 6'250;
  auto r = run(n, job_config{}.with_threads(2));
  REQUIRE(r.report);
  CHECK(r.report->dead_letters.empty());
  check_rounds(r, n);
}

SCENARIO("an averager killed mid-run merges the same rounds") {
  constexpr uint64_t n = 8'000;
  auto dir = test::temp_dir("eddy_ml_average");
  auto plan = parse_fault_plan("crash:averager#0@checkpoint=3");
  REQUIRE(plan);
  auto r =
      run(n, job_config{}.with_threads(2).with_checkpoints(dir, 10ms).with_faults(*plan), true);
  REQUIRE(r.report);
  CHECK(r.report->recoveries.size() == 1);
  check_rounds(r, n);
}

SCENARIO("an average of no replicas is refused before the job starts") {
  job j;
  auto initial = ml::logistic_regression::make(test::n_features);
  auto versions =
      ml::learn(j.source(generator<ml::labelled_point>(10, test::labelled_at)), *initial);
  ml::average<ml::logistic_regression>(versions, ml::average_options{}.of(0))
      .sink([](const ml::model_version&) {});
  auto report = j.run();
  REQUIRE(!report);
  CHECK(describe(report.error()).find("0 replicas") != std::string::npos);
}

SCENARIO("replicas whose versions start later than 1 are averaged from their lowest version") {
  // Two replicas' versions 5 and 6 (as after a restart from a savepoint taken before the
  // averager was added), arriving interleaved.
  auto a = ml::logistic_regression::make(test::n_features);
  auto b = ml::logistic_regression::make(test::n_features);
  REQUIRE(a);
  REQUIRE(b);
  for (uint64_t i = 0; i < 200; ++i) {
    auto p = test::labelled_at(i);
    REQUIRE(!(i % 2 == 0 ? *a : *b).learn(test::features(p.x), p.y));
  }
  auto version_at = [a = *a, b = *b](uint64_t i) {
    ml::model_version v;
    v.model = "lr";
    v.instance = static_cast<uint32_t>(i % 2);
    v.version = 5 + i / 2;
    v.serial = v.version;
    v.updates = 100;
    v.kind = ml::logistic_regression::model_kind;
    v.seal(ml::to_binary(i % 2 == 0 ? a : b));
    return v;
  };
  job j{job_config{}.with_threads(2)};
  std::vector<ml::model_version> merged;
  ml::average<ml::logistic_regression>(j.source(generator<ml::model_version>(4, version_at)))
      .sink(collect(merged));
  auto report = j.run();
  REQUIRE(report);
  REQUIRE(merged.size() == 2);
  CHECK(merged[0].version == 5);
  CHECK(merged[1].version == 6);
  auto expected = ml::logistic_regression::average({&*a, &*b});
  REQUIRE(expected);
  CHECK(test::model_of(merged[1]).same_state(*expected));
}
