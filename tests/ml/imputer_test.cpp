#include <eddy/ml/imputer.hpp>

#include <catch2/catch.hpp>

#include <limits>

using namespace eddy::ml;

namespace {
const double missing = std::numeric_limits<double>::quiet_NaN();
}

SCENARIO("the mean imputer fills missing values with the running mean of the finite ones") {
  auto imp = imputer::make(2, impute_strategy::mean, -1.0);
  REQUIRE(imp);
  vector out;
  REQUIRE_FALSE(imp->learn_transform((vector(2) << 2.0, missing).finished(), out));
  CHECK(out == (vector(2) << 2.0, -1.0).finished()); // no finite value yet: the fill value
  REQUIRE_FALSE(imp->learn((vector(2) << 4.0, 10.0).finished()));
  REQUIRE_FALSE(
      imp->learn((vector(2) << std::numeric_limits<double>::infinity(), 20.0).finished()));
  CHECK(imp->transform((vector(2) << missing, missing).finished()) ==
        (vector(2) << 3.0, 15.0).finished());
  CHECK(is(imp->learn(vector::Ones(3)), errc::shape_mismatch));
  imputer restored;
  REQUIRE_FALSE(from_binary(to_binary(*imp), restored));
  CHECK(restored.fill(0) == 3.0);
}

SCENARIO("the constant imputer fills with its constant and never leaves a NaN") {
  auto imp = imputer::make(3, impute_strategy::constant, 0.5);
  REQUIRE(imp);
  vector out;
  REQUIRE_FALSE(imp->learn_transform((vector(3) << missing, 1.0, -missing).finished(), out));
  CHECK(out == (vector(3) << 0.5, 1.0, 0.5).finished());
  CHECK(out.allFinite());
  CHECK(is(imputer::make(3, impute_strategy::constant, missing).error(), errc::invalid_argument));
}
