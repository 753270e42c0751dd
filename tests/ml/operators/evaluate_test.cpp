// The evaluator: figures of served predictions against the labels that came for them, the same
// whatever order the join delivers them in; expired predictions counted; a report at the end.
#include "points.hpp"

#include <eddy/ml/metrics/binary_metrics.hpp>
#include <eddy/ml/operators/await_labels.hpp>
#include <eddy/ml/operators/evaluate.hpp>
#include <eddy/operators/job.hpp>
#include <eddy/sinks/collect.hpp>
#include <eddy/sources/generator.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

using namespace eddy;

namespace {

constexpr uint64_t n = 5'000;

/// Prediction k: a score from record k's features (a fixed linear rule through a logistic), made
/// by version 1 + k / 1000.
ml::prediction prediction_at(uint64_t k) {
  auto p = test::labelled_at(k);
  double z = 3 * p.x[0] - 1.5 * p.x[1] + 0.4 * p.x[2];
  double score = 1 / (1 + std::exp(-z));
  return ml::prediction{k, score, score >= 0.5 ? 1 : 0, 1 + k / 1000, 1 + k / 1000};
}

} // namespace

SCENARIO("an evaluator's figures are those of the predictions and their labels, in any order") {
  job j{job_config{}.with_threads(2)};
  auto predictions = j.source(generator<ml::prediction>(n, prediction_at)).parallelism(2);
  // No label comes for every seventh prediction.
  auto labels = j.source(generator<ml::label>(n, [](uint64_t k) {
    return ml::label{k % 7 == 0 ? n + k : k, test::labelled_at(k).y};
  }));
  std::vector<ml::evaluation> out;
  ml::evaluate(ml::await_labels(predictions, labels).parallelism(2),
               ml::evaluation_options{}.every(1'000).whole_run_auc())
      .sink(collect(out));
  auto report = j.run();
  REQUIRE(report);
  // The same figures by hand.
  ml::binary_metrics expected;
  uint64_t expired = 0;
  for (uint64_t k = 0; k < n; ++k) {
    if (k % 7 == 0) {
      ++expired;
      continue;
    }
    expected.update(test::labelled_at(k).y, prediction_at(k).score);
  }
  auto labelled = n - expired;
  // One report per 1,000 labelled predictions, one at the end.
  REQUIRE(out.size() == labelled / 1'000 + 1);
  const auto& last = out.back();
  CHECK(last.quality.evaluated == labelled);
  CHECK(last.expired == expired);
  CHECK(last.quality.precision == Approx(expected.precision()).epsilon(1e-12));
  CHECK(last.quality.recall == Approx(expected.recall()).epsilon(1e-12));
  CHECK(last.quality.f1 == Approx(expected.f1()).epsilon(1e-12));
  CHECK(last.quality.accuracy == Approx(expected.accuracy()).epsilon(1e-12));
  CHECK(last.roc_auc == Approx(expected.roc_auc()).epsilon(1e-12));
  CHECK(last.newest_version == 5);
  // Reports count up.
  for (size_t k = 0; k + 1 < out.size(); ++k)
    CHECK(out[k].quality.evaluated == (k + 1) * 1'000);
}

SCENARIO("evaluator settings that cannot work are refused before the job starts") {
  job j;
  auto predictions = j.source(generator<ml::prediction>(10, prediction_at));
  auto labels = j.source(generator<ml::label>(10, [](uint64_t k) { return ml::label{k, 0}; }));
  ml::evaluate(ml::await_labels(predictions, labels), ml::evaluation_options{}.every(0))
      .sink([](const ml::evaluation&) {});
  auto report = j.run();
  REQUIRE(!report);
  CHECK(describe(report.error()).find("report_every is 0") != std::string::npos);
}
