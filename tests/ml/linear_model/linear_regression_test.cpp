#include <eddy/ml/linear_model/linear_regression.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

using namespace eddy::ml;

namespace {

struct record {
  vector x;
  double y;
};

/// y = 2 x0 - x1 + 0.5 x2 + 3 plus a little noise.
std::vector<record> make_stream(int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  std::vector<record> result;
  for (int i = 0; i < n; ++i) {
    vector x(3);
    for (int j = 0; j < 3; ++j)
      x[j] = normal(rng);
    result.push_back({x, 2 * x[0] - x[1] + 0.5 * x[2] + 3 + 0.01 * normal(rng)});
  }
  return result;
}

std::vector<linear_regression_config> all_configs() {
  linear_regression_config sgd;
  linear_regression_config adagrad;
  adagrad.method = optimizer::adagrad;
  adagrad.eta0 = 0.5;
  linear_regression_config constant;
  constant.schedule = learning_rate::constant;
  constant.l2 = 0.0;
  return {sgd, adagrad, constant};
}

linear_regression make_model(linear_regression_config cfg, Eigen::Index n = 3) {
  auto model = linear_regression::make(n, cfg);
  REQUIRE(model);
  return std::move(*model);
}

} // namespace

SCENARIO("one SGD step is the step scikit-learn's SGDRegressor().partial_fit takes") {
  // Recorded with /usr/bin/python3 and scikit-learn 1.2.1: partial_fit([[1, 2]], [3]) then
  // partial_fit([[-1, 0.5]], [1]).
  auto model = make_model({}, 2);
  REQUIRE_FALSE(model.learn((vector(2) << 1.0, 2.0).finished(), 3.0));
  CHECK(model.weights()[1] == Approx(0.06).epsilon(1e-12));
  CHECK(model.intercept() == Approx(0.03).epsilon(1e-12));
  REQUIRE_FALSE(model.learn((vector(2) << -1.0, 0.5).finished(), 1.0));
  CHECK(model.weights()[0] == Approx(0.02184328).epsilon(1e-6));
  CHECK(model.weights()[1] == Approx(0.0640783).epsilon(1e-6));
  CHECK(model.intercept() == Approx(0.0381567).epsilon(1e-6));
}

SCENARIO("every optimizer fits a linear target") {
  auto train = make_stream(20000, 1);
  auto test = make_stream(500, 2);
  for (const auto& cfg : all_configs()) {
    auto model = make_model(cfg);
    for (const auto& r : train)
      REQUIRE_FALSE(model.learn(r.x, r.y));
    double sse = 0.0;
    for (const auto& r : test)
      sse += std::pow(model.predict(r.x) - r.y, 2);
    CHECK(std::sqrt(sse / double(test.size())) < 0.1);
  }
}

SCENARIO("a regression stream with 1 % bad records trains exactly the model of its good ones") {
  for (const auto& cfg : all_configs()) {
    auto good = make_stream(3000, 5);
    auto clean = make_model(cfg);
    auto mixed = make_model(cfg);
    std::mt19937_64 rng(6);
    const double nan = std::numeric_limits<double>::quiet_NaN();
    int refused = 0;
    for (const auto& r : good) {
      REQUIRE_FALSE(clean.learn(r.x, r.y));
      if (rng() % 100 == 0) {
        vector bad = r.x;
        switch (rng() % 4) {
        case 0:
          bad[1] = nan;
          break;
        case 1:
          bad[2] = std::numeric_limits<double>::infinity();
          break;
        case 2:
          bad = vector::Ones(5);
          break;
        default:
          break; // a NaN target below
        }
        refused += mixed.learn(bad, bad.size() == 3 && bad.allFinite() ? nan : r.y) ? 1 : 0;
      }
      REQUIRE_FALSE(mixed.learn(r.x, r.y));
    }
    CHECK(refused > 10);
    CHECK(mixed.same_state(clean));
    CHECK(mixed.weights().allFinite());
  }
}

SCENARIO("a restored linear regression continues exactly like the uninterrupted one") {
  for (const auto& cfg : all_configs()) {
    auto data = make_stream(1000, 7);
    auto original = make_model(cfg);
    linear_regression restored;
    for (size_t i = 0; i < data.size(); ++i) {
      if (i == 400)
        REQUIRE_FALSE(from_binary(to_binary(original), restored));
      REQUIRE_FALSE(original.learn(data[i].x, data[i].y));
      if (i >= 400) {
        REQUIRE_FALSE(restored.learn(data[i].x, data[i].y));
        REQUIRE(restored.predict(data[i].x) == original.predict(data[i].x));
      }
    }
    CHECK(restored.same_state(original));
  }
}

SCENARIO("bad batches and settings of a linear regression are refused") {
  auto model = make_model({});
  matrix X = matrix::Ones(4, 3);
  vector y = vector::Ones(4);
  REQUIRE_FALSE(model.learn_batch(X, y));
  auto before = model;
  y[2] = std::numeric_limits<double>::infinity();
  CHECK(is(model.learn_batch(X, y), errc::bad_input));
  CHECK(is(model.learn_batch(X, vector::Ones(3)), errc::shape_mismatch));
  CHECK(model.same_state(before));
  CHECK(std::isnan(model.predict(vector::Ones(2))));
  linear_regression empty; // default-constructed, as before deserialization
  CHECK(is(empty.learn(vector{}, 1.0), errc::not_fitted));
  linear_regression_config cfg;
  cfg.method = optimizer::ftrl;
  CHECK(is(linear_regression::make(3, cfg).error(), errc::invalid_argument));
  cfg = {};
  cfg.eta0 = -1.0;
  CHECK(is(linear_regression::make(3, cfg).error(), errc::invalid_argument));
}

SCENARIO("a diverging step size or huge features never put a NaN in a linear regression") {
  linear_regression_config cfg;
  cfg.schedule = learning_rate::optimal; // starts at eta ~ 5.6 here: squared loss diverges
  cfg.l2 = 1e-3;
  for (auto c : {cfg, linear_regression_config{}}) {
    auto model = make_model(c);
    int refused = 0;
    for (const auto& r : make_stream(2000, 8))
      refused += model.learn(r.x * 1e150, r.y) ? 1 : 0;
    CHECK(refused > 0);
    CHECK(model.weights().allFinite());
    CHECK(std::isfinite(model.intercept()));
  }
}
