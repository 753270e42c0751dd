#include <eddy/ml/features/imputer.hpp>

#include <catch2/catch.hpp>

#include <limits>
#include <random>

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

SCENARIO("a restored imputer continues exactly like the uninterrupted one") {
  auto original = imputer::make(3, impute_strategy::mean, -1.0);
  REQUIRE(original);
  imputer restored;
  std::mt19937_64 rng(10);
  std::normal_distribution<double> normal(5.0, 2.0);
  vector x(3), a, b;
  for (int i = 0; i < 500; ++i) {
    if (i == 200)
      REQUIRE_FALSE(from_binary(to_binary(*original), restored));
    for (int j = 0; j < 3; ++j)
      x[j] = rng() % 5 == 0 ? missing : normal(rng);
    REQUIRE_FALSE(original->learn_transform(x, a));
    if (i >= 200) {
      REQUIRE_FALSE(restored.learn_transform(x, b));
      REQUIRE(a == b);
      REQUIRE(restored.transform(vector::Constant(3, missing)) ==
              original->transform(vector::Constant(3, missing)));
    }
  }
  CHECK(to_binary(restored) == to_binary(*original));
}

SCENARIO("a stream with 1 % bad records gives exactly the imputer of its good records") {
  // NaN and infinite entries are missing values, which an imputer learns around; the bad
  // records here are of the wrong size or hold a finite value beyond ±max_magnitude (refused),
  // or are missing everywhere (accepted, and they change nothing)
  auto clean = imputer::make(4);
  auto mixed = imputer::make(4);
  REQUIRE(clean);
  REQUIRE(mixed);
  std::mt19937_64 rng(11);
  std::normal_distribution<double> normal(5.0, 2.0);
  vector x(4), a, b;
  int refused = 0;
  for (int i = 0; i < 3000; ++i) {
    for (int j = 0; j < 4; ++j)
      x[j] = rng() % 10 == 0 ? missing : normal(rng);
    if (rng() % 100 == 0) {
      vector bad = x;
      switch (rng() % 4) {
      case 0:
        bad.setConstant(missing);
        break;
      case 1:
        bad.setConstant(-std::numeric_limits<double>::infinity());
        break;
      case 2:
        bad = vector::Ones(5);
        break;
      default:
        bad[2] = (rng() % 2 ? 1 : -1) * 1.5e308;
        break;
      }
      auto before = to_binary(*mixed);
      auto err = mixed->learn_transform(bad, b);
      refused += err ? 1 : 0;
      REQUIRE(to_binary(*mixed) == before);
    }
    REQUIRE_FALSE(clean->learn_transform(x, a));
    REQUIRE_FALSE(mixed->learn_transform(x, b));
    REQUIRE(a == b);
  }
  CHECK(refused > 5);
  CHECK(to_binary(*mixed) == to_binary(*clean));
  CHECK(mixed->transform(vector::Constant(4, missing)).allFinite());
}
