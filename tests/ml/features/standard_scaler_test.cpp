#include <eddy/ml/features/standard_scaler.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <random>

using eddy::ml::errc;
using eddy::ml::standard_scaler;
using eddy::ml::vector;

SCENARIO("the online scaler has the mean and population variance of what it learned") {
  standard_scaler scaler(2);
  std::vector<vector> xs = {(vector(2) << 1.0, 10.0).finished(),
                            (vector(2) << 2.0, 10.0).finished(),
                            (vector(2) << 6.0, 10.0).finished()};
  for (const auto& x : xs)
    REQUIRE_FALSE(scaler.learn(x));
  CHECK(scaler.mean()[0] == Approx(3.0));
  CHECK(scaler.variance()[0] == Approx(14.0 / 3.0));
  auto z = scaler.transform(xs[2]);
  CHECK(z[0] == Approx(3.0 / std::sqrt(14.0 / 3.0)));
  CHECK(z[1] == 0.0); // constant feature: centred only
}

SCENARIO("the scaler refuses bad records and stays unchanged") {
  standard_scaler scaler(3);
  REQUIRE_FALSE(scaler.learn(vector::Ones(3)));
  vector bad = vector::Ones(3);
  bad[1] = std::numeric_limits<double>::quiet_NaN();
  CHECK(eddy::ml::is(scaler.learn(bad), errc::bad_input));
  CHECK(eddy::ml::is(scaler.learn(vector::Ones(2)), errc::shape_mismatch));
  vector out;
  CHECK(eddy::ml::is(scaler.transform(vector::Ones(4), out), errc::shape_mismatch));
  CHECK(scaler.count() == 1.0);
  CHECK(scaler.mean().allFinite());
}

SCENARIO("a stream with 1 % bad records gives exactly the scaler of its good records") {
  // bad: NaN, infinity, wrong size, and values so large that the variance would overflow
  standard_scaler clean(4);
  standard_scaler mixed(4);
  std::mt19937_64 rng(8);
  std::normal_distribution<double> normal(5.0, 2.0);
  vector x(4), a, b;
  int refused = 0;
  for (int i = 0; i < 3000; ++i) {
    for (int j = 0; j < 4; ++j)
      x[j] = normal(rng);
    if (rng() % 100 == 0) {
      vector bad = x;
      switch (rng() % 4) {
      case 0:
        bad[1] = std::numeric_limits<double>::quiet_NaN();
        break;
      case 1:
        bad[3] = -std::numeric_limits<double>::infinity();
        break;
      case 2:
        bad = vector::Ones(7);
        break;
      default:
        bad[2] = (rng() % 2 ? 1 : -1) * 1e300;
        break;
      }
      auto before = eddy::ml::to_binary(mixed);
      if (mixed.learn_transform(bad, b)) {
        ++refused;
        REQUIRE(eddy::ml::to_binary(mixed) == before);
      }
    }
    REQUIRE_FALSE(clean.learn_transform(x, a));
    REQUIRE_FALSE(mixed.learn_transform(x, b));
    REQUIRE(a == b);
  }
  CHECK(refused > 10);
  CHECK(eddy::ml::to_binary(mixed) == eddy::ml::to_binary(clean));
  CHECK(mixed.variance().allFinite());
}

SCENARIO("the scaler refuses a value whose square would overflow, and keeps its statistics") {
  standard_scaler scaler(1);
  REQUIRE_FALSE(scaler.learn(vector::Constant(1, 1.0)));
  CHECK(eddy::ml::is(scaler.learn(vector::Constant(1, 1e200)), errc::bad_input));
  CHECK(scaler.count() == 1.0);
  CHECK(scaler.mean()[0] == 1.0);
  REQUIRE_FALSE(scaler.learn(vector::Constant(1, 1e100))); // its square is still finite
  CHECK(scaler.variance().allFinite());
  vector out;
  CHECK(eddy::ml::is(scaler.transform(vector::Constant(1, std::nan("")), out), errc::bad_input));
}

SCENARIO("a restored scaler continues exactly like the original") {
  standard_scaler original(4);
  standard_scaler restored;
  std::mt19937_64 rng(1);
  std::normal_distribution<double> normal(5.0, 2.0);
  vector x(4), a, b;
  for (int i = 0; i < 500; ++i) {
    if (i == 200)
      REQUIRE_FALSE(eddy::ml::from_binary(eddy::ml::to_binary(original), restored));
    for (int j = 0; j < 4; ++j)
      x[j] = normal(rng);
    REQUIRE_FALSE(original.learn_transform(x, a));
    if (i >= 200) {
      REQUIRE_FALSE(restored.learn_transform(x, b));
      REQUIRE(a == b);
    }
  }
}
