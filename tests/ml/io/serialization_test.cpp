#include <eddy/ml/io/serialization.hpp>

#include <eddy/ml/fwd.hpp>

#include <catch2/catch.hpp>

#include <random>

using namespace eddy::ml;

namespace {

/// A test object holding every kind of state serialization.hpp supports.
struct state {
  vector v;
  matrix m;
  Eigen::Matrix<double, 3, 2> fixed;
  Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> row_major;
  labels l;
  std::mt19937_64 rng;

  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& v& m& fixed& row_major& l& rng;
  }
};

} // namespace

SCENARIO("Eigen matrices and the random engine survive a binary snapshot bit for bit") {
  state original;
  original.v = vector::Random(5);
  original.m = matrix::Random(3, 4);
  original.fixed = Eigen::Matrix<double, 3, 2>::Random();
  original.row_major = matrix::Random(2, 3);
  original.l = labels::LinSpaced(4, 0, 3);
  original.rng.seed(7);
  original.rng.discard(1000);
  state restored;
  REQUIRE_FALSE(from_binary(to_binary(original), restored));
  CHECK(restored.v == original.v);
  CHECK(restored.m == original.m);
  CHECK(restored.fixed == original.fixed);
  CHECK(restored.row_major == original.row_major);
  CHECK(restored.l == original.l);
  for (int i = 0; i < 100; ++i)
    REQUIRE(restored.rng() == original.rng());
}

SCENARIO("empty matrices round-trip and damaged bytes come back as corrupt_file") {
  state original;
  state restored;
  restored.v = vector::Ones(3);
  REQUIRE_FALSE(from_binary(to_binary(original), restored));
  CHECK(restored.v.size() == 0);
  auto bytes = to_binary(original);
  state untouched;
  untouched.v = vector::Ones(2);
  CHECK(is(from_binary(bytes.substr(0, bytes.size() / 2), untouched), errc::corrupt_file));
  CHECK(untouched.v == vector::Ones(2));
  CHECK(is(from_binary(std::string("not an archive"), untouched), errc::corrupt_file));
}
