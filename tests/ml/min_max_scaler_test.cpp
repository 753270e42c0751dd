#include <eddy/ml/min_max_scaler.hpp>

#include <catch2/catch.hpp>

#include <limits>

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
