// The model registry operator: the newest healthy version served in order; a rollback when the
// newest falls below the threshold; the background model promoted after a drift; a pin obeyed;
// and a registry killed mid-run serving exactly what it would have without the failure.
#include "../../operators/temp_dir.hpp"
#include "points.hpp"

#include <eddy/ml/naive_bayes/naive_bayes.hpp>
#include <eddy/ml/operators/learn.hpp>
#include <eddy/ml/operators/registry.hpp>
#include <eddy/ml/operators/score.hpp>
#include <eddy/operators/job.hpp>
#include <eddy/sinks/collect.hpp>
#include <eddy/sources/generator.hpp>

#include <catch2/catch.hpp>

#include <caf/deep_to_string.hpp>

#include <chrono>
#include <cmath>
#include <map>
#include <string>
#include <thread>
#include <vector>

using namespace eddy;
using namespace std::chrono_literals;

namespace {

/// Record i with its label flipped from record `from` on, up to (not including) `to`.
ml::labelled_point flipped_at(uint64_t i, uint64_t from, uint64_t to) {
  auto p = test::labelled_at(i);
  if (i >= from && i < to)
    p.y = 1 - p.y;
  return p;
}

/// Record i with a random label (a coin, the same on every run) in [from, to): a poisoned
/// stretch that no model can predict.
ml::labelled_point noisy_at(uint64_t i, uint64_t from, uint64_t to) {
  auto p = test::labelled_at(i);
  if (i >= from && i < to)
    p.y = test::uniform_at(i, 77) > 0 ? 1 : 0;
  return p;
}

/// What a job with a registry gave: the learners' versions and the served ones.
struct served_run {
  std::vector<ml::model_version> learned;
  std::vector<ml::model_version> served;
  std::vector<ml::prediction> predictions;
  caf::expected<job_report> report = job_report{};
};

/// True when the serials of `served` are 1, 2, ... in order.
bool numbered_in_order(const std::vector<ml::model_version>& served) {
  for (size_t k = 0; k < served.size(); ++k)
    if (served[k].serial != k + 1)
      return false;
  return true;
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

/// n records, labels random in [from, to), into learner "lr" (a version every 500, rolling
/// window 500) and a registry with `opt`; the same points into two scorers behind the registry.
served_run poisoned(uint64_t n, uint64_t from, uint64_t to, ml::registry_options opt,
                    job_config cfg = job_config{}.with_threads(2), bool pace = false) {
  served_run r;
  job j{std::move(cfg)};
  auto make = [from, to, pace](uint64_t i) {
    if (pace && i % 50 == 49)
      std::this_thread::sleep_for(1ms);
    return noisy_at(i, from, to);
  };
  auto initial = ml::logistic_regression::make(test::n_features);
  auto versions = ml::learn(j.source(generator<ml::labelled_point>(n, make)).name("labelled"),
                            *initial, ml::learner_options{}.every(500).rolling_window(500))
                      .name("lr");
  versions.sink(collect(r.learned)).name("learned");
  auto served = ml::registry(versions, std::move(opt)).name("registry");
  served.sink(collect(r.served)).name("served");
  ml::score<ml::logistic_regression>(j.source(generator<ml::point>(n, test::point_at)).rebalance(),
                                     served)
      .name("scorer")
      .parallelism(2)
      .sink(collect(r.predictions));
  r.report = j.run();
  return r;
}

/// A version of a script: its model, number and rolling accuracy, an untrained model inside.
struct made {
  const char* model;
  uint64_t version;
  double accuracy;
};

/// Version i of `script` (which must outlive the job).
auto scripted(const std::vector<made>& script) {
  return [&script](uint64_t i) {
    const auto& m = script[i];
    ml::model_version v;
    v.model = m.model;
    v.version = m.version;
    v.serial = m.version;
    v.kind = ml::logistic_regression::model_kind;
    v.quality.evaluated = 10'000;
    v.quality.rolling_accuracy = m.accuracy;
    v.seal(ml::to_binary(*ml::logistic_regression::make(test::n_features)));
    return v;
  };
}

} // namespace

SCENARIO("without a threshold, a registry serves every version of its model, newest first, in "
         "serving order") {
  constexpr uint64_t n = 4'000;
  auto r = poisoned(n, 0, 0, ml::registry_options{}.serve("lr"));
  REQUIRE(r.report);
  REQUIRE(r.learned.size() == n / 500);
  REQUIRE(r.served.size() == r.learned.size());
  CHECK(numbered_in_order(r.served));
  for (size_t k = 0; k < r.served.size(); ++k) {
    CHECK(r.served[k].version == r.learned[k].version);
    CHECK(r.served[k].params == r.learned[k].params);
    CHECK(r.served[k].reason == "newest");
  }
  // Every point scored once; its serial names the version that scored it.
  REQUIRE(r.predictions.size() == n);
  for (const auto& p : r.predictions) {
    REQUIRE(p.serial >= 1);
    REQUIRE(p.serial <= r.served.size());
    CHECK(r.served[p.serial - 1].version == p.version);
    auto model = test::model_of(r.served[p.serial - 1]);
    CHECK(p.score == model.predict_proba(test::features(test::point_at(p.id).x))[1]);
  }
}

SCENARIO("the rules on versions of known quality: the newest while healthy, else the best kept "
         "one, a better background version promoted") {
  // (model, version, rolling accuracy) in the order they reach the registry.
  static const std::vector<made> script = {{"lr", 1, 0.90}, {"lr", 2, 0.70},
                                           {"lr", 3, 0.40},  // 3 is below 0.6: back to 1, the best
                                           {"lr", 4, 0.80},  // healthy: the newest again
                                           {"bg", 1, 0.92},  // the served one is healthy: kept only
                                           {"lr", 5, 0.30},  // below: bg 1 (0.92) is the best kept
                                           {"lr", 6, 0.88},  // the registry follows bg now
                                           {"bg", 2, 0.50},  // below, nothing better than bg 1 kept
                                           {"bg", 3, 0.70}}; // healthy: the newest
  auto version_at = scripted(script);
  job j{job_config{}.with_threads(2)};
  std::vector<ml::model_version> served;
  ml::registry(j.source(generator<ml::model_version>(script.size(), version_at)),
               ml::registry_options{}.serve("lr").with_background("bg").rollback_below(
                   ml::quality_metric::rolling_accuracy, 0.6))
      .sink(collect(served));
  auto report = j.run();
  REQUIRE(report);
  std::vector<std::string> got;
  for (const auto& v : served)
    got.push_back(std::to_string(v.serial) + " " + v.model + " " + std::to_string(v.version) +
                  ": " + v.reason);
  std::vector<std::string> expected = {
      "1 lr 1: newest",
      "2 lr 2: newest",
      "3 lr 1: rollback to version 1: 'lr' version 3 has rolling accuracy 0.400000, below "
      "rolling accuracy 0.600000",
      "4 lr 4: newest",
      "5 bg 1: promoted: 'lr' version 5 has rolling accuracy 0.300000, below rolling accuracy "
      "0.600000",
      "6 bg 3: newest"};
  CHECK(got == expected);
}

SCENARIO("with prefer_better, the registry follows whichever model's newest version is better "
         "by more than the margin") {
  static const std::vector<made> script = {
      {"lr", 1, 0.80},  // served
      {"bg", 1, 0.805}, // better, but within the margin
      {"lr", 2, 0.70},  // now bg 1 is better by 0.105: switch
      {"bg", 2, 0.75},  // followed: the newest
      {"lr", 3, 0.77},  // better by 0.02, within the margin of 0.05
      {"lr", 4, 0.90},  // better by 0.15: back to lr
  };
  auto version_at = scripted(script);
  job j{job_config{}.with_threads(2)};
  std::vector<ml::model_version> served;
  ml::registry(j.source(generator<ml::model_version>(script.size(), version_at)),
               ml::registry_options{}
                   .serve("lr")
                   .with_background("bg")
                   .rollback_below(ml::quality_metric::rolling_accuracy, 0.5)
                   .prefer_better(0.05))
      .sink(collect(served));
  auto report = j.run();
  REQUIRE(report);
  std::vector<std::string> got;
  for (const auto& v : served)
    got.push_back(v.model + " " + std::to_string(v.version) + ": " + v.reason);
  std::vector<std::string> expected = {
      "lr 1: newest",
      "bg 1: switched to the better model: 'bg' version 1 has rolling accuracy 0.805000, 'lr' "
      "version 2 rolling accuracy 0.700000",
      "bg 2: newest",
      "lr 4: switched to the better model: 'lr' version 4 has rolling accuracy 0.900000, 'bg' "
      "version 2 rolling accuracy 0.750000"};
  CHECK(got == expected);
}

SCENARIO("a version below the threshold is held back: the scorers keep the best earlier one until "
         "the model recovers") {
  // Records 3,000 to 4,499 carry random labels (a poisoned stretch): the versions learned in it
  // score badly on the rolling window, then the model recovers.
  constexpr uint64_t n = 10'000;
  constexpr double threshold = 0.6;
  auto opt = ml::registry_options{}.serve("lr").rollback_below(ml::quality_metric::rolling_accuracy,
                                                               threshold);
  auto r = poisoned(n, 3'000, 4'500, opt);
  REQUIRE(r.report);
  REQUIRE(r.learned.size() == n / 500);
  CHECK(numbered_in_order(r.served));
  std::map<uint64_t, const ml::model_version*> by_version;
  std::vector<uint64_t> healthy;
  for (const auto& v : r.learned) {
    by_version[v.version] = &v;
    if (v.quality.rolling_accuracy >= threshold)
      healthy.push_back(v.version);
  }
  INFO(r.learned.size() - healthy.size() << " versions below the threshold");
  REQUIRE(healthy.size() + 2 <= r.learned.size());
  // Exactly the healthy versions were served, in order, as the newest.
  std::vector<uint64_t> served;
  for (const auto& s : r.served) {
    CHECK(s.reason == "newest");
    served.push_back(s.version);
  }
  CHECK(served == healthy);
  // The model recovered: the last version served is the learner's last one.
  CHECK(r.served.back().version == r.learned.back().version);
  // No prediction was made by a version below the threshold.
  REQUIRE(r.predictions.size() == n);
  for (const auto& p : r.predictions)
    CHECK(by_version.at(p.version)->quality.rolling_accuracy >= threshold);
}

SCENARIO("after a drift in the primary model, the registry promotes the background model, which "
         "restarted at the drift") {
  // The concept flips for good at record 4,000. Naive Bayes, whose statistics remember every
  // record, is slow to follow (a logistic regression with SGD's large early steps flips its
  // weights within a few records, too few errors for any detector to call a drift).
  constexpr uint64_t n = 10'000;
  served_run r;
  job j{job_config{}.with_threads(2)};
  auto make = [](uint64_t i) { return flipped_at(i, 4'000, n); };
  auto initial = ml::gaussian_naive_bayes::make(test::n_features);
  REQUIRE(initial);
  auto labelled = j.source(generator<ml::labelled_point>(n, make)).name("labelled");
  auto lr = ml::learn(labelled, *initial,
                      ml::learner_options{}.every(500).rolling_window(500).detect_drift())
                .name("lr");
  auto fresh = ml::learn(labelled, *initial,
                         ml::learner_options{}.every(500).rolling_window(500).restart_after_drift())
                   .name("lr-fresh");
  auto versions = lr.union_with(fresh);
  versions.sink(collect(r.learned));
  ml::registry(versions, ml::registry_options{}.serve("lr").with_background("lr-fresh"))
      .name("registry")
      .sink(collect(r.served));
  r.report = j.run();
  REQUIRE(r.report);
  CHECK(numbered_in_order(r.served));
  const ml::model_version* last_lr = nullptr;
  const ml::model_version* last_fresh = nullptr;
  for (const auto& v : r.learned)
    (v.model == "lr" ? last_lr : last_fresh) = &v;
  REQUIRE(last_lr);
  REQUIRE(last_fresh);
  // Both learners found the drift; the fresh one restarted and learned the new concept.
  CHECK(last_lr->quality.drifts >= 1);
  CHECK(last_fresh->quality.drifts >= 1);
  // After the drift the restarted learner is far better than the one that remembers everything:
  // mean rolling accuracy over the versions from the one where the fresh learner restarted.
  uint64_t restarted = 0;
  for (const auto& v : r.learned)
    if (v.model == "lr-fresh" && v.quality.drifts > 0 && (restarted == 0 || v.version < restarted))
      restarted = v.version;
  REQUIRE(restarted > 0);
  double sum[2] = {0, 0};
  size_t count[2] = {0, 0};
  for (const auto& v : r.learned)
    if (v.version >= restarted) {
      int k = v.model == "lr-fresh" ? 1 : 0;
      sum[k] += v.quality.rolling_accuracy;
      ++count[k];
    }
  REQUIRE(count[0] == count[1]);
  CHECK(sum[1] / double(count[1]) > sum[0] / double(count[0]) + 0.2);
  // Before the drift the primary model is served; one promotion; then the background model's.
  size_t promotions = 0;
  for (const auto& s : r.served) {
    INFO("serial " << s.serial << ": " << s.model << " version " << s.version << ", " << s.reason);
    if (starts_with(s.reason, "promoted after a drift in 'lr'"))
      ++promotions;
    CHECK((promotions == 0 ? s.model == "lr" : s.model == "lr-fresh"));
  }
  CHECK(promotions == 1);
  CHECK(r.served.back().model == "lr-fresh");
  CHECK(r.served.back().version == last_fresh->version);
}

SCENARIO("a pinned version is served, and nothing else until unpinned") {
  constexpr uint64_t n = 3'000;
  served_run r;
  job j{job_config{}.with_threads(2)};
  auto initial = ml::logistic_regression::make(test::n_features);
  auto versions = ml::learn(j.source(generator<ml::labelled_point>(n, test::labelled_at)), *initial,
                            ml::learner_options{}.every(500))
                      .name("lr");
  versions.sink(collect(r.learned));
  auto commands = j.source(generator<ml::registry_command>(2, [](uint64_t i) {
    return i == 0 ? ml::registry_command::pin("lr", 2) : ml::registry_command::pin("other", 1);
  }));
  ml::registry(versions, commands, ml::registry_options{}.serve("lr"))
      .name("registry")
      .sink(collect(r.served));
  r.report = j.run();
  REQUIRE(r.report);
  REQUIRE(r.learned.size() == n / 500);
  CHECK(numbered_in_order(r.served));
  // Whenever the pin arrived, version 2 is served from then on and nothing after it.
  REQUIRE(!r.served.empty());
  CHECK(r.served.back().version == 2);
  CHECK(r.served.back().reason == "pinned");
  size_t pinned_at = 0;
  while (r.served[pinned_at].reason != "pinned")
    ++pinned_at;
  CHECK(pinned_at == r.served.size() - 1);
  // A pin of a model the registry does not serve is a dead letter that says so.
  REQUIRE(r.report->dead_letters.size() == 1);
  CHECK(r.report->dead_letters[0].reason.find("'other' instance 0 is neither the primary nor the "
                                              "background model") != std::string::npos);
}

SCENARIO("a registry killed mid-run serves exactly the versions, reasons and serials of a run "
         "without the failure") {
  constexpr uint64_t n = 10'000;
  auto opt =
      ml::registry_options{}.serve("lr").rollback_below(ml::quality_metric::rolling_accuracy, 0.6);
  auto clean = poisoned(n, 3'000, 4'500, opt);
  REQUIRE(clean.report);
  auto dir = test::temp_dir("eddy_ml_registry_recovery");
  auto plan = parse_fault_plan("crash:registry#0@checkpoint=3; crash:lr#0@after=6000");
  REQUIRE(plan);
  auto faulty =
      poisoned(n, 3'000, 4'500, opt,
               job_config{}.with_threads(2).with_checkpoints(dir, 10ms).with_faults(*plan), true);
  REQUIRE(faulty.report);
  CHECK(faulty.report->recoveries.size() >= 1);
  REQUIRE(faulty.served.size() == clean.served.size());
  for (size_t k = 0; k < clean.served.size(); ++k) {
    INFO("serial " << k + 1);
    CHECK(caf::deep_to_string(faulty.served[k]) == caf::deep_to_string(clean.served[k]));
  }
  CHECK(faulty.predictions.size() == n);
}

SCENARIO("registry settings that cannot work are refused before the job starts") {
  auto refusal = [](ml::registry_options opt) {
    job j;
    auto initial = ml::logistic_regression::make(test::n_features);
    auto versions =
        ml::learn(j.source(generator<ml::labelled_point>(10, test::labelled_at)), *initial);
    ml::registry(versions, std::move(opt)).sink([](const ml::model_version&) {});
    auto report = j.run();
    return report ? std::string{} : describe(report.error());
  };
  CHECK(refusal(ml::registry_options{}.keep_last(0)).find("keep_last is 0") != std::string::npos);
  CHECK(refusal(ml::registry_options{}.serve("lr").with_background("lr"))
            .find("the background model is the primary model ('lr')") != std::string::npos);
  CHECK(refusal(ml::registry_options{}.rollback_below(ml::quality_metric::f1, INFINITY))
            .find("the threshold is infinite") != std::string::npos);
  CHECK(refusal(ml::registry_options{}.serve("lr").prefer_better())
            .find("prefer_better needs a background model") != std::string::npos);
}
