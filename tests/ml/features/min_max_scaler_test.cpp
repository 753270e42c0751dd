#include <eddy/ml/features/min_max_scaler.hpp>

#include <catch2/catch.hpp>

#include <limits>
#include <random>

using namespace eddy::ml;

SCENARIO("min-max scaling maps the running range onto [0, 1]") {
  min_max_scaler scaler(2);
  vector z;
  REQUIRE_FALSE(scaler.learn_transform((vector(2) << 5, 1).finished(), z));
  CHECK(z == (vector(2) << 0, 0).finished()); // empty range: the lower end
  REQUIRE_FALSE(scaler.learn((vector(2) << 15, 1).finished()));
  CHECK(scaler.transform((vector(2) << 10, 1).finished()) == (vector(2) << 0.5, 0).finished());
  CHECK(scaler.transform((vector(2) << 25, 1).finished())[0] == 2.0); // not clipped
  min_max_scaler clipped(1, -1.0, 1.0, true);
  REQUIRE_FALSE(clipped.learn(vector::Constant(1, 0.0)));
  REQUIRE_FALSE(clipped.learn(vector::Constant(1, 4.0)));
  CHECK(clipped.transform(vector::Constant(1, 1.0))[0] == -0.5);
  CHECK(clipped.transform(vector::Constant(1, 9.0))[0] == 1.0);
}

SCENARIO("the min-max scaler refuses bad records and stays unchanged") {
  min_max_scaler scaler(2);
  REQUIRE_FALSE(scaler.learn(vector::Ones(2)));
  vector bad = vector::Ones(2) * 3;
  bad[0] = std::numeric_limits<double>::quiet_NaN();
  CHECK(is(scaler.learn(bad), errc::bad_input));
  CHECK(is(scaler.learn(vector::Ones(3)), errc::shape_mismatch));
  CHECK(scaler.data_max() == vector::Ones(2));
  min_max_scaler restored;
  REQUIRE_FALSE(from_binary(to_binary(scaler), restored));
  CHECK(restored.data_min() == scaler.data_min());
  CHECK(restored.transform(vector::Ones(2)) == scaler.transform(vector::Ones(2)));
}

SCENARIO("a stream with 1 % bad records gives exactly the min-max scaler of its good records") {
  // bad: NaN, infinity, wrong size, and finite values beyond ±max_magnitude
  min_max_scaler clean(4);
  min_max_scaler mixed(4);
  std::mt19937_64 rng(9);
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
        bad[3] = std::numeric_limits<double>::infinity();
        break;
      case 2:
        bad = vector::Ones(3);
        break;
      default:
        bad[2] = (rng() % 2 ? 1 : -1) * 1.5e308;
        break;
      }
      auto before = to_binary(mixed);
      if (mixed.learn_transform(bad, b)) {
        ++refused;
        REQUIRE(to_binary(mixed) == before);
      }
    }
    REQUIRE_FALSE(clean.learn_transform(x, a));
    REQUIRE_FALSE(mixed.learn_transform(x, b));
    REQUIRE(a == b);
  }
  CHECK(refused > 10);
  CHECK(to_binary(mixed) == to_binary(clean));
}

SCENARIO("huge but allowed values never give a min-max scaler an infinite range") {
  min_max_scaler scaler(1);
  REQUIRE_FALSE(scaler.learn(vector::Constant(1, min_max_scaler::max_magnitude)));
  REQUIRE_FALSE(scaler.learn(vector::Constant(1, -min_max_scaler::max_magnitude)));
  auto z = scaler.transform(vector::Constant(1, 0.0));
  REQUIRE(z.size() == 1);
  CHECK(z[0] == Approx(0.5));
  CHECK(is(scaler.learn(vector::Constant(1, 1.7e308)), errc::bad_input));
  CHECK(is(min_max_scaler::make(2, 0.0, std::numeric_limits<double>::infinity()).error(),
           errc::invalid_argument));
  CHECK(is(min_max_scaler::make(0).error(), errc::invalid_argument));
  REQUIRE(min_max_scaler::make(2, -1.0, 1.0, true));
}
