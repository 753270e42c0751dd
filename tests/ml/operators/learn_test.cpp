// The learner operator: test-then-train through an actor, versions published on schedule with
// the plain loop's parameters and figures, bad records dead-lettered without touching the model,
// configuration mistakes refused before the job starts.
#include "points.hpp"

#include <eddy/ml/operators/learn.hpp>
#include <eddy/operators/job.hpp>
#include <eddy/sinks/collect.hpp>
#include <eddy/sources/generator.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <limits>
#include <string>
#include <vector>

using namespace eddy;

namespace {

/// The learner's figures, computed by hand.
struct plain_counts {
  uint64_t tp = 0, fp = 0, tn = 0, fn = 0;

  void update(int y, double p) {
    bool positive = p >= 0.5;
    ++(y == 1 ? (positive ? tp : fn) : (positive ? fp : tn));
  }
  [[nodiscard]] double accuracy() const { return double(tp + tn) / double(tp + fp + tn + fn); }
};

/// Record i, with a defect every 1,000 records: a NaN, three features, label 2, an infinity; and
/// values so large (1e308) that the model refuses the update as an overflow.
ml::labelled_point flawed_at(uint64_t i) {
  auto p = test::labelled_at(i);
  switch (i % 1'000) {
  case 7:
    p.x[1] = std::numeric_limits<double>::quiet_NaN();
    break;
  case 8:
    p.x.pop_back();
    break;
  case 9:
    p.y = 2;
    break;
  case 10:
    p.x[3] = -std::numeric_limits<double>::infinity();
    break;
  case 11:
    std::fill(p.x.begin(), p.x.end(), 1e308);
    break;
  default:
    break;
  }
  return p;
}

/// A learner named "lr" on n records made by `make`: its versions and the job's report.
struct learned {
  std::vector<ml::model_version> versions;
  caf::expected<job_report> report = job_report{};
};

learned learn_from(uint64_t n, ml::labelled_point (*make)(uint64_t),
                   const ml::logistic_regression& initial, ml::learner_options opt) {
  learned r;
  job j{job_config{}.with_threads(2)};
  ml::learn(j.source(generator<ml::labelled_point>(n, make)), initial, std::move(opt))
      .name("lr")
      .sink(collect(r.versions));
  r.report = j.run();
  return r;
}

} // namespace

SCENARIO("a learner publishes a version every N records, with the plain loop's model and "
         "figures") {
  constexpr uint64_t n = 5'500;
  auto initial = ml::logistic_regression::make(test::n_features);
  REQUIRE(initial);
  auto run = learn_from(n, test::labelled_at, *initial,
                        ml::learner_options{}.every(1'000).rolling_window(500));
  auto& versions = run.versions;
  auto& report = run.report;
  REQUIRE(report);
  // Every 1,000 records and once at the end.
  REQUIRE(versions.size() == 6);
  for (size_t k = 0; k < versions.size(); ++k) {
    CHECK(versions[k].model == "lr");
    CHECK(versions[k].version == k + 1);
    CHECK(versions[k].updates == std::min<uint64_t>(1'000 * (k + 1), n));
    CHECK(versions[k].kind == ml::logistic_regression::model_kind);
  }
  // The plain loop: each version holds its parameters at that update count, bit for bit, and
  // its figures.
  auto model = *initial;
  plain_counts counts;
  ml::binary_metrics rolling{0.5, 500};
  size_t next = 0;
  for (uint64_t i = 0; i < n; ++i) {
    auto p = test::labelled_at(i);
    auto x = test::features(p.x);
    double score = model.predict_proba(x)[1];
    counts.update(p.y, score);
    rolling.update(p.y, score);
    REQUIRE(!model.learn(x, p.y));
    if ((i + 1) % 1'000 == 0 || i + 1 == n) {
      INFO("version " << versions[next].version);
      auto published = test::model_of(versions[next]);
      CHECK(published.same_state(model));
      const auto& q = versions[next].quality;
      CHECK(q.evaluated == i + 1);
      CHECK(q.accuracy == counts.accuracy());
      CHECK(q.rolling_f1 == rolling.f1());
      CHECK(q.rolling_roc_auc == rolling.roc_auc());
      ++next;
    }
  }
  // It learned something: well above the 55 % of always saying "0" (10 % of labels are noise).
  CHECK(versions.back().quality.accuracy > 0.7);
}

SCENARIO("bad records go to the dead-letter output with the reason, and the model never sees "
         "them") {
  constexpr uint64_t n = 4'000;
  auto initial = ml::logistic_regression::make(test::n_features);
  REQUIRE(initial);
  auto run = learn_from(n, flawed_at, *initial, {});
  auto& versions = run.versions;
  auto& report = run.report;
  REQUIRE(report);
  auto count = [&](const std::string& words) -> uint64_t {
    return std::count_if(report->dead_letters.begin(), report->dead_letters.end(),
                         [&](const dead_letter& d) {
                           return d.reason.find(words) != std::string::npos &&
                                  d.origin.find("lr") != std::string::npos;
                         });
  };
  CHECK(count("feature 1 is NaN") == n / 1'000);
  CHECK(count("the record has 3 features, the model takes 4") == n / 1'000);
  CHECK(count("label 2 is not 0 or 1") == n / 1'000);
  CHECK(count("feature 3 is infinite") == n / 1'000);
  // The final model is the plain loop's over the other records, each update the model refuses
  // (an overflow) left out, and finite.
  auto model = *initial;
  uint64_t refused = 0;
  for (uint64_t i = 0; i < n; ++i) {
    auto p = flawed_at(i);
    if (auto k = i % 1'000; k >= 7 && k <= 10)
      continue;
    if (model.learn(test::features(p.x), p.y))
      ++refused;
  }
  REQUIRE(refused > 0);
  CHECK(count("overflow") == refused);
  CHECK(report->dead_letters.size() == 4 * n / 1'000 + refused);
  REQUIRE(!versions.empty());
  auto last = test::model_of(versions.back());
  CHECK(last.same_state(model));
  CHECK(last.weights().allFinite());
  CHECK(last.intercepts().allFinite());
  CHECK(versions.back().updates == n - 4 * n / 1'000 - refused);
}

SCENARIO("a learner that cannot work is refused before the job starts, saying why") {
  auto run = [](const ml::logistic_regression& initial, ml::learner_options opt) {
    job j{job_config{}};
    std::vector<ml::model_version> versions;
    ml::learn(j.source(generator<ml::labelled_point>(10, test::labelled_at)), initial, opt)
        .sink(collect(versions));
    auto report = j.run();
    CHECK(versions.empty());
    return report ? std::string{} : describe(report.error());
  };
  ml::logistic_regression_config three;
  three.n_classes = 3;
  auto multiclass = ml::logistic_regression::make(test::n_features, three);
  REQUIRE(multiclass);
  CHECK(run(*multiclass, {}).find("3 classes; the learner operator takes binary classifiers") !=
        std::string::npos);
  auto binary = ml::logistic_regression::make(test::n_features);
  REQUIRE(binary);
  CHECK(run(*binary, ml::learner_options{}.every(0)).find("publish_every is 0") !=
        std::string::npos);
  CHECK(run(ml::logistic_regression{}, {}).find("no features") != std::string::npos);
  CHECK(run(*binary, ml::learner_options{}.rolling_window(0)).find("rolling window is 0") !=
        std::string::npos);
}
