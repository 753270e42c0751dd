// The rating learner and the recommender replicas: versions with the plain loop's model and RMSE,
// every request answered once with the top items of the version it names, bad ratings
// dead-lettered, and the learner and a replica killed mid-run changing nothing.
#include "../../operators/temp_dir.hpp"
#include "points.hpp"

#include <eddy/ml/operators/recommend.hpp>
#include <eddy/operators/job.hpp>
#include <eddy/sinks/collect.hpp>
#include <eddy/sources/generator.hpp>

#include <catch2/catch.hpp>

#include <caf/deep_to_string.hpp>

#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <thread>
#include <vector>

using namespace eddy;
using namespace std::chrono_literals;

namespace {

constexpr int64_t n_users = 50;
constexpr int64_t n_items = 20;

/// Rating i: a user and an item from hashes of i, the rating 3 + 2 * (u . v) of their hidden
/// three-factor tastes plus noise.
ml::rating rating_at(uint64_t i) {
  ml::rating r;
  r.id = i;
  r.user = static_cast<int64_t>((test::uniform_at(i, 1) + 1.0) * 0.5 * n_users) % n_users;
  r.item = static_cast<int64_t>((test::uniform_at(i, 2) + 1.0) * 0.5 * n_items) % n_items;
  double taste = 0;
  for (uint64_t k = 0; k < 3; ++k)
    taste +=
        test::uniform_at(uint64_t(r.user), 10 + k) * test::uniform_at(uint64_t(r.item), 20 + k);
  r.value = 3.0 + 2.0 * taste + 0.2 * test::uniform_at(i, 3);
  return r;
}

/// Request i: user i mod n_users, leaving out items 0 and 1.
ml::recommend_request request_at(uint64_t i) {
  return ml::recommend_request{i, static_cast<int64_t>(i % n_users), {0, 1}};
}

struct run_result {
  std::vector<ml::model_version> versions;
  std::vector<ml::recommendation> answers;
  caf::expected<job_report> report = job_report{};
};

/// The model the tests train: five factors, a larger step than the default.
ml::matrix_factorization initial_model() {
  ml::matrix_factorization_config cfg;
  cfg.n_factors = 5;
  cfg.learning_rate = 0.05;
  return *ml::matrix_factorization::make(cfg);
}

run_result learn_and_recommend(uint64_t n, job_config cfg, ml::rating (*make)(uint64_t)) {
  run_result r;
  job j{std::move(cfg)};
  auto ratings = j.source(generator<ml::rating>(n, test::paced(make))).name("ratings");
  auto versions = ml::learn_ratings(ratings, initial_model(),
                                    ml::rating_learner_options{}.every(1'000).rolling_window(500))
                      .name("mf");
  versions.sink(collect(r.versions)).name("versions");
  auto requests = j.source(generator<ml::recommend_request>(n / 4, test::paced(request_at)));
  ml::recommend(requests.rebalance(), versions, ml::recommender_options{}.top(5))
      .name("recommender")
      .parallelism(2)
      .sink(collect(r.answers));
  r.report = j.run();
  return r;
}

/// Each request answered once, with the top five items (0 and 1 left out) of the version named.
void check_answers(const run_result& r, uint64_t requests) {
  std::map<uint64_t, ml::matrix_factorization> models;
  for (const auto& v : r.versions)
    models.emplace(v.version, test::model_of<ml::matrix_factorization>(v));
  REQUIRE(r.answers.size() == requests);
  std::vector<bool> seen(requests, false);
  size_t wrong = 0;
  for (const auto& a : r.answers) {
    REQUIRE(a.id < requests);
    CHECK(!seen[a.id]);
    seen[a.id] = true;
    auto m = models.find(a.version);
    REQUIRE(m != models.end());
    auto top = m->second.top_k(a.user, 5, {0, 1});
    bool same = top.size() == a.items.size();
    for (size_t k = 0; same && k < top.size(); ++k)
      same = top[k].first == a.items[k] && top[k].second == a.scores[k];
    wrong += !same;
  }
  CHECK(wrong == 0);
}

} // namespace

SCENARIO("a rating learner publishes the plain loop's model and its RMSE every N ratings") {
  constexpr uint64_t n = 4'500;
  auto r = learn_and_recommend(n, job_config{}.with_threads(2), rating_at);
  REQUIRE(r.report);
  REQUIRE(r.versions.size() == 5);
  auto model = initial_model();
  double squared = 0;
  std::vector<double> recent;
  size_t next = 0;
  for (uint64_t i = 0; i < n; ++i) {
    auto x = rating_at(i);
    double e = model.predict(x.user, x.item) - x.value;
    REQUIRE_FALSE(model.learn(x.user, x.item, x.value));
    squared += e * e;
    recent.push_back(e * e);
    if ((i + 1) % 1'000 == 0 || i + 1 == n) {
      const auto& v = r.versions[next++];
      INFO("version " << v.version);
      CHECK(v.updates == i + 1);
      CHECK(v.kind == ml::matrix_factorization::model_kind);
      CHECK(ml::to_binary(test::model_of<ml::matrix_factorization>(v)) == ml::to_binary(model));
      CHECK(v.quality.rmse == Approx(std::sqrt(squared / double(i + 1))).epsilon(1e-12));
      double window = 0;
      for (size_t k = recent.size() - std::min<size_t>(500, recent.size()); k < recent.size(); ++k)
        window += recent[k];
      CHECK(v.quality.rolling_rmse ==
            Approx(std::sqrt(window / double(std::min<size_t>(500, recent.size())))));
    }
  }
  // It learned: the last window's RMSE is well below the spread of the ratings around their mean.
  double mean = 0, spread = 0;
  for (uint64_t i = 0; i < n; ++i)
    mean += rating_at(i).value / double(n);
  for (uint64_t i = 0; i < n; ++i)
    spread += (rating_at(i).value - mean) * (rating_at(i).value - mean) / double(n);
  CHECK(r.versions.back().quality.rolling_rmse < 0.8 * std::sqrt(spread));
  CHECK(std::isnan(r.versions.back().quality.roc_auc));
  check_answers(r, n / 4);
}

SCENARIO("a rating that is not finite goes to the dead letters; the model never sees it") {
  constexpr uint64_t n = 3'000;
  auto clean = learn_and_recommend(n, job_config{}.with_threads(2), rating_at);
  auto bad = learn_and_recommend(n, job_config{}.with_threads(2), [](uint64_t i) {
    auto r = rating_at(i);
    if (i % 1'000 == 17)
      r.value = std::numeric_limits<double>::quiet_NaN();
    return r;
  });
  REQUIRE(clean.report);
  REQUIRE(bad.report);
  size_t letters = 0;
  for (const auto& d : bad.report->dead_letters) {
    CHECK_THAT(d.reason, Catch::Contains("rating learner 'mf'"));
    letters += d.reason.find("rating learner") != std::string::npos;
  }
  CHECK(letters == 3);
  // Three ratings fewer were learned; the last version holds their absence, nothing else.
  CHECK(bad.versions.back().updates == clean.versions.back().updates - 3);
  CHECK(bad.versions.back().quality.rmse == bad.versions.back().quality.rmse); // not NaN
}

SCENARIO("the rating learner and a recommender killed mid-run: the same versions, every request "
         "answered once by the version it names") {
  constexpr uint64_t n = 8'000;
  auto clean = learn_and_recommend(n, job_config{}.with_threads(2), rating_at);
  REQUIRE(clean.report);
  auto dir = test::temp_dir("eddy_ml_recommend");
  auto plan = parse_fault_plan("crash:mf#0@checkpoint=3; crash:recommender#1@after=700");
  REQUIRE(plan);
  auto faulty = learn_and_recommend(
      n, job_config{}.with_threads(2).with_checkpoints(dir, 10ms).with_faults(*plan), rating_at);
  REQUIRE(faulty.report);
  CHECK(faulty.report->faults.size() == 2);
  REQUIRE(faulty.versions.size() == clean.versions.size());
  for (size_t k = 0; k < clean.versions.size(); ++k) {
    INFO("version " << k + 1);
    CHECK(caf::deep_to_string(faulty.versions[k]) == caf::deep_to_string(clean.versions[k]));
  }
  check_answers(faulty, n / 4);
  CHECK(faulty.report->dead_letters.empty());
}
