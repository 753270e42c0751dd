// The scorer operator with a learner in front: every point scored once, by the version its
// prediction names; a default model, a bounded wait for the first version, refused versions;
// and the learner and a scorer killed mid-run changing nothing a prediction says.
#include "../../operators/temp_dir.hpp"
#include "points.hpp"

#include <eddy/ml/neural_network/mlp.hpp>
#include <eddy/ml/operators/await_labels.hpp>
#include <eddy/ml/operators/evaluate.hpp>
#include <eddy/ml/operators/learn.hpp>
#include <eddy/ml/operators/score.hpp>
#include <eddy/operators/job.hpp>
#include <eddy/sinks/collect.hpp>
#include <eddy/sources/generator.hpp>

#include <catch2/catch.hpp>

#include <caf/deep_to_string.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace eddy;
using namespace std::chrono_literals;

namespace {

/// What a job of the learner and two scorers gave.
struct run_result {
  std::vector<ml::model_version> versions;
  std::vector<ml::prediction> predictions;
  caf::expected<job_report> report = job_report{};
};

/// n labelled points into a learner (a version every 500), the same points unlabelled into two
/// scorers. Both sources pause 1 ms every 50 records, so that checkpoints every 10 ms fall within
/// the run.
template <class Model = ml::logistic_regression>
run_result learn_and_score(uint64_t n, job_config cfg, const Model& initial) {
  run_result r;
  job j{std::move(cfg)};
  auto labelled =
      j.source(generator<ml::labelled_point>(n, test::paced(test::labelled_at))).name("labelled");
  auto versions = ml::learn(labelled, initial, ml::learner_options{}.every(500)).name("lr");
  versions.sink(collect(r.versions)).name("versions");
  auto points = j.source(generator<ml::point>(n, test::paced(test::point_at))).name("points");
  ml::score<Model>(points.rebalance(), versions)
      .name("scorer")
      .parallelism(2)
      .sink(collect(r.predictions))
      .name("predictions");
  r.report = j.run();
  return r;
}

run_result learn_and_score(uint64_t n, job_config cfg) {
  return learn_and_score(n, std::move(cfg), *ml::logistic_regression::make(test::n_features));
}

/// Checks that each of the n points was scored once, by the version its prediction names (0:
/// `fallback`), as that model scores it: exactly, or within `margin` (a model that scores
/// batches as matrices sums in another order than for one record).
template <class Model = ml::logistic_regression>
void check_predictions(const run_result& r, uint64_t n, const Model* fallback = nullptr,
                       double margin = 0.0) {
  std::map<uint64_t, Model> models;
  for (const auto& v : r.versions)
    models.emplace(v.version, test::model_of<Model>(v));
  if (fallback)
    models.emplace(0, *fallback);
  REQUIRE(r.predictions.size() == n);
  std::vector<bool> seen(n, false);
  size_t wrong = 0;
  for (const auto& p : r.predictions) {
    REQUIRE(p.id < n);
    CHECK(!seen[p.id]);
    seen[p.id] = true;
    auto m = models.find(p.version);
    REQUIRE(m != models.end());
    auto proba = m->second.predict_proba(test::features(test::point_at(p.id).x));
    if (std::abs(p.score - proba[1]) > margin || p.label != (p.score >= 0.5 ? 1 : 0))
      ++wrong;
  }
  CHECK(wrong == 0);
}

} // namespace

SCENARIO("every point is scored once, by the version its prediction names") {
  constexpr uint64_t n = 6'000;
  auto r = learn_and_score(n, job_config{}.with_threads(2));
  REQUIRE(r.report);
  REQUIRE(r.versions.size() == n / 500);
  check_predictions(r, n);
  // No default model: nothing was scored before the first version.
  CHECK(std::none_of(r.predictions.begin(), r.predictions.end(),
                     [](const ml::prediction& p) { return p.version == 0; }));
  CHECK(r.report->dead_letters.empty());
}

SCENARIO("the learner and a scorer killed mid-run: the same versions, and every point scored once "
         "by the version it names") {
  constexpr uint64_t n = 8'000;
  auto clean = learn_and_score(n, job_config{}.with_threads(2));
  REQUIRE(clean.report);
  auto dir = test::temp_dir("eddy_ml_learn_and_score");
  // The learner crashes right after taking its snapshot of checkpoint 3, so it goes back to a
  // checkpoint with state in it, never to the start; a scorer halfway through its points.
  auto plan = parse_fault_plan("crash:lr#0@checkpoint=3; crash:scorer#1@after=2000");
  REQUIRE(plan);
  auto faulty = learn_and_score(
      n, job_config{}.with_threads(2).with_checkpoints(dir, 10ms).with_faults(*plan));
  REQUIRE(faulty.report);
  // Both crashed (a crash while the other recovered is covered by the same recovery), and the
  // learner's recovery went back to a checkpoint (the scorer's does too unless the machine is so
  // slow that none completed before its crash).
  std::string story;
  for (const auto& f : faulty.report->faults)
    story += "fault: " + f + "\n";
  size_t failures = 0;
  for (const auto& rec : faulty.report->recoveries) {
    failures += 1 + rec.also.size();
    story +=
        "recovery from checkpoint " + std::to_string(rec.from_checkpoint) + ": " + rec.cause + "\n";
    if (rec.cause.find("lr#0") != std::string::npos)
      CHECK(rec.from_checkpoint > 0);
  }
  INFO(story);
  CHECK(failures == 2);
  // The learner went on from its snapshot: the same versions, parameters and figures bit for
  // bit, each once.
  REQUIRE(faulty.versions.size() == clean.versions.size());
  for (size_t k = 0; k < clean.versions.size(); ++k) {
    INFO("version " << k + 1);
    CHECK(caf::deep_to_string(faulty.versions[k]) == caf::deep_to_string(clean.versions[k]));
  }
  check_predictions(faulty, n);
}

SCENARIO("an MLP learner and its scorers killed mid-run: the same versions bit for bit, every "
         "point scored once, in batches, by the version it names") {
  constexpr uint64_t n = 6'000;
  ml::mlp_config cfg;
  cfg.hidden = {8};
  cfg.learning_rate = 0.05;
  cfg.batch_size = 16; // 500 is not a multiple: versions are published with records kept
  auto initial = ml::mlp_classifier::make(test::n_features, cfg);
  REQUIRE(initial);
  auto clean = learn_and_score(n, job_config{}.with_threads(2), *initial);
  REQUIRE(clean.report);
  REQUIRE(clean.versions.size() == n / 500);
  check_predictions<ml::mlp_classifier>(clean, n, nullptr, 1e-12);
  // It learned: the last version's rolling accuracy is well above the 55 % of always "0".
  CHECK(clean.versions.back().quality.accuracy > 0.7);
  auto dir = test::temp_dir("eddy_ml_mlp_learn_and_score");
  auto plan = parse_fault_plan("crash:lr#0@checkpoint=3; crash:scorer#0@after=2500");
  REQUIRE(plan);
  auto faulty = learn_and_score(
      n, job_config{}.with_threads(2).with_checkpoints(dir, 10ms).with_faults(*plan), *initial);
  REQUIRE(faulty.report);
  CHECK(faulty.report->faults.size() == 2);
  REQUIRE(faulty.versions.size() == clean.versions.size());
  for (size_t k = 0; k < clean.versions.size(); ++k) {
    INFO("version " << k + 1);
    CHECK(faulty.versions[k].params == clean.versions[k].params);
    CHECK(caf::deep_to_string(faulty.versions[k]) == caf::deep_to_string(clean.versions[k]));
  }
  check_predictions<ml::mlp_classifier>(faulty, n, nullptr, 1e-12);
  CHECK(faulty.report->dead_letters.empty());
}

SCENARIO("a default model scores until the first version arrives") {
  constexpr uint64_t n = 3'000;
  // A default model trained offline on other records.
  auto trained = ml::logistic_regression::make(test::n_features);
  REQUIRE(trained);
  for (uint64_t i = 100'000; i < 100'500; ++i) {
    auto p = test::labelled_at(i);
    REQUIRE(!trained->learn(test::features(p.x), p.y));
  }
  // No point is kept: without the default model, a point before the first version would go to
  // the dead letters instead of being scored.
  auto serving =
      ml::scorer_options<ml::logistic_regression>{}.with_default(*trained).buffer_up_to(0);
  auto run = [&](uint64_t labelled) {
    job j{job_config{}.with_threads(2)};
    run_result r;
    auto initial = ml::logistic_regression::make(test::n_features);
    auto versions = ml::learn(j.source(generator<ml::labelled_point>(labelled, test::labelled_at)),
                              *initial, ml::learner_options{}.every(1'000));
    versions.sink(collect(r.versions));
    ml::score(j.source(generator<ml::point>(n, test::point_at)), versions, serving)
        .sink(collect(r.predictions));
    r.report = j.run();
    return r;
  };
  WHEN("the learner never publishes") {
    auto r = run(0);
    REQUIRE(r.report);
    CHECK(r.report->dead_letters.empty());
    check_predictions(r, n, &*trained);
    CHECK(std::all_of(r.predictions.begin(), r.predictions.end(),
                      [](const ml::prediction& p) { return p.version == 0; }));
  }
  WHEN("it publishes while the points are scored") {
    auto r = run(n);
    REQUIRE(r.report);
    CHECK(r.report->dead_letters.empty());
    check_predictions(r, n, &*trained);
  }
}

SCENARIO("a scorer replaced after its learner finished serves the model of its snapshot") {
  // The learner publishes its versions in the first few milliseconds and finishes; the points
  // keep coming for about 160 ms. A scorer replica crashes right after its snapshot of checkpoint
  // 5: no version comes after the checkpoint it goes back to, so only the model in its snapshot
  // can score the rest (without it, the points would wait and end as dead letters).
  constexpr uint64_t n = 8'000;
  auto dir = test::temp_dir("eddy_ml_scorer_restore");
  auto plan = parse_fault_plan("crash:scorer#1@checkpoint=5");
  REQUIRE(plan);
  job j{job_config{}.with_threads(2).with_checkpoints(dir, 10ms).with_faults(*plan)};
  run_result r;
  auto initial = ml::logistic_regression::make(test::n_features);
  auto versions = ml::learn(j.source(generator<ml::labelled_point>(500, test::labelled_at)),
                            *initial, ml::learner_options{}.every(100))
                      .name("lr");
  versions.sink(collect(r.versions));
  ml::score<ml::logistic_regression>(
      j.source(generator<ml::point>(n, test::paced(test::point_at))).rebalance(), versions)
      .name("scorer")
      .parallelism(2)
      .sink(collect(r.predictions));
  r.report = j.run();
  REQUIRE(r.report);
  REQUIRE(r.report->recoveries.size() == 1);
  CHECK(r.report->recoveries[0].from_checkpoint > 0);
  CHECK(r.report->dead_letters.empty());
  REQUIRE(r.versions.size() == 5);
  check_predictions(r, n);
}

SCENARIO("without a model, a scorer keeps points up to its buffer; the rest, and those never "
         "scored, go to the dead-letter output") {
  job j{job_config{}.with_threads(2)};
  auto initial = ml::logistic_regression::make(test::n_features);
  // A learner that never publishes: its input is empty.
  auto versions =
      ml::learn(j.source(generator<ml::labelled_point>(0, test::labelled_at)), *initial);
  std::vector<ml::prediction> predictions;
  ml::score(j.source(generator<ml::point>(100, test::point_at)), versions,
            ml::scorer_options<ml::logistic_regression>{}.buffer_up_to(10))
      .name("scorer")
      .sink(collect(predictions));
  auto report = j.run();
  REQUIRE(report);
  CHECK(predictions.empty());
  REQUIRE(report->dead_letters.size() == 100);
  auto count = [&](const std::string& words) {
    return std::count_if(
        report->dead_letters.begin(), report->dead_letters.end(),
        [&](const dead_letter& d) { return d.reason.find(words) != std::string::npos; });
  };
  CHECK(count("no model version yet and 10 points already kept") == 90);
  CHECK(count("the input ended before any model version arrived") == 10);
}

SCENARIO("a version of another kind, or whose bytes are damaged, is refused and the scorer keeps "
         "its model") {
  constexpr uint64_t n = 1'000;
  auto good = ml::logistic_regression::make(test::n_features);
  REQUIRE(good);
  for (uint64_t i = 0; i < 300; ++i) {
    auto p = test::labelled_at(i);
    REQUIRE(!good->learn(test::features(p.x), p.y));
  }
  auto make_version = [good = *good](uint64_t i) {
    ml::model_version v;
    v.model = "offline";
    v.version = i + 1;
    v.serial = v.version;
    v.kind = ml::logistic_regression::model_kind;
    v.seal(ml::to_binary(good));
    if (i == 1)
      v.kind = "eddy.ml.naive_bayes";
    if (i == 2)
      v.params[v.params.size() / 2] ^= 0x5a; // after sealing: damaged in transit
    if (i == 3)
      v.seal(v.params.substr(0, v.params.size() / 2)); // sealed, but not a whole model
    return v;
  };
  job j{job_config{}.with_threads(2)};
  std::vector<ml::prediction> predictions;
  ml::score(j.source(generator<ml::point>(n, test::point_at)),
            j.source(generator<ml::model_version>(4, make_version)),
            ml::scorer_options<ml::logistic_regression>{}.with_default(*good))
      .name("scorer")
      .sink(collect(predictions));
  auto report = j.run();
  REQUIRE(report);
  REQUIRE(predictions.size() == n);
  // Version 1 or the default (the same model) scored everything.
  for (const auto& p : predictions)
    CHECK(p.version <= 1);
  REQUIRE(report->dead_letters.size() == 3);
  CHECK(report->dead_letters[0].reason.find("is a eddy.ml.naive_bayes, this scorer serves "
                                            "eddy.ml.logistic_regression") != std::string::npos);
  CHECK(report->dead_letters[1].reason.find("damaged (its checksum does not match)") !=
        std::string::npos);
  CHECK(report->dead_letters[2].reason.find("does not decode") != std::string::npos);
}

namespace {

/// A scorer's checkpoint state as builds before serving serials wrote it (class version 0).
struct scorer_state_v0 {
  uint32_t instance = 0;
  bool has_model = false;
  uint64_t version = 0;
  std::string params;
  std::vector<ml::detail::kept_point> kept;

  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& instance;
    ml::serialize_flag(ar, has_model, "has_model");
    ar& version& params& kept;
  }
};

} // namespace

SCENARIO("a scorer snapshot written before serving serials loads, serving its version as the "
         "serial") {
  scorer_state_v0 old;
  old.instance = 1;
  old.has_model = true;
  old.version = 7;
  old.params = "model bytes";
  old.kept.push_back(ml::detail::kept_point{3, {1.0, 2.0}, 42});
  ml::detail::scorer_state loaded;
  REQUIRE(!ml::from_binary(ml::to_binary(old), loaded));
  CHECK(loaded.instance == 1);
  CHECK(loaded.champion.has_model);
  CHECK(loaded.champion.version == 7);
  CHECK(loaded.champion.serial == 7);
  CHECK(loaded.champion.params == "model bytes");
  CHECK(!loaded.challenger.has_model);
  REQUIRE(loaded.kept.size() == 1);
  CHECK(loaded.kept[0].time == 42);
  // And the current format keeps a serial of its own.
  loaded.champion.serial = 12;
  loaded.challenger = ml::detail::serving{true, 3, 4, 99, "other bytes"};
  ml::detail::scorer_state again;
  REQUIRE(!ml::from_binary(ml::to_binary(loaded), again));
  CHECK(again.champion.serial == 12);
  CHECK(again.champion.version == 7);
  CHECK(again.challenger.serial == 4);
  CHECK(again.challenger.time == 99);
  CHECK(again.challenger.params == "other bytes");
}

SCENARIO("a challenger scores every point beside the champion, on a side output, never served; "
         "both are evaluated and every prediction says how stale its model was") {
  constexpr uint64_t n = 6'000;
  job j{job_config{}.with_threads(2)};
  auto timed = [](const auto& x) { return static_cast<timestamp>(x.id); };
  auto labelled =
      j.source(generator<ml::labelled_point>(n, test::labelled_at).with_event_time(timed));
  auto champion = ml::logistic_regression::make(test::n_features);
  ml::logistic_regression_config adagrad;
  adagrad.method = ml::optimizer::adagrad;
  auto challenger = ml::logistic_regression::make(test::n_features, adagrad);
  REQUIRE(champion);
  REQUIRE(challenger);
  auto versions = ml::learn(labelled, *champion, ml::learner_options{}.every(500))
                      .name("lr")
                      .union_with(ml::learn(labelled, *challenger, ml::learner_options{}.every(500))
                                      .name("lr-adagrad"));
  std::vector<ml::model_version> learned;
  versions.sink(collect(learned));
  auto challenger_seen = std::make_shared<std::atomic<bool>>(false);
  versions.sink([challenger_seen](const ml::model_version& v) {
    if (v.model == "lr-adagrad")
      challenger_seen->store(true);
  });
  output_tag<ml::prediction> challenged{"challenger"};
  // Half way through, the points wait (up to 10 s) until the challenger published a version, so
  // that it scores the rest beside the champion.
  auto points = j.source(generator<ml::point>(n, [challenger_seen](uint64_t i) {
                           if (i == n / 2)
                             for (int k = 0; k < 10'000 && !challenger_seen->load(); ++k)
                               std::this_thread::sleep_for(1ms);
                           return test::point_at(i);
                         }).with_event_time(timed));
  auto served = ml::score<ml::logistic_regression>(
                    points.rebalance(), versions,
                    ml::scorer_options<ml::logistic_regression>{}.serve("lr").challenge_with(
                        "lr-adagrad", challenged))
                    .name("scorer")
                    .parallelism(2);
  std::vector<ml::prediction> main, side;
  served.sink(collect(main));
  served.side_output(challenged).sink(collect(side));
  auto labels = j.source(generator<ml::label>(n, [](uint64_t k) {
    return ml::label{k, test::labelled_at(k).y};
  }));
  std::vector<ml::evaluation> main_figures, side_figures;
  ml::evaluate(ml::await_labels(served, labels)).sink(collect(main_figures));
  ml::evaluate(ml::await_labels(served.side_output(challenged), labels))
      .sink(collect(side_figures));
  auto report = j.run();
  REQUIRE(report);
  CHECK(report->dead_letters.empty());
  std::map<std::pair<std::string, uint64_t>, const ml::model_version*> by_version;
  for (const auto& v : learned)
    by_version[{v.model, v.version}] = &v;
  // Each side: every point at most once (the champion: exactly once), made by that model's
  // version, with its staleness.
  auto check = [&](const std::vector<ml::prediction>& out, const std::string& model) {
    std::vector<int> seen(n, 0);
    size_t wrong = 0;
    for (const auto& p : out) {
      REQUIRE(p.id < n);
      ++seen[p.id];
      auto v = by_version.find({model, p.version});
      REQUIRE(v != by_version.end());
      auto m = test::model_of(*v->second);
      if (p.score != m.predict_proba(test::features(test::point_at(p.id).x))[1] ||
          p.staleness != static_cast<int64_t>(p.id) - v->second->time || p.replica > 1)
        ++wrong;
    }
    CHECK(wrong == 0);
    return seen;
  };
  auto champion_seen = check(main, "lr");
  CHECK(std::count(champion_seen.begin(), champion_seen.end(), 1) == static_cast<long>(n));
  auto challenger_side = check(side, "lr-adagrad");
  CHECK(std::count(challenger_side.begin(), challenger_side.end(), 2) == 0);
  CHECK(side.size() > 0);
  // Both evaluated on the same labels: every prediction of each side judged.
  REQUIRE(!main_figures.empty());
  REQUIRE(!side_figures.empty());
  CHECK(main_figures.back().quality.evaluated == main.size());
  CHECK(side_figures.back().quality.evaluated == side.size());
  CHECK(main_figures.back().max_staleness >= 0);
}

SCENARIO("a registry's served version of the challenger's model goes to the champion") {
  // Versions of "bg" as its learner published them (no reason) challenge; the same model served
  // by a registry (a reason) is the champion's.
  auto a = ml::logistic_regression::make(test::n_features);
  REQUIRE(a);
  auto bytes = ml::to_binary(*a);
  auto version_at = [bytes](uint64_t i) {
    ml::model_version v;
    v.model = "bg";
    v.version = 1;
    v.serial = 1;
    v.kind = ml::logistic_regression::model_kind;
    v.reason = i == 0 ? "" : "promoted after a drift in 'lr' (version 3)";
    v.seal(bytes);
    return v;
  };
  job j{job_config{}.with_threads(2)};
  output_tag<ml::prediction> challenged{"challenger"};
  // The points wait for both versions (a replica keeps them until its champion has one).
  auto served = ml::score<ml::logistic_regression>(
      j.source(generator<ml::point>(100, test::point_at)),
      j.source(generator<ml::model_version>(2, version_at)),
      ml::scorer_options<ml::logistic_regression>{}.challenge_with("bg", challenged));
  std::vector<ml::prediction> main, side;
  served.sink(collect(main));
  served.side_output(challenged).sink(collect(side));
  auto report = j.run();
  REQUIRE(report);
  // The champion scored every point with the registry's version.
  REQUIRE(main.size() == 100);
  for (const auto& p : main)
    CHECK(p.version == 1);
  CHECK(side.size() <= 100);
}
