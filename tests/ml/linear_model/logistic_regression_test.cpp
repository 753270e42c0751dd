#include <eddy/ml/linear_model/logistic_regression.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

using eddy::ml::errc;
using eddy::ml::logistic_regression;
using eddy::ml::logistic_regression_config;
using eddy::ml::vector;

namespace {

struct record {
  vector x;
  int y;
};

/// Linearly separable-ish data: y = 1 when 2 x0 - x1 + 0.5 x2 > 0 (plus label noise).
std::vector<record> make_stream(int n, int n_classes, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  std::vector<record> result;
  for (int i = 0; i < n; ++i) {
    vector x(4);
    for (int j = 0; j < 4; ++j)
      x[j] = normal(rng);
    int y = 0;
    if (n_classes == 2) {
      y = 2 * x[0] - x[1] + 0.5 * x[2] > 0 ? 1 : 0;
    } else {
      (vector(3) << x[0], x[1], -x[0] - x[1]).finished().maxCoeff(&y);
    }
    result.push_back({x, y});
  }
  return result;
}

double accuracy(const logistic_regression& model, const std::vector<record>& data) {
  int hits = 0;
  for (const auto& r : data)
    hits += model.predict(r.x) == r.y ? 1 : 0;
  return static_cast<double>(hits) / static_cast<double>(data.size());
}

logistic_regression make_model(logistic_regression_config cfg, Eigen::Index n = 4) {
  auto model = logistic_regression::make(n, cfg);
  REQUIRE(model);
  return std::move(*model);
}

std::vector<logistic_regression_config> all_configs() {
  std::vector<logistic_regression_config> result;
  for (int classes : {2, 3}) {
    logistic_regression_config sgd;
    sgd.n_classes = classes;
    logistic_regression_config adagrad = sgd;
    adagrad.method = eddy::ml::optimizer::adagrad;
    adagrad.eta0 = 0.5;
    adagrad.l1 = 1e-4;
    logistic_regression_config ftrl = sgd;
    ftrl.method = eddy::ml::optimizer::ftrl;
    ftrl.l1 = 0.01;
    ftrl.l2 = 0.01;
    result.insert(result.end(), {sgd, adagrad, ftrl});
  }
  return result;
}

} // namespace

SCENARIO("one SGD step is the step scikit-learn's SGDClassifier(log_loss).partial_fit takes") {
  // Recorded with /usr/bin/python3 and scikit-learn 1.2.1: partial_fit([[1]], [1]) then
  // partial_fit([[2]], [0]) gives coef 5 then -14.98500887..., intercept 5 then -4.99000693...
  auto model = make_model({}, 1);
  REQUIRE_FALSE(model.learn((vector(1) << 1.0).finished(), 1));
  CHECK(model.weights()(0, 0) == Approx(5.0).epsilon(1e-12));
  CHECK(model.intercepts()[0] == Approx(5.0).epsilon(1e-12));
  REQUIRE_FALSE(model.learn((vector(1) << 2.0).finished(), 0));
  CHECK(model.weights()(0, 0) == Approx(-14.985008873082377).epsilon(1e-12));
  CHECK(model.intercepts()[0] == Approx(-4.990006934043686).epsilon(1e-12));
}

SCENARIO("every optimizer learns a binary and a three-class problem") {
  auto train = make_stream(4000, 2, 1);
  auto test = make_stream(1000, 2, 2);
  auto train3 = make_stream(4000, 3, 3);
  auto test3 = make_stream(1000, 3, 4);
  for (const auto& cfg : all_configs()) {
    auto model = make_model(cfg);
    const auto& tr = cfg.n_classes == 2 ? train : train3;
    for (const auto& r : tr)
      REQUIRE_FALSE(model.learn(r.x, r.y));
    CHECK(accuracy(model, cfg.n_classes == 2 ? test : test3) > 0.9);
    auto p = model.predict_proba(tr.front().x);
    REQUIRE(p.size() == cfg.n_classes);
    CHECK(p.sum() == Approx(1.0));
  }
}

SCENARIO("bad input is refused with a sentence and leaves the model unchanged") {
  auto model = make_model({});
  REQUIRE_FALSE(model.learn(vector::Ones(4), 1));
  auto before = model;
  auto err = model.learn(vector::Ones(3), 1);
  CHECK(eddy::ml::is(err, errc::shape_mismatch));
  CHECK(eddy::describe(err) == "logistic_regression::learn: x has 3 features, expected 4");
  vector nan = vector::Ones(4);
  nan[2] = std::numeric_limits<double>::quiet_NaN();
  CHECK(eddy::ml::is(model.learn(nan, 1), errc::bad_input));
  CHECK(eddy::ml::is(model.learn(vector::Ones(4), 2), errc::bad_input));
  CHECK(eddy::ml::is(model.learn(vector::Ones(4), 1, -1.0), errc::bad_input));
  CHECK(model.same_state(before));
  CHECK(model.predict(vector::Ones(3)) == -1);
  CHECK(model.predict_proba(vector::Ones(3)).size() == 0);
  CHECK(std::isnan(model.decision_function(vector::Ones(3))));
  logistic_regression empty; // default-constructed, as before deserialization
  CHECK(empty.predict(vector{}) == -1);
  CHECK(empty.predict_proba(vector{}).size() == 0);
  CHECK(is(empty.learn(vector{}, 0), errc::not_fitted));
  eddy::ml::matrix X = eddy::ml::matrix::Ones(3, 4);
  X(1, 1) = std::numeric_limits<double>::infinity();
  CHECK(eddy::ml::is(model.learn_batch(X, eddy::ml::labels::Ones(3)), errc::bad_input));
  CHECK(model.same_state(before));
}

SCENARIO("invalid settings come back as invalid_argument") {
  logistic_regression_config cfg;
  cfg.n_classes = 1;
  CHECK(eddy::ml::is(logistic_regression::make(4, cfg).error(), errc::invalid_argument));
  cfg = {};
  cfg.l2 = 0.0;
  CHECK(eddy::ml::is(logistic_regression::make(4, cfg).error(), errc::invalid_argument));
  CHECK(eddy::ml::is(logistic_regression::make(0).error(), errc::invalid_argument));
}

SCENARIO("a stream with 1 % bad records trains exactly the model of its good records") {
  for (const auto& cfg : all_configs()) {
    auto good = make_stream(3000, cfg.n_classes, 5);
    auto clean = make_model(cfg);
    auto mixed = make_model(cfg);
    std::mt19937_64 rng(6);
    int refused = 0;
    for (const auto& r : good) {
      REQUIRE_FALSE(clean.learn(r.x, r.y));
      if (rng() % 100 == 0) {
        vector bad = r.x;
        switch (rng() % 3) {
        case 0:
          bad[1] = std::numeric_limits<double>::quiet_NaN();
          break;
        case 1:
          bad[3] = -std::numeric_limits<double>::infinity();
          break;
        default:
          bad = vector::Ones(7);
          break;
        }
        refused += mixed.learn(bad, r.y) ? 1 : 0;
      }
      REQUIRE_FALSE(mixed.learn(r.x, r.y));
    }
    CHECK(refused > 10);
    CHECK(mixed.same_state(clean));
    CHECK(mixed.weights().allFinite());
  }
}

SCENARIO("a model restored from a snapshot continues exactly like the uninterrupted one") {
  for (const auto& cfg : all_configs()) {
    auto data = make_stream(2000, cfg.n_classes, 7);
    auto original = make_model(cfg);
    logistic_regression restored;
    for (size_t i = 0; i < data.size(); ++i) {
      if (i == 700) {
        REQUIRE_FALSE(eddy::ml::from_binary(eddy::ml::to_binary(original), restored));
        CHECK(restored.same_state(original));
      }
      REQUIRE_FALSE(original.learn(data[i].x, data[i].y));
      if (i >= 700) {
        REQUIRE_FALSE(restored.learn(data[i].x, data[i].y));
        REQUIRE(restored.predict_proba(data[i].x) == original.predict_proba(data[i].x));
      }
    }
    CHECK(restored.same_state(original));
  }
}

SCENARIO("huge but finite features never put a NaN in a logistic regression") {
  for (const auto& cfg : all_configs()) {
    auto model = make_model(cfg);
    int refused = 0;
    for (const auto& r : make_stream(500, cfg.n_classes, 9)) {
      auto before = model;
      auto err = model.learn(r.x * 1e306, r.y);
      if (err) {
        ++refused;
        REQUIRE(model.same_state(before));
      }
      REQUIRE(model.weights().allFinite());
      REQUIRE(model.intercepts().allFinite());
    }
    CHECK(refused > 0);
  }
}

SCENARIO("the average of models is the mean of their parameters; models that differ are refused") {
  for (const auto& cfg : all_configs()) {
    auto data = make_stream(600, cfg.n_classes, 11);
    auto a = make_model(cfg);
    auto b = make_model(cfg);
    for (size_t i = 0; i < data.size(); ++i)
      REQUIRE(!(i % 2 == 0 ? a : b).learn(data[i].x, data[i].y));
    auto merged = logistic_regression::average({&a, &b});
    REQUIRE(merged);
    CHECK(merged->weights().isApprox((a.weights() + b.weights()) / 2.0, 1e-15));
    CHECK(merged->intercepts().isApprox((a.intercepts() + b.intercepts()) / 2.0, 1e-15));
    CHECK(merged->n_updates() == 600);
    // The average of one model is that model.
    auto one = logistic_regression::average({&a});
    REQUIRE(one);
    CHECK(one->same_state(a));
    // And it survives a snapshot like any model.
    logistic_regression restored;
    REQUIRE(!from_binary(to_binary(*merged), restored));
    CHECK(restored.same_state(*merged));
  }
  auto four = make_model({});
  auto five = make_model({}, 5);
  auto refused = logistic_regression::average({&four, &five});
  REQUIRE(!refused);
  CHECK(is(refused.error(), errc::invalid_argument));
  CHECK(!logistic_regression::average({}));
}
