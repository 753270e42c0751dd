#include <eddy/ml/naive_bayes/naive_bayes.hpp>

#include <catch2/catch.hpp>

#include <limits>
#include <random>
#include <vector>

using namespace eddy::ml;

namespace {

struct record {
  vector x;
  int y;
};

/// Three Gaussian blobs in 3 dimensions.
std::vector<record> make_stream(int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  std::vector<record> result;
  for (int i = 0; i < n; ++i) {
    int y = static_cast<int>(rng() % 3);
    vector x(3);
    for (int j = 0; j < 3; ++j)
      x[j] = normal(rng) + (j == y ? 3.0 : 0.0);
    result.push_back({x, y});
  }
  return result;
}

gaussian_naive_bayes make_model(Eigen::Index n = 3, int classes = 3) {
  auto model = gaussian_naive_bayes::make(n, classes);
  REQUIRE(model);
  return std::move(*model);
}

} // namespace

SCENARIO("Gaussian naive Bayes gives scikit-learn's GaussianNB probabilities") {
  // Recorded with /usr/bin/python3 and scikit-learn 1.2.1:
  //   GaussianNB().fit(X, y).predict_proba([[4, 4], [2, 3]])
  std::vector<record> data = {
      {(vector(2) << 1, 2).finished(), 0},    {(vector(2) << 2, 1).finished(), 0},
      {(vector(2) << 3, 4).finished(), 0},    {(vector(2) << 6, 5).finished(), 1},
      {(vector(2) << 7, 8).finished(), 1},    {(vector(2) << 8, 6).finished(), 1},
      {(vector(2) << 4.5, 4.0).finished(), 2}};
  auto model = make_model(2, 3);
  CHECK(model.predict_proba(vector::Ones(2)).isApproxToConstant(1.0 / 3.0)); // nothing learned
  for (const auto& r : data)
    REQUIRE_FALSE(model.learn(r.x, r.y));
  auto p = model.predict_proba((vector(2) << 4, 4).finished());
  CHECK(p[0] == Approx(9.90118329e-01));
  CHECK(p[1] == Approx(9.88167112e-03));
  CHECK(p[2] == Approx(0.0).margin(1e-300));
  auto q = model.predict_proba((vector(2) << 2, 3).finished());
  CHECK(q[1] == Approx(2.33329092e-10));
  CHECK(model.predict((vector(2) << 7, 7).finished()) == 1);
}

SCENARIO("naive Bayes learns three blobs and ignores classes it never saw") {
  auto model = make_model(3, 4);
  for (const auto& r : make_stream(3000, 1))
    REQUIRE_FALSE(model.learn(r.x, r.y));
  int hits = 0;
  auto test = make_stream(1000, 2);
  for (const auto& r : test)
    hits += model.predict(r.x) == r.y ? 1 : 0;
  CHECK(hits > 900);
  CHECK(model.predict_proba(test[0].x)[3] == 0.0);
}

SCENARIO("a naive Bayes stream with 1 % bad records trains exactly the model of its good ones") {
  auto clean = make_model();
  auto mixed = make_model();
  std::mt19937_64 rng(3);
  int refused = 0;
  for (const auto& r : make_stream(3000, 4)) {
    REQUIRE_FALSE(clean.learn(r.x, r.y));
    if (rng() % 100 == 0) {
      vector bad = r.x;
      switch (rng() % 4) {
      case 0:
        bad[0] = std::numeric_limits<double>::quiet_NaN();
        break;
      case 1:
        bad[2] = std::numeric_limits<double>::infinity();
        break;
      case 2:
        bad = vector::Ones(2);
        break;
      default:
        bad *= 1e300;
        break; // finite, but its square overflows
      }
      refused += mixed.learn(bad, r.y) ? 1 : 0;
    }
    REQUIRE_FALSE(mixed.learn(r.x, r.y));
  }
  CHECK(refused > 10);
  CHECK(mixed.same_state(clean));
  CHECK(is(mixed.learn(vector::Ones(3), 7), errc::bad_input));
  CHECK(mixed.same_state(clean));
}

SCENARIO("a restored naive Bayes continues exactly like the uninterrupted one") {
  auto data = make_stream(1000, 5);
  auto original = make_model();
  gaussian_naive_bayes restored;
  for (size_t i = 0; i < data.size(); ++i) {
    if (i == 300)
      REQUIRE_FALSE(from_binary(to_binary(original), restored));
    REQUIRE_FALSE(original.learn(data[i].x, data[i].y, 0.5 + double(i % 3)));
    if (i >= 300) {
      REQUIRE_FALSE(restored.learn(data[i].x, data[i].y, 0.5 + double(i % 3)));
      REQUIRE(restored.predict_proba(data[i].x) == original.predict_proba(data[i].x));
    }
  }
  CHECK(restored.same_state(original));
}

SCENARIO("naive Bayes batches are all or nothing") {
  auto model = make_model();
  matrix X = matrix::Ones(3, 3);
  labels y(3);
  y << 0, 1, 5;
  CHECK(is(model.learn_batch(X, y), errc::bad_input));
  CHECK(model.class_weights().sum() == 0.0);
  y[2] = 2;
  REQUIRE_FALSE(model.learn_batch(X, y));
  CHECK(model.class_weights().sum() == 3.0);
  CHECK(is(gaussian_naive_bayes::make(3, 1).error(), errc::invalid_argument));
  gaussian_naive_bayes empty; // default-constructed, as before deserialization
  CHECK(empty.predict(vector{}) == -1);
}
